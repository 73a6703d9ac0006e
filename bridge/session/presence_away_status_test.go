package session_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// A musician held after a Presence leave (her connection kept for a rejoin) still has a live
// connection, so her WebRTC state alone reads as if she were in the room: /api/status marks her
// away while she is held, and no longer once she is back in Presence; ledbridge_room_musicians,
// which counts the musicians in Presence, leaves her out while she is held.
func TestStatusMarksAMusicianHeldAfterAPresenceLeaveAway(t *testing.T) {
	logs := &logCounter{}
	reg := prometheus.NewRegistry()
	inPresence := func() float64 {
		t.Helper()
		v, ok := unlabelledValue(t, reg, "ledbridge_room_musicians")
		if !ok {
			t.Fatal("/metrics has no ledbridge_room_musicians")
		}
		return v
	}
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Metrics = reg
		c.Peer.PresenceGrace = time.Minute // longer than the test keeps her away
	})
	page := serveStatus(t, r.sess, "")
	proxy := newSocketProxy(t, r.hubURL)
	startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true,
		hubURL: proxy.url(), code: testCode})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 50
	})
	if m := apiStatusMusician(t, page.url(), "ana"); m == nil || m.Away == nil || *m.Away {
		t.Fatalf("/api/status shows ana, in Presence, as %+v; want away false", m)
	}
	if n := inPresence(); n != 1 {
		t.Errorf("ledbridge_room_musicians = %v with ana in Presence; want 1", n)
	}

	proxy.sever(true) // her client cannot reconnect until the proxy lets it
	waitFor(t, 10*time.Second, "the bridge saw ana leave with her connection up", func() bool { return logs.count(msgAway) == 1 })
	m := apiStatusMusician(t, page.url(), "ana")
	if m == nil || m.Away == nil || !*m.Away || m.WebRTC != "connected" {
		t.Fatalf("/api/status shows ana, held after her Presence leave, as %+v; want away true, webrtc connected", m)
	}
	if n := inPresence(); n != 0 {
		t.Errorf("ledbridge_room_musicians = %v with ana held after her Presence leave; want 0", n)
	}

	proxy.unblock()
	waitFor(t, 30*time.Second, "the bridge saw ana back in Presence", func() bool { return logs.count(msgBack) == 1 })
	m = apiStatusMusician(t, page.url(), "ana")
	if m == nil || m.Away == nil || *m.Away || m.WebRTC != "connected" {
		t.Fatalf("/api/status shows ana, back in Presence, as %+v; want away false, webrtc connected", m)
	}
	if n := inPresence(); n != 1 {
		t.Errorf("ledbridge_room_musicians = %v with ana back in Presence; want 1", n)
	}
}

// apiMusician is what the test reads of a musician in /api/status; Away is nil when the JSON
// has no such field.
type apiMusician struct {
	ID     string `json:"id"`
	WebRTC string `json:"webrtc"`
	Away   *bool  `json:"away"`
}

func (m *apiMusician) String() string {
	away := "absent"
	if m.Away != nil {
		away = map[bool]string{true: "true", false: "false"}[*m.Away]
	}
	return "{id " + m.ID + ", webrtc " + m.WebRTC + ", away " + away + "}"
}

// apiStatusMusician fetches /api/status from the page at base (ending in "/") and returns musician
// id's entry, nil when it lists none.
func apiStatusMusician(t *testing.T, base, id string) *apiMusician {
	t.Helper()
	resp, err := http.Get(base + "api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Musicians []apiMusician `json:"musicians"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/status: %d, %v", resp.StatusCode, err)
	}
	for i := range snap.Musicians {
		if snap.Musicians[i].ID == id {
			return &snap.Musicians[i]
		}
	}
	return nil
}

// unblock lets the proxy relay new connections again after sever(true).
func (p *socketProxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}
