package main

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A reload that is refused must not tell systemd "Reloaded": `systemctl status` says the reload
// was refused and the daemon runs on its previous configuration, and keeps saying so in the
// periodic status line until a reload succeeds.
func TestRefusedReloadTellsSystemd(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	good := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n"
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	notify := newNotifySocket(t)
	cmd, _, stderr := startJoinBinary(t, bin, "RFS234", cfgPath, "NOTIFY_SOCKET="+notify.path)
	waitJoin(t, 10*time.Second, "READY=1", func() bool { return notify.has("READY=1") })

	if err := os.WriteFile(cfgPath, []byte(good+"room:\n  bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	from := notify.count()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload's READY=1", func() bool { return notify.find(from, "READY=1\nSTATUS=") >= 0 })
	answer := notify.msg(notify.find(from, "READY=1\nSTATUS="))
	if !strings.Contains(answer, "refused") || !strings.Contains(answer, "room.bogus") || !strings.Contains(answer, "previous configuration") || strings.Contains(answer, "Reloaded") {
		t.Errorf("the refused reload told systemd %q, want a status saying it was refused (naming room.bogus) and the previous configuration runs", answer)
	}
	if !strings.Contains(stderr.String(), "reload rejected") {
		t.Errorf("the journal does not say the reload was rejected:\n%s", stderr.String())
	}
	// The periodic status line (every 5 s) keeps saying so.
	after := notify.count()
	waitJoin(t, 15*time.Second, "the next periodic status", func() bool { return notify.find(after, "STATUS=Room ") >= 0 })
	if line := notify.msg(notify.find(after, "STATUS=Room ")); !strings.Contains(line, "refused") || !strings.Contains(line, "previous configuration") {
		t.Errorf("the status line after a refused reload is %q, want it to say the reload was refused", line)
	}

	// A reload that works ends it.
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	from = notify.count()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "READY=1 Reloaded", func() bool { return notify.find(from, "READY=1\nSTATUS=Reloaded") >= 0 })
	after = notify.count()
	waitJoin(t, 15*time.Second, "the next periodic status", func() bool { return notify.find(after, "STATUS=Room ") >= 0 })
	if line := notify.msg(notify.find(after, "STATUS=Room ")); strings.Contains(line, "refused") {
		t.Errorf("the status line after a reload that worked still says %q", line)
	}
}

// The refusal's status is one line of bounded length however the error reads, and a reload that
// works clears it.
func TestReloadRefusalStatusLine(t *testing.T) {
	var r reloadRefusal
	line := r.set(errors.New("config: room.bogus:\n  unknown key " + strings.Repeat("é", 400)))
	if strings.Contains(line, "\n") || len(line) > len("Reload refused, running the previous configuration: ")+maxRefusalText+len("…") {
		t.Errorf("status line %q: want one line of bounded length", line)
	}
	if !strings.Contains(r.suffix(), "room.bogus: unknown key") {
		t.Errorf("suffix %q does not carry the refusal", r.suffix())
	}
	if line := r.set(nil); line != "Reloaded" || r.suffix() != "" {
		t.Errorf("after a reload that worked: line %q, suffix %q", line, r.suffix())
	}
}

// count is how many datagrams came so far.
func (n *notifySocket) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.msgs)
}

// find returns the index of the first datagram from index from on that starts with prefix, or -1.
func (n *notifySocket) find(from int, prefix string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := from; i < len(n.msgs); i++ {
		if strings.HasPrefix(n.msgs[i], prefix) {
			return i
		}
	}
	return -1
}

// msg returns datagram i.
func (n *notifySocket) msg(i int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.msgs[i]
}
