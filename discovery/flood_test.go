package discovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	floodPTRs = 20000 // half other services' instances, half invented instances of _wled._tcp
	floodSRVs = 500   // SRV records for invented instances, hosts without an address
)

// floodPackets is the PTR flood the pion browser could not bear (docs/benchmarks/discovery.md):
// floodPTRs one-PTR responses, then floodSRVs SRVs naming the invented instances, with a real
// WLED's complete answer after the first half of the PTRs.
func floodPackets() (pkts [][]byte, realAt int) {
	for i := range floodPTRs {
		if i == floodPTRs/2 {
			realAt = len(pkts)
			pkts = append(pkts, wledAnswer("wled-real", "wled-real.local.", "10.0.0.9", 80, "mac=02fc00000009"))
		}
		var rr dnsmessage.Resource
		if i%2 == 0 {
			rr = ptrRR("_printer._tcp.local.", fmt.Sprintf("printer-%d._printer._tcp.local.", i))
		} else {
			rr = ptrRR(wledServiceName, fmt.Sprintf("bogus-%d%s", i, wledSuffix))
		}
		pkts = append(pkts, response([]dnsmessage.Resource{rr}))
	}
	for i := range floodSRVs {
		in := fmt.Sprintf("bogus-%d%s", 2*i+1, wledSuffix)
		pkts = append(pkts, response([]dnsmessage.Resource{srvRR(in, fmt.Sprintf("bogus-%d.local.", i), 80)}))
	}
	return pkts, realAt
}

// TestBrowseUnderPTRFlood sends the flood over real UDP on loopback to a running browse (to
// its unicast socket, from port 5353 as a responder would) and checks that the browse stays
// bounded and still finds the real device. CPU time is logged for the benchmarks document,
// never asserted.
func TestBrowseUnderPTRFlood(t *testing.T) {
	pkts, _ := floodPackets()
	var handled atomic.Int64
	addrCh := make(chan netip.AddrPort, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		answers []Answer
		stats   browseStats
		err     error
	}
	done := make(chan result, 1)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var ruBefore syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruBefore)
	go func() {
		hooks := browseHooks{
			listening: func(a netip.AddrPort) { addrCh <- a },
			handled:   func(st browseStats) { handled.Store(int64(st.Packets)) },
		}
		// The window only bounds a stuck test; the test cancels once every packet is handled.
		a, st, err := browseOn(ctx, 2*time.Minute, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), hooks)
		done <- result{a, st, err}
	}()
	var to netip.AddrPort
	select {
	case to = <-addrCh:
	case r := <-done:
		t.Fatalf("browse ended before listening: %v", r.err)
	}
	to = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), to.Port())

	// Responses must come from port 5353; a multicast listen address makes Go set
	// SO_REUSEADDR, so this shares the port with the browse's own socket.
	sender, err := net.ListenUDP("udp4", &net.UDPAddr{IP: mdnsGroupIP, Port: mdnsPort})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	// Send in bursts the socket buffer holds, waiting for the browse to catch up, so that no
	// datagram is lost to a full buffer and every one is really parsed.
	const burst = 64
	for i, p := range pkts {
		if _, err := sender.WriteToUDPAddrPort(p, to); err != nil {
			t.Fatal(err)
		}
		if (i+1)%burst == 0 || i == len(pkts)-1 {
			waitHandled(t, &handled, int64(i+1))
		}
	}
	var ruAfter syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruAfter)
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	st := r.stats
	// At least: the browse's port-5353 socket may also get a stray unicast mDNS packet meant
	// for a responder on this host.
	if st.Packets < len(pkts) || st.Records < len(pkts)+3 {
		t.Errorf("stats %+v: want %d packets and %d records handled", st, len(pkts), len(pkts)+3)
	}
	if st.MaxPending > maxPending || st.MaxHosts > maxPending {
		t.Errorf("held up to %d pending instances and %d hosts, want at most %d", st.MaxPending, st.MaxHosts, maxPending)
	}
	want := Answer{Instance: "wled-real", Host: "wled-real.local.", Addr: netip.MustParseAddr("10.0.0.9"), Port: 80, MAC: "02fc00000009"}
	if len(r.answers) != 1 || r.answers[0] != want {
		t.Errorf("answers = %+v, want only %+v", r.answers, want)
	}
	// Memory: what the whole test allocated (sender included) per packet, a loose bound that
	// an unbounded pending map (pion kept 4.2 MB for 20,000 PTRs) or per-record copies exceed.
	perPacket := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(pkts))
	if perPacket > 512 {
		t.Errorf("allocated %.0f bytes per flood packet, want at most 512", perPacket)
	}
	cpu := time.Duration(ruAfter.Utime.Nano()+ruAfter.Stime.Nano()) - time.Duration(ruBefore.Utime.Nano()+ruBefore.Stime.Nano())
	t.Logf("%d packets (%d PTRs, %d SRVs, 1 real answer): process CPU %v (sender, kernel and browse), %.0f B allocated per packet, max pending %d, max hosts %d",
		st.Packets, floodPTRs, floodSRVs, cpu, perPacket, st.MaxPending, st.MaxHosts)
}

// waitHandled waits until the browse has handled n packets. The limit only stops a stuck test.
func waitHandled(t *testing.T, handled *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for handled.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("browse handled %d of %d packets (lost datagrams?)", handled.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkBrowseStateFlood is the browse's CPU for the whole flood, packets already read:
// the figure to compare with pion's 1.1 s for the same records.
func BenchmarkBrowseStateFlood(b *testing.B) {
	pkts, _ := floodPackets()
	b.ReportAllocs()
	for b.Loop() {
		s := newBrowseState(rand.New(rand.NewPCG(1, 2)).IntN)
		for _, p := range pkts {
			s.handlePacket(p)
		}
		if len(s.answers()) != 1 {
			b.Fatalf("answers %+v", s.answers())
		}
	}
}
