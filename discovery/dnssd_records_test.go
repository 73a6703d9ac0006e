package discovery

import (
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
