package session_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"net"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// TestSoundSyncCarriesTheMix listens where WLED devices would (here unicast on loopback) and
// decodes the v2 packets by the documented layout: level, bands and peak follow the music.
func TestSoundSyncCarriesTheMix(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.SoundSyncAddr = pc.LocalAddr().String() })
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	waitFor(t, 20*time.Second, "ana connected", ana.connected)
	waitFor(t, 5*time.Second, "audio analysed", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && len(s.Notes) > 0
	})
	buf := make([]byte, 128)
	var loud, peakHz int
	for i := 0; i < 60; i++ {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		p := buf[:n]
		if n != 44 || !bytes.Equal(p[:6], []byte("00002\x00")) {
			t.Fatalf("packet %d: %d bytes, header %q", i, n, p[:min(n, 6)])
		}
		raw := math.Float32frombits(binary.LittleEndian.Uint32(p[8:]))
		hz := math.Float32frombits(binary.LittleEndian.Uint32(p[40:]))
		if raw > 10 {
			loud++
		}
		// A3 is 220 Hz; its strongest partial may be a harmonic.
		if hz > 200 && hz < 2300 {
			peakHz++
		}
		var bands int
		for _, b := range p[18:34] {
			bands += int(b)
		}
		if raw > 10 && bands == 0 {
			t.Fatalf("packet %d: level %.0f but every band is 0", i, raw)
		}
	}
	if loud < 50 || peakHz < 50 {
		t.Fatalf("of 60 packets, %d carried a level and %d a plausible peak frequency", loud, peakHz)
	}
}
