package peer

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestPionWarningsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := slogFactory{log: slog.New(slog.NewTextHandler(&buf, nil))}.NewLogger("ice")
	for i := 0; i < 1000; i++ {
		l.Warnf("Discarding remote candidate %d", i)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines for 1000 warnings in a burst:\n%s", n, buf.String())
	}
}
