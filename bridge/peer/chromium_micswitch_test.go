package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// micSwitches is how many times the test musician changes microphones: more
// than maxTransceiversKept, so that removeTrack/addTrack switches carry a
// PeerConnection past its transceiver bound.
const micSwitches = 20

// A real Chromium musician that changes microphones keeps sending audio, in
// the two ways a web app can do it: pc.removeTrack(sender) then
// pc.addTrack(newTrack, stream), which renegotiates (Chromium offers; each add
// brings a new transceiver with a new mid, and the old one stays as an
// inactive m-line), and sender.replaceTrack(newTrack), which does not.
func TestChromiumMicSwitchByRemoveAndAddTrack(t *testing.T) {
	requireLoopback(t)
	path := chromiumPath(t)
	srv := serveMusicianPage(t)

	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	var page pageSink
	cfg.SendSignal = func(ctx context.Context, sig room.Signal) error {
		if err := r.sendFromBridge(ctx, sig); err != nil {
			return err
		}
		return page.send(ctx, sig)
	}
	var console pageConsole
	var offersMu sync.Mutex
	var offers []string // the SDP of every offer Chromium sent, in order
	onBinding := func(payload string) {
		sig, ok := decodePageSignal(t, payload)
		if !ok {
			return
		}
		if sig.Type == room.SignalOffer {
			offersMu.Lock()
			offers = append(offers, sig.Description.SDP)
			offersMu.Unlock()
		}
		r.mgr.HandleSignal(sig)
	}
	offerCount := func() int { offersMu.Lock(); defer offersMu.Unlock(); return len(offers) }
	lastOffer := func() string { offersMu.Lock(); defer offersMu.Unlock(); return offers[len(offers)-1] }
	m := startManager(t, cfg, r)

	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	browser := launchChromium(ctx, t, path, srv.URL+"/", onBinding, &console)
	defer page.page.Store(nil)
	page.page.Store(browser.page)
	evalPage := func(expr string, await bool) any {
		t.Helper()
		v, err := browser.page.eval(ctx, expr, await)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		return v
	}

	for _, tc := range []struct {
		id           string
		renegotiates bool
		// switchJS changes the microphone of peers[id] (p) to a newly opened one.
		switchJS string
	}{
		{"chrome-replace", false, `const s = p.pc.getSenders().find(s => s.track);
			await s.replaceTrack(mic);`},
		{"chrome-remove-add", true, `p.pc.removeTrack(p.pc.getSenders().find(s => s.track));
			p.pc.addTrack(mic, p.stream);`},
	} {
		id := MusicianID(tc.id)
		jsID, _ := json.Marshal(tc.id)
		t.Logf("--- %s", tc.id)
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
		if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%s, %q, true)", jsID, bridgeID), true); err != nil || v != "started" {
			t.Fatalf("start %s: %v, %v", tc.id, v, err)
		}
		waitFor(t, "bridge connected to "+tc.id, bridgeConnected(m, id))
		waitFor(t, "100 packets from "+tc.id, func() bool { return s.packets(id) >= 100 })
		offersAtConnect := offerCount()
		fingerprints := map[string]bool{}
		for _, sig := range r.bridgeSignals() {
			if sig.TargetPeerID == tc.id && sig.Type == room.SignalAnswer {
				fingerprints[fingerprintOf(sig.Description.SDP)] = true
			}
		}

		for i := 1; i <= micSwitches; i++ {
			answersBefore := countSignals(r.bridgeSignals(), room.SignalAnswer, tc.id)
			offersBefore := offerCount()
			packetsBefore := s.packets(id)
			start := time.Now()
			// A new microphone (the fake device again), then the switch.
			evalPage(fmt.Sprintf(`(async () => {
				const p = peers[%s];
				const mic = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0];
				%s
				return 'ok';
			})()`, jsID, tc.switchJS), true)
			if tc.renegotiates {
				waitFor(t, fmt.Sprintf("switch %d: the bridge's answer", i), func() bool {
					return countSignals(r.bridgeSignals(), room.SignalAnswer, tc.id) > answersBefore
				})
			}
			// Bound: connected on both sides and 50 packets (1 s of audio) within 20 s.
			ok := waitWithin(20*time.Second, func() bool {
				return bridgeConnected(m, id)() && s.packets(id) >= packetsBefore+50 &&
					evalPage(fmt.Sprintf("state(%s) + ' ' + peers[%s].pc.signalingState", jsID, jsID), false) == "connected stable"
			})
			took := time.Since(start)
			mLines := 0
			if offerCount() > 0 {
				mLines = strings.Count(lastOffer(), "\nm=")
			}
			if a := lastSignal(r.bridgeSignals(), room.SignalAnswer, tc.id); a != nil {
				fingerprints[fingerprintOf(a.Description.SDP)] = true
			}
			st, _ := musicianStats(m, id)
			t.Logf("switch %2d: offers %d→%d (last with %d m-lines), PeerConnections %d, after %v: bridge %s, page %v, %d packets since",
				i, offersBefore, offerCount(), mLines, len(fingerprints), took.Round(10*time.Millisecond), st.ConnectionState,
				evalPage(fmt.Sprintf("state(%s) + ' ' + peers[%s].pc.signalingState", jsID, jsID), false), s.packets(id)-packetsBefore)
			if !ok {
				t.Fatalf("%s: switch %d: no audio path within 20 s (bridge %s, stats %+v)", tc.id, i, st.ConnectionState, st)
			}
		}
		if n := offerCount() - offersAtConnect; !tc.renegotiates && n != 0 {
			t.Errorf("%s: replaceTrack made Chromium offer %d times; it should not renegotiate", tc.id, n)
		}
		t.Logf("%s: %d switches, audio after each; %d PeerConnections (distinct bridge certificates) in all", tc.id, micSwitches, len(fingerprints))
		for _, l := range console.all() {
			if strings.HasPrefix(l, tc.id+" ") {
				t.Errorf("page console: %s", l)
			}
		}
		m.releaseNow(id)
		evalPage(fmt.Sprintf("peers[%s].pc.close()", jsID), false)
		waitFor(t, tc.id+" released", func() bool { _, ok := musicianStats(m, id); return !ok })
		offersMu.Lock()
		offers = nil
		offersMu.Unlock()
	}
}
