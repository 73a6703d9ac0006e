package discovery

import (
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// An instance completed by a later packet keeps the host its SRV named: `ledbridge discover`
// showed a blank HOST for a responder that answers the address in a packet of its own.
func TestBrowseStateSplitAnswerKeepsHost(t *testing.T) {
	inst := "wled-split" + wledSuffix
	want := Answer{Instance: "wled-split", Host: "wled-split.local.", Addr: netip.MustParseAddr("10.0.0.9"), Port: 80, MAC: "02fc00000009"}
	for name, pkts := range map[string][][]byte{
		"PTR+SRV+TXT, then A": {
			response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)}, srvRR(inst, "wled-split.local.", 80), txtRR(inst, "mac=02FC00000009")),
			response([]dnsmessage.Resource{aRR("wled-split.local.", "10.0.0.9")}),
		},
		"PTR+TXT, then SRV+A": {
			response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)}, txtRR(inst, "mac=02FC00000009")),
			response([]dnsmessage.Resource{srvRR(inst, "wled-split.local.", 80)}, aRR("wled-split.local.", "10.0.0.9")),
		},
	} {
		s, got := browsePackets(pkts...)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: answers %+v, want [%+v]", name, got, want)
		}
		if len(s.pending.byKey) != 0 || len(s.hosts) != 0 {
			t.Errorf("%s: pending %d, hosts %d after completion", name, len(s.pending.byKey), len(s.hosts))
		}
	}
}

// goodbye is r with TTL 0: the responder withdraws the record (RFC 6762 §10.1).
func goodbye(r dnsmessage.Resource) dnsmessage.Resource {
	r.Header.TTL = 0
	return r
}

// A goodbye A or SRV record withdraws an address or host; it must never become one. avahi sends
// the goodbye for the old address next to the new one after a DHCP change.
func TestBrowseStateIgnoresGoodbyeRecords(t *testing.T) {
	inst := "wled-bye" + wledSuffix
	host := "wled-bye.local."
	want := Answer{Instance: "wled-bye", Host: host, Addr: netip.MustParseAddr("10.0.0.9"), Port: 80}
	for name, pkt := range map[string][]byte{
		"old address's goodbye after the new one": response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)},
			srvRR(inst, host, 80), aRR(host, "10.0.0.9"), goodbye(aRR(host, "10.0.0.5"))),
		"old address's goodbye before the new one": response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)},
			goodbye(aRR(host, "10.0.0.5")), srvRR(inst, host, 80), aRR(host, "10.0.0.9")),
		"old port's goodbye after the new SRV": response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)},
			srvRR(inst, host, 80), goodbye(srvRR(inst, host, 8080)), aRR(host, "10.0.0.9")),
		"old port's goodbye before the new SRV": response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)},
			goodbye(srvRR(inst, host, 8080)), srvRR(inst, host, 80), aRR(host, "10.0.0.9")),
	} {
		if _, got := browsePackets(pkt); len(got) != 1 || got[0] != want {
			t.Errorf("%s: answers %+v, want [%+v]", name, got, want)
		}
	}

	// Packets of goodbyes only complete nothing: an instance waiting for its address stays
	// waiting, one waiting for its SRV gains no host.
	for _, c := range []struct {
		name        string
		pkts        [][]byte
		wantPending int
		wantHost    string
	}{
		{"A goodbye for a pending host", [][]byte{
			response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)}, srvRR(inst, host, 80)),
			response([]dnsmessage.Resource{goodbye(aRR(host, "10.0.0.5"))}),
		}, 1, host},
		{"SRV and A goodbyes for a pending instance", [][]byte{
			response([]dnsmessage.Resource{ptrRR(wledServiceName, inst)}),
			response([]dnsmessage.Resource{goodbye(srvRR(inst, host, 80))}, goodbye(aRR(host, "10.0.0.5"))),
		}, 1, ""},
		{"every record a goodbye", [][]byte{
			response([]dnsmessage.Resource{goodbye(ptrRR(wledServiceName, inst))},
				goodbye(srvRR(inst, host, 80)), goodbye(txtRR(inst, "mac=02fc00000009")), goodbye(aRR(host, "10.0.0.5"))),
		}, 0, ""},
	} {
		s, got := browsePackets(c.pkts...)
		if len(got) != 0 {
			t.Errorf("%s: answers %+v, want none", c.name, got)
		}
		if len(s.pending.byKey) != c.wantPending {
			t.Fatalf("%s: %d instances pending, want %d", c.name, len(s.pending.byKey), c.wantPending)
		}
		for _, pi := range s.pending.byKey {
			if pi.host != c.wantHost || pi.mac != "" {
				t.Errorf("%s: pending instance has host %q, MAC %q; want host %q, no MAC", c.name, pi.host, pi.mac, c.wantHost)
			}
		}
	}
}

// A packet's records may come in any order: a TXT record before the PTR naming its instance
// still gives the answer its MAC.
func TestBrowseStateTXTBeforePTRKeepsMAC(t *testing.T) {
	inst := "wled-txt" + wledSuffix
	host := "wled-txt.local."
	want := Answer{Instance: "wled-txt", Host: host, Addr: netip.MustParseAddr("10.0.0.9"), Port: 80, MAC: "02fc00000009"}
	for name, pkt := range map[string][]byte{
		"TXT first in the answers": response([]dnsmessage.Resource{txtRR(inst, "mac=02FC00000009"), ptrRR(wledServiceName, inst)},
			srvRR(inst, host, 80), aRR(host, "10.0.0.9")),
		"TXT in the answers, PTR in the additionals": response([]dnsmessage.Resource{txtRR(inst, "mac=02FC00000009"), srvRR(inst, host, 80)},
			ptrRR(wledServiceName, inst), aRR(host, "10.0.0.9")),
		"other case": response([]dnsmessage.Resource{txtRR("WLED-TXT._WLED._tcp.local.", "MAC=02FC00000009"), ptrRR(wledServiceName, inst)},
			srvRR(inst, host, 80), aRR(host, "10.0.0.9")),
	} {
		if _, got := browsePackets(pkt); len(got) != 1 || got[0] != want {
			t.Errorf("%s: answers %+v, want [%+v]", name, got, want)
		}
	}

	// The same with the address still to come: the MAC waits with the pending instance.
	s, _ := browsePackets(response([]dnsmessage.Resource{txtRR(inst, "mac=02FC00000009"), ptrRR(wledServiceName, inst)}, srvRR(inst, host, 80)))
	s.handlePacket(response([]dnsmessage.Resource{aRR(host, "10.0.0.9")}))
	if got := s.answers(); len(got) != 1 || got[0] != want {
		t.Errorf("address in a later packet: answers %+v, want [%+v]", got, want)
	}

	// TXT records of instances the packet never names are kept only up to the per-packet bound
	// and then dropped: they neither add instances nor crowd the real one's TXT out of a later
	// packet.
	var rrs []dnsmessage.Resource
	for i := range maxRecordsPerPacket {
		rrs = append(rrs, txtRR(fmt.Sprintf("junk-%d%s", i, wledSuffix), "mac=02fc000000ff"))
	}
	s, _ = browsePackets(response(rrs))
	if s.pkt.ntxt != maxKeptPerPacket || len(s.pending.byKey) != 0 || len(s.answers()) != 0 {
		t.Errorf("TXT flood: %d TXTs kept, pending %d, answers %d", s.pkt.ntxt, len(s.pending.byKey), len(s.answers()))
	}
	s.handlePacket(response([]dnsmessage.Resource{txtRR(inst, "mac=02FC00000009"), ptrRR(wledServiceName, inst)},
		srvRR(inst, host, 80), aRR(host, "10.0.0.9")))
	if got := s.answers(); s.pkt.ntxt != 1 || len(s.pending.byKey) != 0 || len(got) != 1 || got[0] != want {
		t.Errorf("after a TXT flood: answers %+v, pending %d, last packet's TXTs %d", got, len(s.pending.byKey), s.pkt.ntxt)
	}
}
