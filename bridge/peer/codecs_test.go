package peer

import (
	"slices"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio"
)

// TestCodecsAreTheDecodersInTheirOrder: the codecs the peer registers with pion's MediaEngine
// are exactly those bridge/audio decodes, in its order of preference. A codec offered here that
// audio cannot decode would be negotiated and then dropped; one audio decodes but is missing
// here, or out of order, is never chosen when it should be.
func TestCodecsAreTheDecodersInTheirOrder(t *testing.T) {
	var offered []string
	for _, c := range codecs {
		offered = append(offered, strings.ToLower(c.MimeType))
	}
	want := audio.SupportedCodecs()
	for i := range want {
		want[i] = strings.ToLower(want[i])
	}
	if !slices.Equal(offered, want) {
		t.Errorf("peer registers %v, bridge/audio decodes %v (in its order of preference)", offered, want)
	}
}
