package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// In auto mode the session's look follows PROTOCOL.md §5 through the whole path: a musician's
// RTP packets arriving on her stream, the frame loop's analysis, the room's led-update frames.
// The frame loop runs on virtual time (modeRig's stepClock, which her stream reads too), so each
// rule's edge is checked to the millisecond, with the spec's figures written out: still local
// 999 ms after her last audio arrived and the host's frames 1001 ms after, still the host's frames
// 1999 ms after the last of them and idle 2001 ms after.
func TestAutoModeLookFollowsTheProtocolsFreshnessRules(t *testing.T) {
	const (
		audioRule = time.Second     // "local while audio has arrived in the last second"
		frameRule = 2 * time.Second // "the latest led-update frames if any arrived in the last 2 s"
		ms        = time.Millisecond
		packet    = 20 * time.Millisecond
	)
	r := newModeRig(t, effect.ModeAuto)
	m, err := newMusician("ana", room.Meta{Name: "Ana"}, 0, analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pcmu := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	st, err := m.attachStream(pcmu, r.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.s.mu.Lock()
	r.s.musicians[m.id] = m
	r.s.mu.Unlock()
	r.s.loop.musiciansChanged()

	// tickAt runs the loop up to at (60 fps, then one tick at exactly at) and returns the look.
	tickAt := func(at time.Time) string {
		t.Helper()
		if d := at.Sub(r.clock.Now()); d > time.Second/60 {
			r.run(d - time.Second/60)
		}
		r.clock.work(at.Sub(r.clock.Now()))
		r.s.loop.tick(at)
		return r.look()
	}

	// Ana plays (a loud µ-law square wave, 20 ms a packet) while the host sends frames: local.
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(0x80 + 40*((i/10)%2))
	}
	var lastAudio time.Time
	for seq := range 100 {
		st.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(seq), Timestamp: uint32(seq) * 160, SSRC: 1},
			Payload: payload,
		})
		lastAudio = r.clock.Now()
		if seq%3 == 0 {
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, seq+1))
		}
		r.run(packet)
	}
	if look := r.look(); look != "local" {
		t.Fatalf("look %q while Ana plays, want local", look)
	}

	// Her packets stop; the host's frames go on, one every 100 ms, for 900 ms more.
	lastFrame := lastAudio
	for seq := 200; lastFrame.Before(lastAudio.Add(900 * ms)); seq++ {
		lastFrame = lastFrame.Add(100 * ms)
		tickAt(lastFrame)
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, seq))
	}
	if look := tickAt(lastAudio.Add(audioRule - ms)); look != "local" {
		t.Fatalf("%v after Ana's last audio: look %q, want local", audioRule-ms, look)
	}
	if got := r.s.loop.lastAudio; !got.Equal(lastAudio) {
		t.Fatalf("the loop took Ana's last audio as arrived at %v, want %v (her last packet's arrival)", got, lastAudio)
	}
	if look := tickAt(lastAudio.Add(audioRule + ms)); look != "broadcast" {
		t.Fatalf("%v after Ana's last audio, the host's frames fresh: look %q, want broadcast", audioRule+ms, look)
	}

	// The host's frames stop too.
	if look := tickAt(lastFrame.Add(frameRule - ms)); look != "broadcast" {
		t.Fatalf("%v after the host's last frame: look %q, want broadcast", frameRule-ms, look)
	}
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("the strip shows %v in the broadcast look, want the host's red", px[0])
	}
	if look := tickAt(lastFrame.Add(frameRule + ms)); look != "idle" {
		t.Fatalf("%v after the host's last frame: look %q, want idle", frameRule+ms, look)
	}
}
