package peer

import (
	"slices"
	"testing"

	"github.com/pion/transport/v5"
)

// A hostInterfaces made without a lister lists the host's own interfaces, the loopback among them.
func TestHostInterfacesWithoutListerListsTheHosts(t *testing.T) {
	ifaces, err := newHostInterfaces(nil).current()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ifaces, func(ifc *transport.Interface) bool { return ifc.Name == "lo" }) {
		t.Fatalf("interfaces %s; want lo among them", addressesOf(ifaces, nil))
	}
}
