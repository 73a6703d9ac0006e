package wled_test

import (
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// StreamProtocol replaces only a forced DDP, and only on firmware that predates it: any other
// forced protocol is every WLED version's, and is kept.
func TestStreamProtocolKeepsOtherForcedProtocols(t *testing.T) {
	old := wled.Info{VID: 2008000}
	current := wled.Info{VID: 2412100}
	for _, tc := range []struct {
		p    wled.Protocol
		info wled.Info
		want wled.Protocol
	}{
		{wled.ProtocolAuto, old, wled.ProtocolDNRGB},
		{wled.ProtocolAuto, current, wled.ProtocolDDP},
		{wled.ProtocolDDP, old, wled.ProtocolDNRGB},
		{wled.ProtocolDDP, current, wled.ProtocolDDP},
		{wled.ProtocolDRGB, old, wled.ProtocolDRGB},
		{wled.ProtocolDRGBW, old, wled.ProtocolDRGBW},
		{wled.ProtocolWARLS, old, wled.ProtocolWARLS},
		{wled.ProtocolDNRGB, current, wled.ProtocolDNRGB},
	} {
		if got := wled.StreamProtocol(tc.p, tc.info); got != tc.want {
			t.Errorf("StreamProtocol(%v, vid %d) = %v, want %v", tc.p, tc.info.VID, got, tc.want)
		}
	}
}
