// Package testenv decides, for every package's tests, what happens when a test needs something
// the machine lacks (root, avahi, Node packages, Chromium, opus-tools): skip with the reason on a
// developer's machine, fail in CI, which installs everything and sets LEDBRIDGE_REQUIRE_ALL=1.
package testenv

import (
	"os"
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
