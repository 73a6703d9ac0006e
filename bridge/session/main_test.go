package session_test

import (
	"net"
	"os"
	"testing"
)

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
func requireOrSkip(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("LEDBRIDGE_REQUIRE_ALL") == "1" {
		t.Fatalf("LEDBRIDGE_REQUIRE_ALL=1 but %s", reason)
	}
	t.Skip(reason)
}

func requireLoopback(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		requireOrSkip(t, "cannot list interfaces: "+err.Error())
	}
	for _, i := range ifs {
		if i.Name == "lo" && i.Flags&net.FlagUp != 0 {
			return
		}
	}
	requireOrSkip(t, "no loopback interface named lo")
}
