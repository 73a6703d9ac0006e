package peer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

func TestNewManagerValidatesConfig(t *testing.T) {
	send := func(context.Context, room.Signal) error { return nil }
	ok := func() Config { return Config{SelfID: "b", SendSignal: send} }
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		errHas string
	}{
		{"no self id", func(c *Config) { c.SelfID = "" }, "SelfID"},
		{"no sender", func(c *Config) { c.SendSignal = nil }, "SendSignal"},
		{"network type", func(c *Config) { c.NetworkTypes = []string{"udp5"} }, `"udp5"`},
		{"mdns", func(c *Config) { c.MDNSMode = "loud" }, `"loud"`},
		{"port range half", func(c *Config) { c.PortMin = 50000 }, "port range"},
		{"port range reversed", func(c *Config) { c.PortMin, c.PortMax = 50010, 50000 }, "port range"},
		{"ice url", func(c *Config) { c.ICEServers = []ICEServer{{URLs: []string{"http://example"}}} }, "ICEServers[0]"},
		{"turn without credentials", func(c *Config) { c.ICEServers = []ICEServer{{URLs: []string{"turn:turn.example:3478"}}} }, "username and credential"},
		{"backoff", func(c *Config) { c.RestartBackoff = []time.Duration{0} }, "RestartBackoff[0]"},
	} {
		c := ok()
		tc.mutate(&c)
		_, err := NewManager(c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: err = %v; want ErrConfig mentioning %q", tc.name, err, tc.errHas)
		}
	}
	c := ok()
	c.NetworkTypes = []string{"udp4", "udp6", "tcp4"}
	c.MDNSMode = "query"
	c.PortMin, c.PortMax = 50000, 50100
	c.Interfaces = []string{"eth0"}
	c.ICEServers = []ICEServer{{URLs: []string{"stun:stun.l.google.com:19302"}}, {URLs: []string{"turn:turn.example:3478?transport=udp"}, Username: "u", Credential: "p"}}
	if _, err := NewManager(c); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}
