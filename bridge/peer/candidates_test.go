package peer

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// stunTargets are loopback UDP sockets posing as forged ICE candidates: each
// records whether the bridge sent it anything (a connectivity check).
type stunTargets struct {
	conns []*net.UDPConn
	hit   []atomic.Bool
	wg    sync.WaitGroup
}

func newSTUNTargets(t *testing.T, n int) *stunTargets {
	t.Helper()
	st := &stunTargets{hit: make([]atomic.Bool, n)}
	for i := range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			st.close()
			t.Fatal(err)
		}
		st.conns = append(st.conns, c)
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			b := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFrom(b); err != nil {
					return
				}
				st.hit[i].Store(true)
			}
		}()
	}
	t.Cleanup(st.close)
	return st
}

func (st *stunTargets) close() {
	for _, c := range st.conns {
		c.Close()
	}
	st.wg.Wait()
}

// lines are SDP candidate lines for targets [from, to), with foundations
// unique to tag.
func (st *stunTargets) lines(tag, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "a=candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host\r\n", tag*10000+i, st.conns[i].LocalAddr().(*net.UDPAddr).Port)
	}
	return b.String()
}

// hits counts the targets in [from, to) that received anything.
func (st *stunTargets) hits(from, to int) int {
	n := 0
	for i := from; i < to; i++ {
		if st.hit[i].Load() {
			n++
		}
	}
	return n
}

// withCandidates puts extra candidate lines into an SDP's first media section.
func withCandidates(sdp, lines string) string {
	return strings.Replace(sdp, "a=mid:0\r\n", "a=mid:0\r\n"+lines, 1)
}

// forgedMusician is musician "cy" of a Manager that never restarts ICE on its own, fed offers
// and candidates the test writes. She never connects, so the bridge keeps checking every remote
// candidate it took, and stunTargets see exactly which.
type forgedMusician struct {
	m         *Manager
	r         *testRoom
	lastOffer *string
}

func newForgedMusician(t *testing.T) forgedMusician {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.ConnectTimeout = time.Hour // no ICE restart of ours in the middle
	m := startManager(t, cfg, r)
	if err := m.MusicianJoined("cy"); err != nil {
		t.Fatal(err)
	}
	return forgedMusician{m: m, r: r, lastOffer: new(string)}
}

func (f forgedMusician) offer(sdp string) {
	*f.lastOffer = sdp
	f.m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "cy", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
}

// trickle sends target i of tg as a candidate line (tagged as tg.lines does), under ufrag
// unless it is empty.
func (f forgedMusician) trickle(tg *stunTargets, tag, i int, ufrag string) {
	mid, idx := "0", uint16(0)
	c := &room.ICECandidate{Candidate: strings.TrimSuffix(strings.TrimPrefix(tg.lines(tag, i, i+1), "a="), "\r\n"), SDPMid: &mid, SDPMLineIndex: &idx}
	if ufrag != "" {
		c.Candidate += " generation 0 ufrag " + ufrag
		c.UsernameFragment = &ufrag
	}
	f.m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "cy", TargetPeerID: bridgeID, Candidate: c})
}

// handled waits until the signals sent so far are handled: her last offer sent again is
// answered again, and counted as a duplicate, after everything before it.
func (f forgedMusician) handled(t *testing.T) {
	t.Helper()
	d := f.stats().Duplicates
	f.offer(*f.lastOffer)
	waitFor(t, "her signals handled", func() bool { return f.stats().Duplicates > d })
}

func (f forgedMusician) stats() MusicianStats {
	st, _ := musicianStats(f.m, "cy")
	return st
}

// Candidates written into an offer's SDP count towards the ICE generation's
// bound, together with trickled ones: forged re-offers cannot make the bridge
// check an unbounded list of addresses (reviewer's probe: 1 → 301 → 601 → 901
// remote candidates after three re-offers). A new remote ufrag starts a new
// generation. The musician never connects, so the bridge keeps checking every
// candidate it took: the UDP targets see exactly which.
func TestOfferSDPCandidatesBoundedPerICEGeneration(t *testing.T) {
	cy := newForgedMusician(t)
	base := anOffer(t)
	forge := cy.offer
	malformed := func() uint64 { return cy.stats().Malformed }

	const batch = 40 // under maxRemoteCandidates alone, over it twice
	tg := newSTUNTargets(t, 4*batch+maxRemoteCandidates+1)
	// 1: an offer with batch candidates is within the bound: they are checked.
	forge(withCandidates(base, tg.lines(1, 0, batch)))
	waitFor(t, "checks towards the first offer's candidates", func() bool { return tg.hits(0, batch) == batch })
	// 2: a re-offer with another batch in the same ICE generation passes the bound: refused whole.
	forge(withCandidates(base, tg.lines(2, batch, 2*batch)))
	waitFor(t, "the re-offer refused", func() bool { return malformed() == 1 })
	// 3: trickled candidates fill the generation up to the bound, no further.
	for i := 2 * batch; i < 3*batch; i++ {
		cy.trickle(tg, 3, i, "")
	}
	waitFor(t, "trickled candidates up to the bound checked, the rest dropped", func() bool {
		return cy.stats().DroppedCandidates == 2*batch-maxRemoteCandidates && tg.hits(2*batch, 3*batch) == maxRemoteCandidates-batch
	})
	// 4: one offer alone with more than the bound is refused, even as a new generation.
	forge(withUfrag(withCandidates(base, tg.lines(4, 4*batch, 4*batch+maxRemoteCandidates+1)), "toomany"))
	waitFor(t, "the oversized offer refused", func() bool { return malformed() == 2 })
	// 5: a new remote ufrag is a new generation: its candidates are checked.
	forge(withUfrag(withCandidates(base, tg.lines(5, 3*batch, 4*batch)), "restarted"))
	waitFor(t, "checks towards the new generation's candidates", func() bool { return tg.hits(3*batch, 4*batch) == batch })
	// The bridge has been checking the taken candidates all along; the refused ones got nothing.
	if n := tg.hits(batch, 2*batch); n != 0 {
		t.Errorf("%d candidates of the refused re-offer got connectivity checks", n)
	}
	if n := tg.hits(4*batch, len(tg.conns)); n != 0 {
		t.Errorf("%d candidates of the oversized offer got connectivity checks", n)
	}
	if n := malformed(); n != 2 {
		t.Errorf("malformed = %d, want 2", n)
	}
}

// Candidates trickled under another ufrag than the applied description's, with no description
// on the way, are dropped without counting towards the generation's bound. Before, they went to
// pion, which ignores them, and counted: a few dozen (a made-up ufrag under her id, a refused
// restart's) filled the generation's 64, and its own were dropped.
func TestCandidatesOfAnotherGenerationDoNotFillItsBound(t *testing.T) {
	cy := newForgedMusician(t)
	cy.offer(anOffer(t))
	waitFor(t, "the offer answered", func() bool { return countSignals(cy.r.bridgeSignals(), room.SignalAnswer, "cy") == 1 })

	// In batches: a musician's inbox holds DefaultInboxSize signals.
	const others, own = maxRemoteCandidates - 2, 5
	other, cur := newSTUNTargets(t, others), newSTUNTargets(t, own)
	for i := range others {
		cy.trickle(other, 1, i, "other")
		if i%16 == 15 {
			cy.handled(t)
		}
	}
	for i := range own {
		cy.trickle(cur, 2, i, "")
	}
	waitFor(t, "the current generation's own candidates checked", func() bool { return cur.hits(0, own) == own })
	if n := other.hits(0, others); n != 0 {
		t.Errorf("%d candidates of another generation got connectivity checks", n)
	}
	if st := cy.stats(); st.DroppedCandidates != others || st.QueuedCandidates != 0 {
		t.Errorf("%d dropped, %d held; want %d and 0", st.DroppedCandidates, st.QueuedCandidates, others)
	}
	if n := cy.m.Stats().InboxDrops; n != 0 {
		t.Errorf("the test overran the musician's inbox: %d signals dropped", n)
	}
}

// An offer from a peer that is not in Presence is not answered, and its
// candidates get no connectivity check, until Presence confirms the sender
// (reviewer's probe: one 31 KB offer from a stranger made the bridge send
// 4,000 STUN packets to 500 forged addresses).
func TestStrangerOfferHeldUntilPresence(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	tg := newSTUNTargets(t, 20)
	sdp := withCandidates(anOffer(t), tg.lines(1, 0, 20))
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "eve", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
	// And a stranger's offer with more candidates than the bound is refused outright.
	many := newSTUNTargets(t, maxRemoteCandidates+1)
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "mal", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: withCandidates(anOffer(t), many.lines(2, 0, maxRemoteCandidates+1))}})
	waitFor(t, "mal's offer refused", func() bool { st, _ := musicianStats(m, "mal"); return st.Malformed == 1 })
	time.Sleep(time.Second) // time enough for a wrong answer or check to show
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "eve"); n != 0 {
		t.Fatalf("bridge answered a peer not in Presence %d times", n)
	}
	if n := tg.hits(0, 20); n != 0 {
		t.Fatalf("bridge sent connectivity checks to %d addresses of a stranger's offer", n)
	}
	if err := m.MusicianJoined("eve"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "eve's held offer answered", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "eve") == 1 })
	waitFor(t, "checks towards eve's candidates", func() bool { return tg.hits(0, 20) > 0 })
	if n := many.hits(0, len(many.conns)); n != 0 {
		t.Errorf("the refused offer's candidates got %d checks", n)
	}
}

// An offer pion could not answer is refused (and counted) when it arrives,
// also from a peer not yet in Presence whose offer would otherwise wait.
func TestIncompleteOfferFromStrangerRefusedAtOnce(t *testing.T) {
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	full := anOffer(t)
	for i, sdp := range []string{
		"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", // no media
		strings.ReplaceAll(full, "a=fingerprint:", "a=x-fingerprint:"),
		strings.ReplaceAll(full, "a=ice-pwd:", "a=x-pwd:"),
	} {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: fmt.Sprint("stranger", i), TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
	}
	waitFor(t, "three offers refused", func() bool { return m.Stats().MalformedSignals == 3 })
}
