package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The README and the unit's comment say when systemd hears READY as join sends it: once the room
// is joined, or after readyGrace anyway with a status saying the room is not joined yet; and that
// a stuck loop is restarted, which only holds while the unit restarts the Go runtime's exit status.
func TestReadinessIsDocumentedAsJoinDoesIt(t *testing.T) {
	grace := fmt.Sprintf("%d s", int(readyGrace.Seconds()))
	for _, doc := range []struct {
		path string
		want []string
	}{
		{"../../README.md", []string{"READY", grace, readyPendingStatus, "activating", "SIGABRT", "exit status 2"}},
		{"../../systemd/ledbridge.service", []string{"READY", grace, readyPendingStatus, "activating", "SIGABRT"}},
	} {
		b, err := os.ReadFile(doc.path)
		if err != nil {
			t.Fatal(err)
		}
		// Line breaks and a comment's "# " do not matter.
		text := strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n#", "\n")), " ")
		for _, w := range doc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not say %q", doc.path, w)
			}
		}
	}
}
