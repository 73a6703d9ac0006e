package session_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/wled"
)

// New and SetDevices refuse the same device lines for the same reasons: a forced protocol
// without ?leds=, a line that does not parse, more LEDs than the forced output.protocol carries.
func TestNewAndSetDevicesRefuseTheSameLines(t *testing.T) {
	code, _ := room.ParseCode("DEV234")
	for _, c := range []struct {
		line, protocol, want string
	}{
		{"ddp://10.0.0.7", "", "give the LED count"},
		{"wled://[bad", "", "device"},
		{"wled://10.0.0.7?leds=1000", "drgb", "more than output.protocol drgb carries"},
	} {
		cfg := session.Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
			Protocol: c.protocol, Logger: slog.New(slog.DiscardHandler)}
		running, err := session.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		setErr := running.SetDevices([]string{c.line})
		cfg.Devices = []string{c.line}
		_, newErr := session.New(cfg)
		_, checkErr := session.CheckDevices([]string{c.line}, mustProtocol(t, c.protocol))
		for name, err := range map[string]error{"New": newErr, "SetDevices": setErr, "CheckDevices": checkErr} {
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.line) {
				t.Errorf("%s(%q, protocol %q) = %v, want a refusal naming the line and saying %q", name, c.line, c.protocol, err, c.want)
			}
		}
	}
}

// CheckDevices returns each line's target, in the lines' order.
func TestCheckDevicesReturnsTargetsInOrder(t *testing.T) {
	lines := []string{"ddp://10.0.0.7?leds=30", "wled://wled-a.local"}
	targets, err := session.CheckDevices(lines, wled.ProtocolAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || targets[0].Host != "10.0.0.7" || targets[0].LEDs != 30 || targets[1].Host != "wled-a.local" {
		t.Errorf("CheckDevices(%q) = %+v", lines, targets)
	}
}

func mustProtocol(t *testing.T, s string) wled.Protocol {
	t.Helper()
	p, err := wled.ParseProtocol(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
