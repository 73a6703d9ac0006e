package discovery

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// rr builds resource records for hand-made mDNS responses.
func rrHeader(name string, typ dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET | cacheFlush, TTL: ttl}
}

func ptrRR(service, instance string) dnsmessage.Resource {
	h := rrHeader(service, dnsmessage.TypePTR, 120)
	h.Class = dnsmessage.ClassINET // shared record: no cache-flush bit
	return dnsmessage.Resource{Header: h, Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(instance)}}
}

func srvRR(instance, host string, port uint16) dnsmessage.Resource {
	return dnsmessage.Resource{Header: rrHeader(instance, dnsmessage.TypeSRV, 120), Body: &dnsmessage.SRVResource{Target: dnsmessage.MustNewName(host), Port: port}}
}

func txtRR(instance string, txt ...string) dnsmessage.Resource {
	return dnsmessage.Resource{Header: rrHeader(instance, dnsmessage.TypeTXT, 120), Body: &dnsmessage.TXTResource{TXT: txt}}
}

func aRR(host string, addr string) dnsmessage.Resource {
	return dnsmessage.Resource{Header: rrHeader(host, dnsmessage.TypeA, 120), Body: &dnsmessage.AResource{A: netip.MustParseAddr(addr).As4()}}
}

func response(answers []dnsmessage.Resource, additionals ...dnsmessage.Resource) []byte {
	m := dnsmessage.Message{Header: dnsmessage.Header{Response: true, Authoritative: true}, Answers: answers, Additionals: additionals}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// wledAnswer is the response a WLED (or avahi-publish) gives: PTR in the answers, SRV, TXT and A
// as additional records.
func wledAnswer(label, host, addr string, port uint16, txt ...string) []byte {
	inst := label + wledSuffix
	return response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)}, srvRR(inst, host, port), txtRR(inst, txt...), aRR(host, addr))
}

func browsePackets(pkts ...[]byte) (*browseState, []Answer) {
	s := newBrowseState(rand.New(rand.NewPCG(3, 4)).IntN)
	for _, p := range pkts {
		s.handlePacket(p)
	}
	return s, s.answers()
}

func TestBrowseStateKeepsWLEDAnswers(t *testing.T) {
	_, got := browsePackets(wledAnswer("wled-abcdef", "wled-abcdef.local.", "10.0.0.5", 80, "mac=02FC00ABCDEF"))
	want := Answer{Instance: "wled-abcdef", Host: "wled-abcdef.local.", Addr: netip.MustParseAddr("10.0.0.5"), Port: 80, MAC: "02fc00abcdef"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("answers = %+v, want [%+v]", got, want)
	}

	// Every record in the answer section, A before SRV (avahi's legacy unicast reply puts all
	// in the answers; the order is the responder's choice), and another case.
	inst := "Bar Strip" + wledSuffix
	p := response([]dnsmessage.Resource{aRR("bar.local.", "10.0.0.6"), ptrRR("_WLED._tcp.LOCAL.", inst), srvRR(strings.ToUpper(inst), "BAR.local.", 8080)})
	if _, got := browsePackets(p); len(got) != 1 || got[0].Instance != "Bar Strip" || got[0].Addr != netip.MustParseAddr("10.0.0.6") || got[0].Port != 8080 || got[0].MAC != "" {
		t.Errorf("records in another order and case: %+v", got)
	}

	// A malformed TXT mac= drops the MAC, not the answer.
	if _, got := browsePackets(wledAnswer("x", "x.local.", "10.0.0.7", 80, "mac=zz")); len(got) != 1 || got[0].MAC != "" {
		t.Errorf("garbage TXT mac: %+v", got)
	}

	// Records spread over packets: PTR first, then SRV+TXT, then the A record (a responder
	// answering the instance's records separately).
	in := "slow" + wledSuffix
	s, got := browsePackets(
		response([]dnsmessage.Resource{ptrRR(wledServiceName, in)}),
		response([]dnsmessage.Resource{srvRR(in, "slow.local.", 80), txtRR(in, "mac=02fc00000001")}),
	)
	if len(got) != 0 || len(s.pending.byKey) != 1 || len(s.hosts) != 1 {
		t.Fatalf("before the A record: answers %+v, pending %d, hosts %d", got, len(s.pending.byKey), len(s.hosts))
	}
	s.handlePacket(response([]dnsmessage.Resource{aRR("slow.local.", "10.0.0.8")}))
	got = s.answers()
	if len(got) != 1 || got[0].MAC != "02fc00000001" || got[0].Addr != netip.MustParseAddr("10.0.0.8") || len(s.pending.byKey) != 0 || len(s.hosts) != 0 {
		t.Errorf("after the A record: answers %+v, pending %d, hosts %d", got, len(s.pending.byKey), len(s.hosts))
	}

	// Latest wins within a window: the device moved.
	_, got = browsePackets(wledAnswer("m", "m.local.", "10.0.0.9", 80), wledAnswer("m", "m.local.", "10.0.0.10", 80))
	if len(got) != 1 || got[0].Addr != netip.MustParseAddr("10.0.0.10") {
		t.Errorf("moved device: %+v", got)
	}
}

func TestBrowseStateFilters(t *testing.T) {
	long := strings.Repeat("a", 40) + "." + strings.Repeat("b", 40) // two labels: longer than one may be
	for name, pkt := range map[string][]byte{
		"other service": response([]dnsmessage.Resource{ptrRR("_googlecast._tcp.local.", "TV._googlecast._tcp.local.")},
			srvRR("TV._googlecast._tcp.local.", "tv.local.", 8009), aRR("tv.local.", "10.0.0.8")),
		"http twin": response([]dnsmessage.Resource{ptrRR("_http._tcp.local.", "wled-abcdef._http._tcp.local.")},
			srvRR("wled-abcdef._http._tcp.local.", "wled-abcdef.local.", 80), aRR("wled-abcdef.local.", "10.0.0.5")),
		"PTR of another service naming our instance": response([]dnsmessage.Resource{ptrRR("_http._tcp.local.", "x"+wledSuffix)},
			srvRR("x"+wledSuffix, "x.local.", 80), aRR("x.local.", "10.0.0.5")),
		"other domain": response([]dnsmessage.Resource{ptrRR("_wled._tcp.example.com.", "x._wled._tcp.example.com.")},
			srvRR("x._wled._tcp.example.com.", "x.example.com.", 80), aRR("x.example.com.", "10.0.0.5")),
		"no address":        wledAnswer("x", "x.local.", "0.0.0.0", 80),
		"multicast address": wledAnswer("x", "x.local.", "224.0.0.251", 80),
		"broadcast address": wledAnswer("x", "x.local.", "255.255.255.255", 80),
		// A LAN host must not point our probes (and streams) at this machine's own services.
		"loopback address": wledAnswer("x", "x.local.", "127.0.0.1", 80),
		"port 0":           wledAnswer("x", "x.local.", "10.0.0.5", 0),
		"empty instance": response([]dnsmessage.Resource{ptrRR(wledServiceName, wledSuffix[1:])},
			srvRR(wledSuffix[1:], "x.local.", 80), aRR("x.local.", "10.0.0.5")),
		"instance too long": wledAnswer(long, "x.local.", "10.0.0.5", 80),
		"goodbye": response([]dnsmessage.Resource{{Header: rrHeader(wledServiceName, dnsmessage.TypePTR, 0), Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("x" + wledSuffix)}}},
			srvRR("x"+wledSuffix, "x.local.", 80), aRR("x.local.", "10.0.0.5")),
		"a query": func() []byte {
			m := dnsmessage.Message{Answers: []dnsmessage.Resource{ptrRR(wledServiceName, "x"+wledSuffix), srvRR("x"+wledSuffix, "x.local.", 80), aRR("x.local.", "10.0.0.5")}}
			b, _ := m.Pack()
			return b
		}(),
	} {
		s, got := browsePackets(pkt)
		if len(got) != 0 {
			t.Errorf("%s: kept %+v", name, got)
		}
		if len(s.pending.byKey) != 0 && name != "no address" && name != "multicast address" && name != "broadcast address" && name != "loopback address" && name != "port 0" {
			t.Errorf("%s: %d instances pending", name, len(s.pending.byKey))
		}
	}
}

func TestBrowseStateRefusesMalformedPackets(t *testing.T) {
	good := wledAnswer("x", "x.local.", "10.0.0.5", 80)
	lying := append([]byte(nil), good...)
	lying[6], lying[7] = 0, 40 // 40 answers announced, one present
	for name, pkt := range map[string][]byte{
		"empty":     nil,
		"header":    good[:12],
		"truncated": good[:len(good)-3],
		"lying":     lying,
	} {
		s, got := browsePackets(pkt)
		if len(got) != 0 || s.stats.Dropped != 1 {
			t.Errorf("%s: answers %+v, dropped %d", name, got, s.stats.Dropped)
		}
	}
}

func TestBrowseStateBoundsOnePacket(t *testing.T) {
	// A packet with 200 PTRs of ours and 200 SRVs: only the first maxRecordsPerPacket records
	// are read, at most maxKeptPerPacket of each kind kept.
	var rrs []dnsmessage.Resource
	for i := range 200 {
		in := fmt.Sprintf("f%d%s", i, wledSuffix)
		rrs = append(rrs, ptrRR(wledServiceName, in), srvRR(in, "h.local.", 80))
	}
	s, got := browsePackets(response(rrs))
	if s.stats.Records != maxRecordsPerPacket || len(got) != 0 || len(s.pending.byKey) > maxKeptPerPacket || len(s.hosts) != 1 {
		t.Errorf("records read %d, answers %d, pending %d, hosts %d", s.stats.Records, len(got), len(s.pending.byKey), len(s.hosts))
	}
	// One A record completes every pending instance naming the host, and empties the index.
	s.handlePacket(response([]dnsmessage.Resource{aRR("H.local.", "10.0.0.66")}))
	if n := len(s.answers()); n != len(s.pkt.srv) || len(s.pending.byKey) != 0 || len(s.hosts) != 0 {
		t.Errorf("after the host's A record: answers %d, pending %d, hosts %d", n, len(s.pending.byKey), len(s.hosts))
	}
}

func TestPendingSampleStaysBoundedAndIndexed(t *testing.T) {
	// PTRs of 5,000 invented instances, each with an SRV naming one of 7 hosts, in packets of
	// 10: pending stays at maxPending, the host index holds exactly the pending instances.
	s := newBrowseState(rand.New(rand.NewPCG(5, 6)).IntN)
	for i := 0; i < 5000; i += 10 {
		var rrs []dnsmessage.Resource
		for j := i; j < i+10; j++ {
			in := fmt.Sprintf("fake-%d%s", j, wledSuffix)
			rrs = append(rrs, ptrRR(wledServiceName, in), srvRR(in, fmt.Sprintf("h%d.local.", j%7), 80))
		}
		s.handlePacket(response(rrs))
		indexed := 0
		for k, list := range s.hosts {
			for i, pi := range list {
				if pi.hostKey != k || pi.hostIdx != i || s.pending.byKey[pi.key] != pi {
					t.Fatalf("host index entry %q[%d] = %+v is stale", k, i, pi)
				}
			}
			indexed += len(list)
		}
		for i, pi := range s.pending.order {
			if pi.slot != i {
				t.Fatalf("pending order[%d] has slot %d", i, pi.slot)
			}
		}
		if len(s.pending.byKey) > maxPending || indexed != len(s.pending.byKey) || len(s.pending.order) != len(s.pending.byKey) {
			t.Fatalf("after %d instances: pending %d (order %d), indexed %d", i+10, len(s.pending.byKey), len(s.pending.order), indexed)
		}
	}
	if s.stats.MaxPending != maxPending || len(s.answers()) != 0 {
		t.Errorf("max pending %d, answers %d", s.stats.MaxPending, len(s.answers()))
	}
}

func TestHandlePacketAllocatesNothingForUnrelatedRecords(t *testing.T) {
	// Another service's full answer and a PTR flood of invented instances once the sample is
	// full (drawn out by the fixed intN): reading them must not allocate.
	s := newBrowseState(func(n int) int { return n - 1 })
	var rrs []dnsmessage.Resource
	for i := range maxPending {
		rrs = append(rrs, ptrRR(wledServiceName, fmt.Sprintf("p%d%s", i, wledSuffix)))
		if len(rrs) == maxKeptPerPacket {
			s.handlePacket(response(rrs))
			rrs = rrs[:0]
		}
	}
	other := response([]dnsmessage.Resource{ptrRR("_googlecast._tcp.local.", "TV._googlecast._tcp.local.")},
		srvRR("TV._googlecast._tcp.local.", "tv.local.", 8009), txtRR("TV._googlecast._tcp.local.", "id=1"), aRR("tv.local.", "10.0.0.8"))
	flood := response([]dnsmessage.Resource{ptrRR(wledServiceName, "new"+wledSuffix), srvRR("new"+wledSuffix, "n.local.", 80), aRR("unrelated.local.", "10.0.0.9")})
	if allocs := testing.AllocsPerRun(100, func() { s.handlePacket(other); s.handlePacket(flood) }); allocs != 0 {
		t.Errorf("%.1f allocations per unrelated packet pair, want 0", allocs)
	}
	if len(s.pending.byKey) != maxPending {
		t.Errorf("pending %d, want %d", len(s.pending.byKey), maxPending)
	}
}

func FuzzHandlePacket(f *testing.F) {
	f.Add(wledAnswer("wled-abcdef", "wled-abcdef.local.", "10.0.0.5", 80, "mac=02fc00abcdef"))
	f.Add(response([]dnsmessage.Resource{aRR("bar.local.", "10.0.0.6"), ptrRR(wledServiceName, "bar"+wledSuffix), srvRR("bar"+wledSuffix, "bar.local.", 8080)}))
	f.Add(response([]dnsmessage.Resource{ptrRR("_googlecast._tcp.local.", "TV._googlecast._tcp.local.")}, srvRR("TV._googlecast._tcp.local.", "tv.local.", 8009)))
	if crafted, err := craftedPackets(); err == nil {
		for _, p := range crafted {
			f.Add(p)
		}
	}
	legacy, multicast, err := mdnsQueries(wledServiceName, dnsmessage.TypePTR)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(legacy)
	f.Add(multicast)
	// A compression pointer loop.
	f.Add([]byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 2, 0xc0, 12})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := newBrowseState(rand.New(rand.NewPCG(1, 1)).IntN)
		s.handlePacket(pkt)
		s.handlePacket(pkt) // a second copy exercises the pending and host lookups
		if s.stats.Records > 2*maxRecordsPerPacket || len(s.pending.byKey) > maxKeptPerPacket || len(s.hosts) > len(s.pending.byKey) {
			t.Fatalf("bounds broken: %+v, pending %d, hosts %d", s.stats, len(s.pending.byKey), len(s.hosts))
		}
		for _, a := range s.answers() {
			if a.Instance == "" || len(a.Instance) > maxInstanceLabel || a.Port == 0 || !usableAddr(a.Addr) || a.Host == "" {
				t.Fatalf("unusable answer %+v", a)
			}
		}
	})
}
