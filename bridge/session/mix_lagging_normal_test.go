package session

import (
	"bytes"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// lagPacket is one packet of the third musician: when it arrives, its header, and a codec switch
// to make before it.
type lagPacket struct {
	at       time.Duration
	seq      uint16
	ts       uint32
	pt       uint8
	payload  []byte
	switchTo string // call SwitchCodec before writing
}

// playThird gives the third musician's stream her packets from pkts[pi:] that arrive by at
// (start is the rig's start), making their codec switches first, and returns the next one's index.
func playThird(t *testing.T, r *mixRig, start, at time.Time, pkts []lagPacket, pi int) int {
	t.Helper()
	for ; pi < len(pkts) && !start.Add(pkts[pi].at).After(at); pi++ {
		p := pkts[pi]
		r.now = start.Add(p.at)
		st := r.musicians[2].stream.Load()
		if p.switchTo != "" {
			if err := st.SwitchCodec(p.switchTo, 8000, p.pt); err != nil {
				t.Fatal(err)
			}
		}
		st.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts, PayloadType: p.pt, SSRC: 3}, Payload: p.payload})
	}
	return pi
}

// runNormal plays two steady musicians and the third one's packets through the frame loop, and
// returns how many ticks her lane was judged lagging, when first (-1: never), and the most it owed
// in seconds.
func runNormal(t *testing.T, secs int, pkts []lagPacket) (lagTicks int, firstLag time.Duration, mostOwed float64) {
	r := newMixRig(t, 3)
	start := r.now
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].at < pkts[j].at })
	next, pi := 0, 0
	firstLag = -1
	for tick := 1; tick <= secs*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for ; !start.Add(time.Duration(next) * 20 * time.Millisecond).After(at); next++ {
			pat := start.Add(time.Duration(next) * 20 * time.Millisecond)
			r.send(0, pat, bytes.Repeat([]byte{0x90}, 160))
			r.send(1, pat, bytes.Repeat([]byte{0xa0}, 160))
		}
		pi = playThird(t, r, start, at, pkts, pi)
		r.now = at
		r.s.loop.tick(at)
		mostOwed = max(mostOwed, r.s.loop.aligned.lanes[2].owed)
		if r.s.loop.aligned.lanes[2].lagging {
			if firstLag < 0 {
				firstLag = time.Duration(tick) * time.Second / 60
			}
			lagTicks++
		}
	}
	return
}

func lagPackets(secs int, frameMs int, f func(i int, p *lagPacket) bool) []lagPacket {
	var out []lagPacket
	n := secs * 1000 / frameMs
	for i := 0; i < n; i++ {
		p := lagPacket{at: time.Duration(i*frameMs) * time.Millisecond, seq: uint16(i + 65000), ts: uint32(i * frameMs * 8), payload: bytes.Repeat([]byte{0xb0}, frameMs*8)}
		if f(i, &p) {
			out = append(out, p)
		}
	}
	return out
}

// No musician who keeps up is judged lagging, whatever her network does to her packets (review 318).
func TestMixJudgesNoNormalMusicianLagging(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := map[string][]lagPacket{
		"60ms 30% loss jitter 0-35": lagPackets(10, 60, func(i int, p *lagPacket) bool {
			p.at += time.Duration(rng.Intn(35)) * time.Millisecond
			return rng.Intn(10) >= 3
		}),
		"20ms 40% loss jitter 0-60": lagPackets(10, 20, func(i int, p *lagPacket) bool {
			p.at += time.Duration(rng.Intn(60)) * time.Millisecond
			return rng.Intn(10) >= 4
		}),
		"20ms clean":                      lagPackets(10, 20, func(i int, p *lagPacket) bool { return true }),
		"60ms clean":                      lagPackets(10, 60, func(i int, p *lagPacket) bool { return true }),
		"40ms jitter 0-50ms":              lagPackets(10, 40, func(i int, p *lagPacket) bool { p.at += time.Duration(rng.Intn(50)) * time.Millisecond; return true }),
		"60ms jitter 0-35ms":              lagPackets(10, 60, func(i int, p *lagPacket) bool { p.at += time.Duration(rng.Intn(35)) * time.Millisecond; return true }),
		"20ms jitter 0-80ms":              lagPackets(10, 20, func(i int, p *lagPacket) bool { p.at += time.Duration(rng.Intn(80)) * time.Millisecond; return true }),
		"20ms 20% loss":                   lagPackets(10, 20, func(i int, p *lagPacket) bool { return rng.Intn(5) != 0 }),
		"20ms 40% loss":                   lagPackets(10, 20, func(i int, p *lagPacket) bool { return rng.Intn(5) >= 2 }),
		"60ms 20% loss":                   lagPackets(10, 60, func(i int, p *lagPacket) bool { return rng.Intn(5) != 0 }),
		"20ms bursts of 4 lost every 100": lagPackets(10, 20, func(i int, p *lagPacket) bool { return i%25 >= 4 }),
		"20ms 1000ppm slow":               lagPackets(10, 20, func(i int, p *lagPacket) bool { p.at = p.at * 1001 / 1000; return true }),
		"wifi powersave 5 per 100ms":      lagPackets(10, 20, func(i int, p *lagPacket) bool { p.at = time.Duration(i/5*100+99) * time.Millisecond; return true }),
		"DTX 1s on 1s off":                lagPackets(10, 20, func(i int, p *lagPacket) bool { return (i/50)%2 == 0 || i%20 == 0 }),
		"codec switch every 2s": lagPackets(10, 20, func(i int, p *lagPacket) bool {
			if (i/100)%2 == 1 {
				p.pt = 8
			}
			if i%100 == 3 && i >= 100 {
				p.switchTo = map[uint8]string{0: "audio/PCMU", 8: "audio/PCMA"}[p.pt]
			}
			return true
		}),
	}
	for name, pk := range cases {
		lag, first, owed := runNormal(t, 10, pk)
		t.Logf("%-34s lagging %3d of 600 ticks (first at %v), owed %.0f ms at most", name, lag, first, owed*1000)
		if lag != 0 {
			t.Errorf("%s: judged lagging for %d ticks", name, lag)
		}
		// Headroom: a change that lets a normal sender owe nearly lagShortfall fails here first.
		if most := 0.9 * lagShortfall.Seconds(); owed > most {
			t.Errorf("%s: owed %.0f ms, over %.0f ms", name, owed*1000, most*1000)
		}
	}
}
