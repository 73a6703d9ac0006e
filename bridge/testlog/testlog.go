// Package testlog collects a component's log lines for tests that check what it logged.
//
// It is test support: only _test.go files import it, never the daemon's code.
package testlog

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// Buffer is a log destination that the logging component's goroutines and the test may share:
// Write, String and Lines are safe to call concurrently. The zero Buffer is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the lines of a slog text handler whose message is msg, whether the handler
// quoted it (msg="musician left") or not (msg=ready).
func (b *Buffer) Lines(msg string) []string {
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if got, ok := message(line); ok && got == msg {
			out = append(out, line)
		}
	}
	return out
}

// message returns the value of line's first msg= key, the one the text handler writes before
// any attribute.
func message(line string) (string, bool) {
	var rest string
	if after, ok := strings.CutPrefix(line, "msg="); ok {
		rest = after
	} else if i := strings.Index(line, " msg="); i >= 0 {
		rest = line[i+len(" msg="):]
	} else {
		return "", false
	}
	if strings.HasPrefix(rest, `"`) {
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return "", false
		}
		msg, err := strconv.Unquote(quoted)
		return msg, err == nil
	}
	msg, _, _ := strings.Cut(rest, " ")
	return msg, true
}

// NewLogger returns a logger that writes text lines at level and above to b.
func NewLogger(b *Buffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}
