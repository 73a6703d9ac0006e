package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/discovery"
)

// blockingBrowser answers nothing until its context ends, as an mDNS browse interrupted by Ctrl-C.
type blockingBrowser struct{}

func (blockingBrowser) Browse(ctx context.Context, _ time.Duration) ([]discovery.Answer, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Ctrl-C during test-pattern's mDNS browse (no --device given) is an interruption (130), as it is
// for discover's browse, not "no devices found" (1).
func TestTestPatternInterruptedDuringTheBrowse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	opts := testPatternOptions{FPS: 60, Seconds: 1, DiscoverWindow: time.Minute}
	opts.Discovery.Browser = blockingBrowser{}
	var out bytes.Buffer
	_, err := runTestPattern(ctx, opts, &out)
	var ie interruptedError
	if !errors.As(err, &ie) || exitStatus(err) != exitInterrupted {
		t.Errorf("interrupted during the browse: err %v (exit status %d), want an interruption (130); output:\n%s", err, exitStatusOrZero(err), out.String())
	}
}
