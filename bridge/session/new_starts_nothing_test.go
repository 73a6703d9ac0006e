package session_test

import (
	"log/slog"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// New starts no goroutine and opens no socket, sound sync and devices configured: a caller whose
// start-up fails after New (cmd/ledbridge's join, when the status page cannot be made) may drop
// the session without running it and leaves nothing behind. Before, New's sound sync sender
// started its own goroutine that only Run stopped.
func TestNewStartsNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	code, _ := room.ParseCode("NEW234")
	s, err := session.New(session.Config{
		Code:          code,
		Realtime:      realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Devices:       []string{"ddp://" + pc.LocalAddr().String() + "?leds=30"},
		SoundSyncAddr: pc.LocalAddr().String(),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s // dropped without Run
}
