package session_test

import (
	"net"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
var requireOrSkip = testenv.RequireOrSkip

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
