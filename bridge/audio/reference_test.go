package audio

import (
	"bytes"
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
		if !bytes.Equal(got, want) {
			t.Fatalf("%s.ref.f32 is not opusdec's output for %s.opus (%d vs %d bytes)", name, name, len(want), len(got))
		}
	}
}
