package audiotest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The codes of G.711's own table for a few samples: silence, the largest, the smallest.
func TestMuLaw(t *testing.T) {
	for _, c := range []struct {
		x    int16
		want byte
	}{{0, 0xff}, {32767, 0x80}, {-32768, 0x00}, {-1, 0x7f}, {1000, 0xce}} {
		if got := MuLaw(c.x); got != c.want {
			t.Errorf("MuLaw(%d) = %#x, want %#x", c.x, got, c.want)
		}
	}
}
