package peer

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireOrSkip skips a test that needs something the machine lacks, unless
// LEDBRIDGE_REQUIRE_ALL=1 (CI), where the missing thing is a failure.
func requireOrSkip(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("LEDBRIDGE_REQUIRE_ALL") == "1" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}
