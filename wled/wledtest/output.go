package wledtest

import (
	"context"
	"sync"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// StartOutput makes an Output for cfg and runs it until the returned stop is called (or the test
// ends); a Run error fails the test.
func StartOutput(t testing.TB, cfg wled.OutputConfig) (*wled.Output, func()) {
	t.Helper()
	o, err := wled.NewOutput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := o.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return o, stop
}
