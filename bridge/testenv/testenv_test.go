package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRequireAll(t *testing.T) {
	t.Setenv(RequireAllEnv, "1")
	if !RequireAll() {
		t.Fatal("LEDBRIDGE_REQUIRE_ALL=1 not seen")
	}
	t.Setenv(RequireAllEnv, "")
	if RequireAll() {
		t.Fatal("empty variable seen as set")
	}
}
