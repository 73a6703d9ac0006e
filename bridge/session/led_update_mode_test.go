package session

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// modeRig is a session that is not in a room, whose frame loop the test drives on a stepClock
// (virtual time, one tick per 1/60 s), with one 30-LED DDP strip on a loopback socket. The room's
// broadcasts are handed to handleBroadcast as the events goroutine would.
type modeRig struct {
	s     *Session
	clock *stepClock
	log   *testlog.Buffer
}

const modeRigLEDs = 30

func newModeRig(t *testing.T, mode effect.Mode) *modeRig {
	t.Helper()
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	r := &modeRig{clock: &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}, log: &testlog.Buffer{}}
	code, err := room.ParseCode("MDE234")
	if err != nil {
		t.Fatal(err)
	}
	r.s, err = New(Config{
		Code:     code,
		Mode:     mode,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Devices:  []string{fmt.Sprintf("ddp://%s?leds=%d", sink.LocalAddr(), modeRigLEDs)},
		Clock:    r.clock,
		Logger:   slog.New(slog.NewTextHandler(r.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.s.devices.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the strip to start", func() bool { return len(r.s.devices.current()) == 1 })
	return r
}

// send hands the session one broadcast, as received from the room.
func (r *modeRig) send(event, payload string) { r.s.handleBroadcast(event, []byte(payload)) }

// run ticks the frame loop at 60 fps for d of virtual time.
func (r *modeRig) run(d time.Duration) {
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); {
		r.clock.work(time.Second / 60)
		r.s.loop.tick(r.clock.Now())
	}
}

// pixels is the strip's last rendered frame as colours.
func (r *modeRig) pixels() []color.RGB {
	st := r.s.devices.current()[0]
	px := make([]color.RGB, modeRigLEDs)
	for i := range px {
		px[i] = color.RGB{R: st.frame[3*i], G: st.frame[3*i+1], B: st.frame[3*i+2]}
	}
	return px
}

// shows reports whether every LED is lit in about the hue of want (each primary of want on,
// each other primary off; the brightness cap dims it).
func shows(px []color.RGB, want color.RGB) bool {
	on := func(v, w uint8) bool {
		if w == 0 {
			return v < 10
		}
		return v > 100
	}
	for _, p := range px {
		if !on(p.R, want.R) || !on(p.G, want.G) || !on(p.B, want.B) {
			return false
		}
	}
	return true
}

// idleFor runs the loop for d and reports whether the strip showed the default idle look all
// along: amber (red over green over blue) breathing, so dark at the bottom of a breath at the
// brightness cap, and lit in amber at least once (d must cover a breath: 2 s at 120 BPM).
func (r *modeRig) idleFor(d time.Duration) bool {
	lit := false
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); {
		r.run(time.Second / 60)
		amber := true
		for _, p := range r.pixels() {
			if p.G > p.R || p.B > p.G {
				return false
			}
			amber = amber && p.G > 0
		}
		lit = lit || amber
	}
	return lit
}

func (r *modeRig) look() string { return r.s.Snapshot().Room.Look }

var (
	red   = color.RGB{R: 255}
	green = color.RGB{G: 255}
	blue  = color.RGB{B: 255}
)

// A led-update that passes the room's validation but whose colours do not all parse is dropped;
// it must not touch the frame accepted before it, which the loop copies only on its next tick.
func TestRejectedLEDUpdateLeavesTheAcceptedFrame(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.send(room.EventLEDUpdate, `{"colors":["#ff0000","#ff0000","#ff0000"],"seq":1}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("first frame not shown: %v", px[:3])
	}

	// Accepted, then a rejected one within the same tick.
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00","#00ff00","#00ff00"],"seq":2}`)
	r.send(room.EventLEDUpdate, `{"colors":["#0000ff","#0000ff","red"],"seq":3}`)
	if d := r.s.dropped.broadcasts.Load(); d != 1 {
		t.Fatalf("dropped %d broadcasts, want 1 (the frame with \"red\")", d)
	}
	r.run(time.Second)
	if px := r.pixels(); !shows(px, green) {
		t.Fatalf("shown %v, want the accepted green frame: the rejected frame leaked in", px[:3])
	}

	// The buffers swap on every accepted frame: a rejected frame after that leaves it alone too,
	// and the next good frame still shows.
	r.send(room.EventLEDUpdate, `{"colors":["#ff0000","#ff0000"],"seq":4}`)
	r.run(time.Second)
	r.send(room.EventLEDUpdate, `{"colors":["#0000ff",{"r":0,"g":0,"b":256}],"seq":5}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("shown %v, want the accepted red frame", px[:3])
	}
	r.send(room.EventLEDUpdate, `{"colors":["#0000ff"],"seq":6}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, blue) {
		t.Fatalf("shown %v, want the blue frame sent after the rejected one", px[:3])
	}
	if d := r.s.dropped.broadcasts.Load(); d != 2 {
		t.Fatalf("dropped %d broadcasts, want 2", d)
	}
}

// Taking a led-update allocates nothing, whatever its size up to the protocol's limit.
func TestApplyLEDUpdateAllocatesNothing(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	var b strings.Builder
	b.WriteString(`{"colors":[`)
	for i := range room.MaxLEDColors {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%2 == 0 {
			b.WriteString(`"#12ab34"`)
		} else {
			b.WriteString(`{"r":1,"g":2,"b":3}`)
		}
	}
	b.WriteString(`],"seq":1}`)
	u, err := room.DecodeLEDUpdate([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	gen := r.s.ledGen
	allocs := testing.AllocsPerRun(50, func() {
		u.Seq++
		r.clock.work(time.Second / 60)
		r.s.applyLEDUpdate(u)
	})
	if allocs > 0 {
		t.Fatalf("applyLEDUpdate allocates %.1f times per frame", allocs)
	}
	if r.s.ledGen == gen || len(r.s.ledColors) != room.MaxLEDColors {
		t.Fatalf("frames not taken: gen %d → %d, %d colours", gen, r.s.ledGen, len(r.s.ledColors))
	}
}

// seq orders one host's frames, but a host that reloads its page (or a new host) starts again
// from its first seq: its frames are taken at once, while frames overtaken in transit are still
// dropped.
func TestLEDUpdateSeqRestarts(t *testing.T) {
	const frame = time.Second / 60
	for _, c := range []struct {
		name  string
		after time.Duration // since the frame of seq 5000
		seq   int64
		taken bool
	}{
		{"newer", frame, 5001, true},
		{"overtaken", frame, 4999, false},
		{"same seq", frame, 5000, false},
		{"overtaken by a reordering's reach", frame, 5000 - ledSeqRestart, false},
		{"reloaded host, no pause", frame, 1, true},
		{"further back than a reordering reaches", frame, 5000 - ledSeqRestart - 1, true},
		{"older seq, within the gap", ledRestartGap, 4999, false},
		{"a slow host's overtaken frame", 300 * time.Millisecond, 4999, false},
		{"older seq after a pause", ledRestartGap + time.Millisecond, 4999, true},
		{"reloaded host after a pause", ledRestartGap + time.Second, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newModeRig(t, effect.ModeBroadcast)
			r.send(room.EventLEDUpdate, `{"colors":["#ff0000"],"seq":5000}`)
			r.clock.work(c.after)
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#00ff00"],"seq":%d}`, c.seq))
			r.run(time.Second)
			want := red
			if c.taken {
				want = green
			}
			if px := r.pixels(); !shows(px, want) {
				t.Fatalf("seq %d %v after seq 5000: shown %v, want %v", c.seq, c.after, px[0], want)
			}
			if !c.taken {
				return
			}
			// The restarted order holds from there: the next frame of the new count is taken,
			// one it overtook is not.
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#0000ff"],"seq":%d}`, c.seq+1))
			r.clock.work(frame)
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, c.seq))
			r.run(time.Second)
			if px := r.pixels(); !shows(px, blue) {
				t.Fatalf("after the restart at seq %d: shown %v, want seq %d's blue", c.seq, px[0], c.seq+1)
			}
		})
	}
}

// Broadcast mode holds the host's last frame through a pause, then shows the idle look: a host
// that left must not leave its last frame lit for ever. The status page says what the strips show.
func TestBroadcastModeIdlesOnceTheHostIsGone(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	if !r.idleFor(3*time.Second) || r.look() != "idle" {
		t.Fatalf("before any frame: look %q, shown %v, want idle", r.look(), r.pixels()[0])
	}
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":1}`)
	r.run(effect.BroadcastHold - time.Second)
	if px := r.pixels(); !shows(px, green) || r.look() != "broadcast" {
		t.Fatalf("%v after the host's last frame: look %q, shown %v, want the frame held", effect.BroadcastHold-time.Second, r.look(), px[0])
	}
	r.run(2 * time.Second) // past the hold, and the crossfade
	if !r.idleFor(3*time.Second) || r.look() != "idle" {
		t.Fatalf("%v after the host's last frame: look %q, shown %v, want idle", effect.BroadcastHold+time.Second, r.look(), r.pixels()[0])
	}
	// The host comes back.
	r.send(room.EventLEDUpdate, `{"colors":["#0000ff"],"seq":2}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, blue) || r.look() != "broadcast" {
		t.Fatalf("host back: look %q, shown %v, want its frame", r.look(), px[0])
	}
}

// Local mode shows the idle look until audio arrives and once none has arrived for LocalHold, so
// that strips in a room where nobody plays do not look dead (review 308); the host's frames never
// show in it.
func TestLocalModeIdlesWithoutAudio(t *testing.T) {
	r := newModeRig(t, effect.ModeLocal)
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":1}`)
	if !r.idleFor(3*time.Second) || r.look() != "idle" {
		t.Fatalf("before any audio: look %q, shown %v, want idle", r.look(), r.pixels()[0])
	}
	r.s.loop.lastAudio = r.clock.Now() // audio arrives (silence between notes: nothing to light)
	r.run(time.Second)
	if r.look() != "local" {
		t.Fatalf("audio arrived: look %q, want local", r.look())
	}
	for _, p := range r.pixels() {
		if p != (color.RGB{}) {
			t.Fatalf("local look with no note: shown %v, want dark", p)
		}
	}
	r.run(effect.LocalHold - 2*time.Second)
	if r.look() != "local" {
		t.Fatalf("%v after the last audio: look %q, want local held", effect.LocalHold-time.Second, r.look())
	}
	r.run(2 * time.Second) // past the hold, and the crossfade
	if !r.idleFor(3*time.Second) || r.look() != "idle" {
		t.Fatalf("%v after the last audio: look %q, shown %v, want idle", effect.LocalHold+time.Second, r.look(), r.pixels()[0])
	}
}

// supabase-js hands "Tempo-Change" to a web app's tempo-change listener (names are compared
// lower-cased), so every web client follows it; the bridge must too (review 308).
func TestRoomEventsAreMatchedWithoutCase(t *testing.T) {
	r := newModeRig(t, effect.ModeAuto)
	r.send("Tempo-Change", `{"tempo":90}`)
	r.send("PLAYBACK-control", `{"isPlaying":false}`)
	r.s.mu.Lock()
	tempo, stopped := r.s.tempo, r.s.stopped
	r.s.mu.Unlock()
	if tempo != 90 || !stopped {
		t.Fatalf("after Tempo-Change 90 and PLAYBACK-control false: tempo %v, stopped %v", tempo, stopped)
	}
}
