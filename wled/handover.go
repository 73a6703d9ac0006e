package wled

import (
	"net/netip"
	"slices"
	"sync"
)

// The outputs of this process that hold a socket, so that one that stops does not release a
// device another is driving now. An output is replaced while it runs when its device's target
// changes (a new LED count, another protocol, an address swapped by DHCP): its successor may
// already be streaming when its release ({"live":false}, or a timeout-0 packet) arrives, and
// WLED would leave realtime mode and blank the strip, or show its own effect, until the next
// frame. So the one that stops last releases the device, once. A device that moved to another
// address is the same device when the outputs say so (OutputConfig.Device).
var drivers struct {
	mu  sync.Mutex
	all []*Output // added by NewOutput, removed by leaveDevice (Run) or forgetDriver (Close)
}

// joinDevice adds o and returns the targets of the other outputs that drive o's device now.
func joinDevice(o *Output) (others []Target) {
	drivers.mu.Lock()
	defer drivers.mu.Unlock()
	for _, other := range drivers.all {
		if sameDriven(o, other) {
			others = append(others, other.target)
		}
	}
	drivers.all = append(drivers.all, o)
	return others
}

// forgetDriver removes o, if it is still there.
func forgetDriver(o *Output) {
	drivers.mu.Lock()
	defer drivers.mu.Unlock()
	drivers.all = slices.DeleteFunc(drivers.all, func(x *Output) bool { return x == o })
}

// leaveDevice removes o and reports whether o should release its device: it drove the device (or
// an output that did left the release to it), and no other output drives the device now, which
// otherwise takes the release over. Removal and check are one step, so that of two outputs of
// one device that stop together exactly one releases it.
func leaveDevice(o *Output) (release bool) {
	drivers.mu.Lock()
	defer drivers.mu.Unlock()
	drivers.all = slices.DeleteFunc(drivers.all, func(x *Output) bool { return x == o })
	if !o.releaseDue && o.packets.Load() == 0 {
		return false // never sent this device a frame: it may be someone else's (another sender's)
	}
	handedOver := false
	for _, other := range drivers.all {
		if sameDriven(o, other) {
			other.releaseDue, handedOver = true, true
		}
	}
	return !handedOver
}

// sameDriven reports whether outputs a and b drive one device: by their targets (sameDevice), or
// because their callers named the same device (OutputConfig.Device) at two addresses, the old
// one it moved away from and the new one.
func sameDriven(a, b *Output) bool {
	return sameDevice(a.target, b.target) || a.device != "" && a.device == b.device
}

// sameDevice reports whether two targets address one device: the same frame address, the same
// JSON API, or the same IP. The IP is needed because a configured realtime line (dnrgb://IP)
// knows no JSON API and streams to another port than discovery's DDP output for that WLED, yet
// one may take over from the other. A loopback IP does not count: test doubles share 127.0.0.1
// on different ports and must stay apart, and no WLED answers on loopback.
func sameDevice(a, b Target) bool {
	return a.UDPAddr() == b.UDPAddr() || a.HTTPAddr() != "" && a.HTTPAddr() == b.HTTPAddr() ||
		sameDeviceIP(a.Host, b.Host)
}

// sameDeviceIP reports whether both hosts are one IP address that can only be a device's (not
// loopback, not unspecified). Host names are not looked up here: leaveDevice holds a lock.
func sameDeviceIP(a, b string) bool {
	ipA, errA := netip.ParseAddr(a)
	ipB, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return false
	}
	ipA, ipB = ipA.Unmap(), ipB.Unmap()
	return ipA == ipB && !ipA.IsLoopback() && !ipA.IsUnspecified()
}
