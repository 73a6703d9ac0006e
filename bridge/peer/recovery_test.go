package peer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// Each test here is a way a musician still in Presence was left unconnected for good; each
// recovers through the bridge alone, with real pion peers on loopback and the bridge's timers
// on a fake clock.

// errNotJoined stands in for realtime.ErrNotJoined: SendSignal while the channel rejoins.
var errNotJoined = errors.New("realtime: channel not joined")

// loseFirstAnswer makes the bridge's first answer fail to send, as it does while the
// Realtime channel rejoins; lost counts the answers lost.
func loseFirstAnswer(lost *atomic.Int32) func(*Config) {
	return func(c *Config) {
		send := c.SendSignal
		c.SendSignal = func(ctx context.Context, sig room.Signal) error {
			if sig.Type == room.SignalAnswer && lost.CompareAndSwap(0, 1) {
				return errNotJoined
			}
			return send(ctx, sig)
		}
	}
}

func musicianConnected(mu *testMusician) func() bool {
	return func() bool { return mu.connState() == webrtc.PeerConnectionStateConnected }
}

// An answer that never left (SendSignal failed) is sent again when the connection has not
// come up in ConnectTimeout, alone the first time: the musician, the impolite peer, waits for
// it in have-local-offer and ignored the ICE-restart offers the bridge made instead.
func TestLostAnswerIsSentAgainByTheRetry(t *testing.T) {
	var lost atomic.Int32
	m, r, fc := startFakeClockManager(t, loseFirstAnswer(&lost))
	lia := newTestMusician(t, r, "lia", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("lia"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer to be lost", func() bool { return lost.Load() == 1 })
	waitFor(t, "the bridge's candidates trickled (and lost to lia)", func() bool {
		return slices.ContainsFunc(r.bridgeSignals(), func(s room.Signal) bool { return s.Type == room.SignalCandidate && s.Candidate == nil })
	})
	waitFor(t, "the connect timeout", func() bool { return fc.hasTimer(DefaultConnectTimeout) })
	if lia.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		t.Fatalf("lia is %s, want have-local-offer (waiting for the answer)", lia.pc.SignalingState())
	}
	fc.Advance(DefaultConnectTimeout)
	waitFor(t, "bridge connected to lia", bridgeConnected(m, "lia"))
	waitFor(t, "lia connected", musicianConnected(lia))
	sigs := r.bridgeSignals()
	if a, o := countSignals(sigs, room.SignalAnswer, "lia"), countSignals(sigs, room.SignalOffer, "lia"); a != 1 || o != 0 {
		t.Errorf("the retry sent %d answers and %d offers, want the answer alone", a, o)
	}
	if n := lia.ignoredOffer.Load(); n != 0 {
		t.Errorf("lia ignored %d offers from the bridge", n)
	}
}

// A musician that sends its offer again (having had no answer) gets the answer again; the
// offer was dropped as a duplicate.
func TestOfferSentAgainIsAnsweredAgain(t *testing.T) {
	var lost atomic.Int32
	m, r, _ := startFakeClockManager(t, loseFirstAnswer(&lost))
	var first atomic.Pointer[room.Signal]
	r.setHolds(nil, func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer {
			first.CompareAndSwap(nil, &sig) // peek, deliver as usual
		}
		return false
	})
	oli := newTestMusician(t, r, "oli", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("oli"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer to be lost", func() bool { return lost.Load() == 1 })
	r.toBridge(*first.Load()) // no timer fires: only the offer sent again can bring the answer
	waitFor(t, "bridge connected to oli", bridgeConnected(m, "oli"))
	waitFor(t, "oli connected", musicianConnected(oli))
	if st, _ := musicianStats(m, "oli"); st.Duplicates != 1 {
		t.Errorf("Duplicates = %d, want 1", st.Duplicates)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "oli"); n != 1 {
		t.Errorf("%d answers reached oli, want the one sent again", n)
	}
}

// A musician that has the answer, on a connection that cannot come up (here: no candidate
// reaches either side), is not left waiting on answers sent again: the first retry sends the
// answer alone, which it ignores, and the next one restarts ICE behind it.
func TestRetryRestartsICEAfterSendingTheAnswerAgain(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	dropCandidates := func(sig room.Signal) bool { return sig.Type == room.SignalCandidate }
	r.setHolds(dropCandidates, dropCandidates)
	uma := newTestMusician(t, r, "uma", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("uma"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "uma to have the answer", func() bool {
		return countSignals(r.bridgeSignals(), room.SignalAnswer, "uma") == 1 && uma.pc.SignalingState() == webrtc.SignalingStateStable
	})
	waitFor(t, "the connect timeout", func() bool { return fc.hasTimer(DefaultConnectTimeout) })
	fc.Advance(DefaultConnectTimeout)
	waitFor(t, "the answer sent again, and ignored", func() bool { return uma.strayAnswers.Load() == 1 })
	if n := countSignals(r.bridgeSignals(), room.SignalOffer, "uma"); n != 0 {
		t.Fatalf("the first retry sent %d offers, want the answer alone", n)
	}
	r.setHolds(nil, nil) // the restart's candidates get through
	waitFor(t, "the connect timeout", func() bool { return fc.hasTimer(DefaultConnectTimeout) })
	fc.Advance(DefaultConnectTimeout)
	waitFor(t, "bridge connected to uma", bridgeConnected(m, "uma"))
	waitFor(t, "uma connected", musicianConnected(uma))
	if st, _ := musicianStats(m, "uma"); st.ICERestarts != 1 || uma.strayAnswers.Load() != 2 {
		t.Errorf("ICERestarts = %d, answers uma ignored = %d; want the answer again, then an ICE restart", st.ICERestarts, uma.strayAnswers.Load())
	}
}

// An offer from a musician the session does not follow yet (it announces at most 2×MaxPeers)
// is held as a stranger's; when its PresenceGrace ends it is kept, and answered once the
// session announces the musician. Its browser, the impolite peer, ignores the bridge's offers
// while it waits for that answer.
func TestStrangersOfferIsAnsweredWhenAnnouncedAfterItsGrace(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	ned := newTestMusician(t, r, "ned", musicianOpts{offerFirst: true})
	waitFor(t, "ned's offer held", func() bool { _, ok := musicianStats(m, "ned"); return ok && ned.offersSent.Load() == 1 })
	waitFor(t, "the grace timer", func() bool { return fc.hasTimer(DefaultPresenceGrace) })
	fc.Advance(DefaultPresenceGrace)
	waitFor(t, "ned released", func() bool { _, ok := musicianStats(m, "ned"); return !ok })
	if n := len(r.bridgeSignals()); n != 0 {
		t.Fatalf("the bridge sent %d signals to a peer not in Presence", n)
	}
	if err := m.MusicianJoined("ned"); err != nil { // a place frees in the session
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ned", bridgeConnected(m, "ned"))
	waitFor(t, "ned connected", musicianConnected(ned))
	sigs := r.bridgeSignals()
	if a, o := countSignals(sigs, room.SignalAnswer, "ned"), countSignals(sigs, room.SignalOffer, "ned"); a != 1 || o != 0 {
		t.Errorf("the bridge sent ned %d answers and %d offers, want its offer answered", a, o)
	}
}

// A PeerConnection pion closed (here: the DTLS handshake fails, the musician's offer naming
// a certificate it does not have) is replaced: after the backoff the bridge offers on a fresh
// PeerConnection, where it kept trying to restart ICE on the closed one.
func TestPeerConnectionClosedByDTLSFailureIsReplaced(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	var corrupted atomic.Bool
	r.setHolds(nil, func(sig room.Signal) bool {
		if sig.Type != room.SignalOffer || !corrupted.CompareAndSwap(false, true) {
			return false
		}
		fp := fingerprintOf(sig.Description.SDP)
		last := byte('A')
		if fp[len(fp)-1] == 'A' {
			last = 'B'
		}
		sig.Description.SDP = strings.Replace(sig.Description.SDP, fp, fp[:len(fp)-1]+string(last), 1)
		r.mgr.HandleSignal(sig)
		return true
	})
	dee := newTestMusician(t, r, "dee", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("dee"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge's PeerConnection closed by pion", func() bool {
		st, _ := musicianStats(m, "dee")
		return st.ConnectionState == webrtc.PeerConnectionStateClosed
	})
	firstAnswer := r.bridgeSignals()[0]
	// dee's page has its own DTLS failure: it reloads, keeping its peerId, and waits.
	dee.close()
	dee = newTestMusician(t, r, "dee", musicianOpts{})
	waitFor(t, "the restart backoff", func() bool { return fc.hasTimer(DefaultRestartBackoff[0]) })
	fc.Advance(DefaultRestartBackoff[0])
	waitFor(t, "bridge connected to dee", bridgeConnected(m, "dee"))
	waitFor(t, "dee connected", musicianConnected(dee))
	var offer room.Signal
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalOffer {
			offer = sig
		}
	}
	if offer.Description == nil || fingerprintOf(offer.Description.SDP) == fingerprintOf(firstAnswer.Description.SDP) {
		t.Error("no offer on a fresh PeerConnection (with a certificate of its own)")
	}
}

// A PeerConnection left in have-remote-offer, where it cannot offer (not even an ICE restart),
// is replaced when the retry comes, instead of failing to restart ICE every ConnectTimeout. An
// offer without a=mid used to leave it there (pion refused it only after applying it); the
// bridge now refuses that offer before pion sees it, and the test applies a re-offer directly,
// without its answer, for whatever else pion may refuse that late.
func TestRetryReplacesAPeerConnectionLeftInHaveRemoteOffer(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	var first atomic.Pointer[room.Signal]
	dropCandidates := func(sig room.Signal) bool { return sig.Type == room.SignalCandidate }
	r.setHolds(dropCandidates, func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer {
			first.CompareAndSwap(nil, &sig)
		}
		return dropCandidates(sig) // no candidates either way: the first connection never comes up
	})
	kit := newTestMusician(t, r, "kit", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("kit"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "kit to have the answer", func() bool {
		return countSignals(r.bridgeSignals(), room.SignalAnswer, "kit") == 1 && kit.pc.SignalingState() == webrtc.SignalingStateStable
	})
	bad := *first.Load()
	offer := bad.Description.SDP
	noMid := strings.Replace(offer, "a=mid:0\r\n", "", 1)
	noMid = strings.Replace(noMid, "a=group:BUNDLE 0\r\n", "", 1)
	if len(noMid) != len(offer)-len("a=mid:0\r\na=group:BUNDLE 0\r\n") {
		t.Fatal("kit's offer has no a=mid:0 or no a=group:BUNDLE 0 line")
	}
	bad.Description = &room.SessionDescription{Type: "offer", SDP: noMid}
	r.toBridge(bad)
	waitFor(t, "the offer without a=mid refused", func() bool { st, _ := musicianStats(m, "kit"); return st.Malformed == 1 })
	m.mu.Lock()
	pc := m.musicians["kit"].cur.pc // the goroutine is idle: it counted Malformed last
	m.mu.Unlock()
	if ss := pc.SignalingState(); ss != webrtc.SignalingStateStable {
		t.Fatalf("the refused offer left the PeerConnection %s, want stable", ss)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	if ss := pc.SignalingState(); ss != webrtc.SignalingStateHaveRemoteOffer {
		t.Fatalf("the PeerConnection is %s; this test needs have-remote-offer", ss)
	}
	// kit's page gives up on its connection and reloads, keeping its peerId.
	kit.close()
	r.setHolds(nil, nil)
	kit = newTestMusician(t, r, "kit", musicianOpts{})
	waitFor(t, "the connect timeout", func() bool { return fc.hasTimer(DefaultConnectTimeout) })
	fc.Advance(DefaultConnectTimeout)
	waitFor(t, "bridge connected to kit", bridgeConnected(m, "kit"))
	waitFor(t, "kit connected", musicianConnected(kit))
	if st, _ := musicianStats(m, "kit"); st.ICERestarts != 0 {
		t.Errorf("ICERestarts = %d: the retry tried to restart ICE", st.ICERestarts)
	}
}

// A connection the musician's side closes (its page goes; Presence keeps its peerId) is
// offered again on a fresh PeerConnection after the backoff.
func TestConnectionClosedByTheMusicianIsOfferedAgain(t *testing.T) {
	states := &stateLog{}
	m, r, fc := startFakeClockManager(t, func(c *Config) { c.OnStateChange = states.record })
	eve := newTestMusician(t, r, "eve", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("eve"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to eve", bridgeConnected(m, "eve"))
	// Both sides: a musician that closes before its own DTLS handshake is done sends no
	// close_notify, and the bridge sees its connection fail (ICE) instead.
	waitFor(t, "eve connected", musicianConnected(eve))
	eve.close()
	waitFor(t, "the bridge's connection closed", func() bool {
		st, _ := musicianStats(m, "eve")
		return st.ConnectionState == webrtc.PeerConnectionStateClosed
	})
	eve = newTestMusician(t, r, "eve", musicianOpts{}) // waits for the bridge's offer
	waitFor(t, "the restart backoff", func() bool { return fc.hasTimer(DefaultRestartBackoff[0]) })
	fc.Advance(DefaultRestartBackoff[0])
	waitFor(t, "bridge connected to eve again", bridgeConnected(m, "eve"))
	waitFor(t, "eve connected", musicianConnected(eve))
	if n := countSignals(r.bridgeSignals(), room.SignalOffer, "eve"); n != 1 {
		t.Errorf("the bridge sent eve %d offers, want 1", n)
	}
	waitFor(t, "the state reported", func() bool {
		st := states.get("eve")
		return len(st) > 0 && st[len(st)-1] == webrtc.PeerConnectionStateConnected
	})
	if st := states.get("eve"); !slices.Contains(st, webrtc.PeerConnectionStateClosed) {
		t.Errorf("states %v: the close was not reported", st)
	}

	// A page that drops its connection again at once is offered again after the next step of
	// the backoff, not the first one again: connecting does not start the schedule over.
	closeAndWait := func(backoff time.Duration) {
		t.Helper()
		eve.close()
		waitFor(t, "the bridge's connection closed", func() bool {
			st, _ := musicianStats(m, "eve")
			return st.ConnectionState == webrtc.PeerConnectionStateClosed
		})
		eve = newTestMusician(t, r, "eve", musicianOpts{})
		waitFor(t, fmt.Sprintf("a restart backoff of %v", backoff), func() bool { return fc.hasTimer(backoff) })
		fc.Advance(backoff)
		waitFor(t, "bridge connected to eve again", bridgeConnected(m, "eve"))
		waitFor(t, "eve connected", musicianConnected(eve))
	}
	closeAndWait(DefaultRestartBackoff[1])
	// One that stayed up for stableConnection starts it over.
	fc.Advance(stableConnection)
	closeAndWait(DefaultRestartBackoff[0])
}

// A musician that leaves and joins again at once has a new musician (and connection) while
// the old one's goroutine is still closing: the old one's late release must not overwrite
// the new connection's state, which the status page shows. The two goroutines' reports are
// made here in that order, directly.
func TestLateReleaseOfAReplacedMusicianIsNotReported(t *testing.T) {
	states := &stateLog{}
	m, err := NewManager(Config{SelfID: "b", SendSignal: func(context.Context, room.Signal) error { return nil }, OnStateChange: states.record})
	if err != nil {
		t.Fatal(err)
	}
	old := newMusician(m, "ada", true)
	old.setState(webrtc.PeerConnectionStateConnected)
	rejoined := newMusician(m, "ada", true)
	rejoined.setState(webrtc.PeerConnectionStateConnecting)
	rejoined.setState(webrtc.PeerConnectionStateConnected)
	old.reportState(webrtc.PeerConnectionStateClosed, true)
	want := []webrtc.PeerConnectionState{webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateConnecting, webrtc.PeerConnectionStateConnected}
	if got := states.get("ada"); !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	rejoined.reportState(webrtc.PeerConnectionStateClosed, true)
	if got := states.get("ada"); got[len(got)-1] != webrtc.PeerConnectionStateClosed {
		t.Errorf("states %v: the current musician's release was not reported", got)
	}

	// Released before the new one reports anything, the old one reports its release.
	old, rejoined = newMusician(m, "bo", true), newMusician(m, "bo", true)
	old.setState(webrtc.PeerConnectionStateConnected)
	old.reportState(webrtc.PeerConnectionStateClosed, true)
	rejoined.setState(webrtc.PeerConnectionStateConnecting)
	want = []webrtc.PeerConnectionState{webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateConnecting}
	if got := states.get("bo"); !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	rejoined.reportState(webrtc.PeerConnectionStateClosed, true)
	if n := len(m.reporters); n != 0 {
		t.Errorf("%d reporters kept after every musician's release", n)
	}
}
