package testenv

import "testing"

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
