package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestTuneDaemonProcessHonoursTheEnvironment covers the environment's part: GOMAXPROCS set by the
// environment is kept, LEDBRIDGE_TIMER_SLACK=0 keeps the system's slack, and a malformed value is
// reported, not applied. The applied settings are checked on the running daemon by
// TestJoinBinaryHostsRoomAndShutsDownCleanly, and the slack on every thread by
// TestTimerSlackReachesEveryThread.
func TestTuneDaemonProcessHonoursTheEnvironment(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)

	t.Setenv(timerSlackEnv, "0")
	if problems := tuneDaemonProcess(); len(problems) != 0 {
		t.Fatalf("%s=0: %q", timerSlackEnv, problems)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS %d, want the environment's 2", got)
	}

	for _, bad := range []string{"fast", "-1ms", "10"} {
		t.Setenv(timerSlackEnv, bad)
		problems := tuneDaemonProcess()
		if len(problems) != 1 || !strings.Contains(problems[0], timerSlackEnv) {
			t.Errorf("%s=%q: want one problem naming the variable, got %q", timerSlackEnv, bad, problems)
		}
	}
}
