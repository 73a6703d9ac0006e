package peer

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// loopbackLister lists the loopback interface with one IPv4 address, the one it holds now,
// as a host whose address changes would list its interface. Each 127/8 address is really the
// loopback's, so pion can bind it.
type loopbackLister struct {
	lo       net.Interface
	addr     atomic.Value // string
	fail     atomic.Bool  // the next listing fails
	listings atomic.Int64
}

func newLoopbackLister(t *testing.T, addr string) *loopbackLister {
	t.Helper()
	requireLoopback(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	l := &loopbackLister{lo: *lo}
	l.addr.Store(addr)
	return l
}

func (l *loopbackLister) list() ([]*transport.Interface, error) {
	l.listings.Add(1)
	if l.fail.CompareAndSwap(true, false) {
		return nil, errors.New("netlink: no buffer space")
	}
	ifc := transport.NewInterface(l.lo)
	ifc.AddAddress(&net.IPNet{IP: net.ParseIP(l.addr.Load().(string)).To4(), Mask: net.CIDRMask(8, 32)})
	return []*transport.Interface{ifc}, nil
}

// addressesOf lists ifaces' addresses as "name address/bits", or says err.
func addressesOf(ifaces []*transport.Interface, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var all []string
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			return "error: " + err.Error()
		}
		for _, a := range addrs {
			all = append(all, ifc.Name+" "+a.String())
		}
	}
	return strings.Join(all, ", ")
}

// Concurrent look-ups (pion's gathering goroutines) share one listing until relist; the first
// look-up after it lists the interfaces as they are then. Run with -race: relist and the
// look-ups come from different goroutines, as the musician's and pion's do.
func TestHostInterfacesListedAgainAfterRelistOnly(t *testing.T) {
	l := newLoopbackLister(t, "127.0.0.1")
	h := newHostInterfaces(l.list)
	lookUpAll := func() []string {
		var wg sync.WaitGroup
		seen := make([]string, 8)
		for i := range seen {
			wg.Go(func() {
				seen[i] = addressesOf(h.current())
			})
		}
		wg.Wait()
		return seen
	}
	for _, got := range lookUpAll() {
		if got != "lo 127.0.0.1/8" {
			t.Fatalf("first look-ups see %q, want lo 127.0.0.1/8", got)
		}
	}
	if n := l.listings.Load(); n != 1 {
		t.Errorf("%d listings for the first look-ups, want one", n)
	}

	l.addr.Store("127.0.0.2")
	if got := addressesOf(h.current()); got != "lo 127.0.0.1/8" || l.listings.Load() != 1 {
		t.Errorf("look-up before relist sees %q after %d listings, want the first listing", got, l.listings.Load())
	}
	var wg sync.WaitGroup
	wg.Go(h.relist)
	wg.Wait()
	for _, got := range lookUpAll() {
		if got != "lo 127.0.0.2/8" {
			t.Fatalf("look-ups after relist see %q, want lo 127.0.0.2/8", got)
		}
	}
	if n := l.listings.Load(); n != 2 {
		t.Errorf("%d listings after one relist, want two", n)
	}

	// A failed listing is no listing: the next look-up tries again.
	l.addr.Store("127.0.0.3")
	l.fail.Store(true)
	h.relist()
	if _, err := h.current(); err == nil || !strings.Contains(err.Error(), "list network interfaces") {
		t.Errorf("look-up whose listing fails: err %v", err)
	}
	if got := addressesOf(h.current()); got != "lo 127.0.0.3/8" {
		t.Errorf("look-up after a failed listing sees %q, want lo 127.0.0.3/8", got)
	}

	// pion may look one interface up by name or index; those see the same listing.
	n := &cancellableNet{interfaces: h}
	if ifc, err := n.InterfaceByName("lo"); err != nil || addressesOf([]*transport.Interface{ifc}, nil) != "lo 127.0.0.3/8" {
		t.Errorf("InterfaceByName(lo) = %v, %v", ifc, err)
	}
	if ifc, err := n.InterfaceByIndex(l.lo.Index); err != nil || ifc.Name != "lo" {
		t.Errorf("InterfaceByIndex(%d) = %v, %v", l.lo.Index, ifc, err)
	}
	if _, err := n.InterfaceByName("eth9"); !errors.Is(err, transport.ErrInterfaceNotFound) {
		t.Errorf("InterfaceByName(eth9) err = %v, want ErrInterfaceNotFound", err)
	}
}

// pion's gathering really uses the listing: a PeerConnection built by newAPI gathers on the
// address listed for its first offer, and its ICE restart on the one listed after relist.
func TestICERestartGathersOnTheInterfacesListedThen(t *testing.T) {
	l := newLoopbackLister(t, "127.0.0.1")
	cfg, err := Config{
		SelfID: bridgeID, Interfaces: []string{"lo"}, Logger: testLogger(t),
		SendSignal: func(context.Context, room.Signal) error { return nil },
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	h := newHostInterfaces(l.list)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, err := newAPI(cfg, pcScope{ctx: ctx, interfaces: h})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	// The other end answers each offer, so that the next one (the restart) can be made.
	peer, err := musicianAPI(t, musicianOpts{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.Close() }()
	gather := func(restart bool) map[string]bool {
		t.Helper()
		offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		<-gathered
		local := pc.LocalDescription()
		if err := peer.SetRemoteDescription(*local); err != nil {
			t.Fatal(err)
		}
		answer, err := peer.CreateAnswer(nil)
		if err == nil {
			err = peer.SetLocalDescription(answer)
		}
		if err == nil {
			err = pc.SetRemoteDescription(answer)
		}
		if err != nil {
			t.Fatal(err)
		}
		return bridgeAddresses([]room.Signal{{Description: &room.SessionDescription{SDP: local.SDP}}})
	}
	if got := gather(false); len(got) != 1 || !got["127.0.0.1"] {
		t.Fatalf("first gathering on %v, want 127.0.0.1", got)
	}
	l.addr.Store("127.0.0.2")
	h.relist()
	if got := gather(true); len(got) != 1 || !got["127.0.0.2"] {
		t.Errorf("ICE restart gathered on %v, want 127.0.0.2, the address listed now", got)
	}
}

// A musician's own ICE restart offer (a browser that saw its connection fail) makes the
// bridge gather again too: its answer's candidates are on the address the host has then.
func TestMusicianICERestartOfferGetsCandidatesOnTheCurrentAddress(t *testing.T) {
	l := newLoopbackLister(t, "127.0.0.1")
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.listInterfaces = l.list
	m := startManager(t, cfg, r)
	mus := newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	if got := bridgeAddresses(r.bridgeSignals()); len(got) != 1 || !got["127.0.0.1"] {
		t.Fatalf("bridge candidates on %v, want 127.0.0.1", got)
	}
	signalsBefore := len(r.bridgeSignals())

	l.addr.Store("127.0.0.2")
	offer, err := mus.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(mus.pc)
	if err := mus.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered // its candidates go in the offer: none trickles ahead of it
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ivy", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: mus.pc.LocalDescription().SDP}})
	waitFor(t, "the bridge's candidates for the restart", func() bool {
		return len(bridgeAddresses(r.bridgeSignals()[signalsBefore:])) > 0
	})
	waitFor(t, "bridge connected to ivy again", func() bool {
		return bridgeConnected(m, "ivy")() && mus.connState() == webrtc.PeerConnectionStateConnected
	})
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+10 })
	if got := bridgeAddresses(r.bridgeSignals()[signalsBefore:]); len(got) != 1 || !got["127.0.0.2"] {
		t.Errorf("bridge candidates after the restart on %v, want 127.0.0.2 alone", got)
	}
}
