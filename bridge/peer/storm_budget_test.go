package peer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// roomServerLimit is the messages a second a room server allows one client before it cuts
// the client off (hub.DefaultMaxMessagesPerSecond; hosted Realtime alike).
const roomServerLimit = 100

// maxInWindow is the most of times (in order) within any one signalWindow.
func maxInWindow(times []time.Time) int {
	most, first := 0, 0
	for i, at := range times {
		for !times[first].After(at.Add(-signalWindow)) {
			first++
		}
		most = max(most, i-first+1)
	}
	return most
}

// Eight musicians in Presence storming the bridge together, 100 ICE-restart offers a second
// each, while a ninth plays: each storming musician's own offer budget (five, then one a
// second) let the bridge answer ~50 offers in a second, each with its candidates, past the
// 100 messages a second a room server allows a client, which then cuts the bridge's
// signalling off for everyone. The Manager's signal budget keeps the bridge within
// MaxSignalsPerSecond in every second of the storm, puts the storm's offers off (counted),
// and still answers the playing musician's ICE restart at once, in the middle of it.
// Stepped with a fake clock; the musicians are real pion peers on loopback.
func TestCoordinatedOfferStormWithinSignalBudget(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	fc := newFakeClock()
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = fc
	cfg.MaxPeers = 9
	var mu sync.Mutex
	var sentAt []time.Time // fake-clock times of the bridge's signals, in order
	send := cfg.SendSignal
	cfg.SendSignal = func(ctx context.Context, sig room.Signal) error {
		mu.Lock()
		sentAt = append(sentAt, fc.Now())
		mu.Unlock()
		return send(ctx, sig)
	}
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	// ana's first offer is paid back: her next is no storm. And her audio has stopped reaching
	// the bridge, as a browser's has when it restarts ICE: one that restarted while its audio
	// streams would be refused as an impostor (see audioFreshness).
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") > 0 })
	waitAudioStopped(t, s, ana)
	fc.Advance(max(offerInterval, audioFreshness))

	const stormers, steps, every = 8, 200, 10 * time.Millisecond
	for i := range stormers {
		if err := m.MusicianJoined(MusicianID(fmt.Sprint("storm", i))); err != nil {
			t.Fatal(err)
		}
	}
	base := anOffer(t)
	for step := range steps {
		for i := range stormers {
			m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: fmt.Sprint("storm", i), TargetPeerID: bridgeID,
				Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, fmt.Sprintf("storm%dx%04d", i, step))}})
		}
		time.Sleep(time.Millisecond) // let the musicians' goroutines take them, or they coalesce
		if step == steps/2 {
			// ana restarts ICE in the middle of the storm, and is answered without waiting for it.
			o, err := ana.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
			if err == nil {
				err = ana.pc.SetLocalDescription(o)
			}
			if err != nil {
				t.Fatal(err)
			}
			deferred, answered := m.Stats().OffersDeferred, countSignals(r.bridgeSignals(), room.SignalAnswer, "ana")
			r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
				Description: &room.SessionDescription{Type: "offer", SDP: o.SDP}})
			waitFor(t, "ana's ICE restart answered", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") == answered+1 })
			ana.resumeAudio()
			if deferred == 0 {
				t.Errorf("the storm was not cut back by the time ana restarted ICE")
			}
		}
		fc.Advance(every)
	}
	time.Sleep(200 * time.Millisecond) // the last answers' candidates
	waitFor(t, "ana connected after her ICE restart", func() bool { return ana.connState() == webrtc.PeerConnectionStateConnected })
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after the storm", func() bool { return s.fromMic("ana") >= before+25 })

	mu.Lock()
	most := maxInWindow(sentAt)
	total := len(sentAt)
	mu.Unlock()
	answers := 0
	for i := range stormers {
		answers += countSignals(r.bridgeSignals(), room.SignalAnswer, fmt.Sprint("storm", i))
	}
	st := m.Stats()
	t.Logf("%d musicians × %d offers over %v: %d answers to them, %d signals in all, at most %d in one second (budget %d, room server %d); %d put off, %d dropped, %d coalesced",
		stormers, steps, steps*every, answers, total, most, DefaultMaxSignalsPerSecond, roomServerLimit, st.OffersDeferred, st.SignalsDropped, st.OffersCoalesced)
	if most > DefaultMaxSignalsPerSecond {
		t.Fatalf("the bridge sent %d signals within one second (budget %d; a room server cuts a client off past %d)", most, DefaultMaxSignalsPerSecond, roomServerLimit)
	}
	if st.OffersDeferred == 0 {
		t.Error("no negotiation was counted as put off")
	}
	if answers == 0 {
		t.Error("no offer of the storm was answered")
	}
}
