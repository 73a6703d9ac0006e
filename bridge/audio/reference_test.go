package audio

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
var requireOrSkip = testenv.RequireOrSkip

// TestReferencesAreOpusdecOutput proves the checked-in .ref.f32 files are what libopus's
// opusdec makes of the checked-in .opus fixtures (testdata/opus/make-fixtures.sh step 3),
// so the accuracy test compares against libopus and nothing else.
func TestReferencesAreOpusdecOutput(t *testing.T) {
	opusdec, err := exec.LookPath("opusdec")
	if err != nil {
		requireOrSkip(t, "opusdec (Debian package opus-tools) is not installed")
	}
	for _, name := range []string{"celt_fb_stereo_128k", "hybrid_fec_mono_32k", "silk_wb_mono_16k"} {
		out := filepath.Join(t.TempDir(), name+".f32")
		cmd := exec.Command(opusdec, "--quiet", "--float", "--rate", "48000", filepath.Join(fixtureDir, name+".opus"), out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: opusdec: %v: %s", name, err, msg)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(fixtureDir, name+".ref.f32"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(got)%4 != 0 {
			t.Fatalf("%s.ref.f32 is not opusdec's output for %s.opus (%d vs %d bytes)", name, name, len(want), len(got))
		}
		// libopus's float output differs in the last bits between its builds (plain C against
		// SSE, NEON on a Pi: review 314 measured 1.8e-7 at most), so the samples must agree to
		// within far less than any decoder's error, not to the bit.
		worst, at := 0.0, 0
		for i := 0; i < len(got); i += 4 {
			g := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
			w := math.Float32frombits(binary.LittleEndian.Uint32(want[i:]))
			if d := math.Abs(float64(g) - float64(w)); d > worst || math.IsNaN(d) {
				worst, at = d, i/4
			}
		}
		if worst > referenceTolerance || math.IsNaN(worst) {
			t.Fatalf("%s.ref.f32 is not opusdec's output for %s.opus: sample %d differs by %g (at most %g)", name, name, at, worst, referenceTolerance)
		}
		t.Logf("%s: opusdec's output within %g of the reference", name, worst)
	}
}

// referenceTolerance is how far opusdec's samples may be from the checked-in reference: 120 dB
// below full scale, and 20 dB below the 100 dB the decoder accuracy test holds gopus to.
const referenceTolerance = 1e-6
