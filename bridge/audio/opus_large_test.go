package audio

import (
	"fmt"
	"testing"
)

// codeThreePacket joins code-0 packets of one TOC configuration into a single code-3 (VBR)
// packet, RFC 6716 §3.2.5: what an encoder writes for 60 or 120 ms frames.
func codeThreePacket(t testing.TB, frames [][]byte) []byte {
	t.Helper()
	toc := frames[0][0]
	out := []byte{toc&^3 | 3, 0x80 | byte(len(frames))} // code 3; v=1, no padding, M frames
	for i, f := range frames {
		if f[0] != toc || toc&3 != 0 {
			t.Fatalf("frame %d: TOC %#x, want code-0 packets of TOC %#x", i, f[0], toc)
		}
		if i == len(frames)-1 {
			break // the last frame's length is what remains
		}
		n := len(f) - 1
		if n < 252 {
			out = append(out, byte(n))
		} else {
			b0 := 252 + (n-252)%4
			out = append(out, byte(b0), byte((n-b0)/4))
		}
	}
	for _, f := range frames {
		out = append(out, f[1:]...)
	}
	return out
}

// An Ogg Opus file may carry packets far above an IP MTU: opusenc writes 3–8 KB packets at
// 60 ms and high bitrates, ffmpeg up to 120 ms. gopus refuses packets over 1500 bytes unless told
// otherwise, so such files could not be analysed at all.
func TestOpusDecoderTakesPacketsLargerThanAnMTU(t *testing.T) {
	pkts, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	const perPacket = 6 // 6 × 20 ms: Opus's longest packet, 120 ms
	var frames [][]byte
	for _, p := range pkts {
		if len(p) > 1 && p[0] == pkts[len(pkts)/2][0] {
			frames = append(frames, p)
		}
	}
	if len(frames) < 3*perPacket {
		t.Fatalf("fixture has %d same-TOC packets, want %d", len(frames), 3*perPacket)
	}
	frames = frames[:3*perPacket]
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dch", channels), func(t *testing.T) {
			want := decodeAll(t, frames, channels, 0)
			var joined [][]byte
			largest := 0
			for i := 0; i < len(frames); i += perPacket {
				p := codeThreePacket(t, frames[i:i+perPacket])
				largest = max(largest, len(p))
				joined = append(joined, p)
			}
			if largest <= 1500 {
				t.Fatalf("largest joined packet is %d bytes; the test needs one above 1500", largest)
			}
			got := decodeAll(t, joined, channels, 0)
			if len(got) != len(want) {
				t.Fatalf("decoded %d samples from %d-byte packets, want %d", len(got), largest, len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("sample %d: %v from the joined packets, %v from the single ones", i, got[i], want[i])
				}
			}
		})
	}
}
