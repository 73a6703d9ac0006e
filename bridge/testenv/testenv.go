// Package testenv decides, for every package's tests, what happens when a test needs something
// the machine lacks (root, avahi, Node packages, Chromium, opus-tools): skip with the reason on a
// developer's machine, fail in CI, which installs everything and sets LEDBRIDGE_REQUIRE_ALL=1.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireAllEnv names the environment variable that turns such skips into failures.
const RequireAllEnv = "LEDBRIDGE_REQUIRE_ALL"

// RequireAll reports whether every test must run (CI).
func RequireAll() bool { return os.Getenv(RequireAllEnv) == "1" }

// RequireOrSkip skips t for reason, or fails it when RequireAll.
func RequireOrSkip(t testing.TB, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s=1 but this test cannot run: %s", RequireAllEnv, reason)
	}
	t.Skip(reason)
}

// InNetworkNamespace runs the calling test again, alone, in a network namespace of its own
// (`unshare -rn`) after setup (shell commands, e.g. addresses for its loopback), and reports
// whether the caller is that inner run, which does the test's work. The outer run returns false
// once the inner one has passed, and fails (or skips, as RequireOrSkip) otherwise.
func InNetworkNamespace(t *testing.T, setup string) bool {
	t.Helper()
	const inside = "LEDBRIDGE_TEST_IN_NETNS"
	if os.Getenv(inside) == t.Name() {
		return true
	}
	for _, bin := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			RequireOrSkip(t, "needs "+bin+" (util-linux, iproute2) to make a network namespace")
		}
	}
	script := "ip link set lo up && " + setup + ` && exec "$0" -test.run '^` + t.Name() + `$' -test.v`
	cmd := exec.Command("unshare", "-rn", "sh", "-c", script, os.Args[0])
	cmd.Env = append(os.Environ(), inside+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "unshare:") {
		RequireOrSkip(t, "cannot make a network namespace here: "+strings.TrimSpace(string(out)))
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in its network namespace: %v\n%s", err, out)
	}
	return false
}
