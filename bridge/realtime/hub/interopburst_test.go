package hub

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// burstScript is a supabase-js host (presence key host-1) that sends led-update at 60 fps for a
// second, then an ICE restart to eight peers at once (an offer, five candidates and the end of
// candidates each: 56 webrtc-signals), then LED frames for another second, then a "done"
// broadcast. It prints, as one JSON line, its channel's state, the system messages it heard
// and how many LED frames it sent.
const burstScript = `
import { createClient } from '@supabase/supabase-js'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const sb = createClient(process.env.PEER_URL, process.env.PEER_KEY, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { logger: () => {} } })
const ch = sb.channel('ABC123', { config: { broadcast: { self: false, ack: false }, presence: { key: 'host-1', enabled: true } } })
const system = []
ch.on('system', {}, (p) => system.push(p.message))
await new Promise((resolve, reject) => ch.subscribe((status, err) => {
  if (status === 'SUBSCRIBED') resolve()
  else if (status !== 'CLOSED') reject(new Error(status + ' ' + (err?.message ?? '')))
}))
await ch.track({ name: 'Host', isHost: true, joinedAt: new Date().toISOString() }) // led-update is the host's
const colors = Array.from({ length: 60 }, (_, i) => '#ff00' + (i % 16).toString(16) + '0')
let led = 0
const send = (event, payload) => ch.send({ type: 'broadcast', event, payload })
const timer = setInterval(() => send('led-update', { colors, seq: led++, ts: Date.now() }), 1000 / 60)
await sleep(1000)
for (let p = 0; p < 8; p++) {
  const to = 'peer-' + p
  send('webrtc-signal', { type: 'offer', fromPeerId: 'host-1', targetPeerId: to, data: { type: 'offer', sdp: 'v=0\r\n' } })
  for (let c = 0; c < 5; c++) {
    send('webrtc-signal', { type: 'ice-candidate', fromPeerId: 'host-1', targetPeerId: to,
      data: { candidate: 'candidate:1 1 udp 1 192.0.2.1 ' + (5000 + c) + ' typ host', sdpMid: '0', sdpMLineIndex: 0 } })
  }
  send('webrtc-signal', { type: 'ice-candidate', fromPeerId: 'host-1', targetPeerId: to, data: null })
}
await sleep(1000)
clearInterval(timer)
const state = ch.state
if (state === 'joined') await send('done', {})
console.log(JSON.stringify({ state, system, led }))
process.exit(0)
`

// TestInteropBurstStaysJoined is the reviewer's case with a real supabase-js host and the default
// limits: LED frames at 60 fps and an ICE restart to eight peers in the middle of them. The host
// stays joined, hears no system message, and the room gets every frame. On the old code (100
// frames per one-second window) the window holding the 56 signals and the LED frames after them
// shut the host's channel down.
func TestInteropBurstStaysJoined(t *testing.T) {
	node, flags := nodeCommand(t)
	h := startHub(t, Config{})
	reader := dial(t, h, dialOpts{})
	reader.join(topic, cfgJSON(false, false, "reader"))
	cmd := exec.Command(node, append(flags, "--input-type=module", "-e", burstScript)...)
	cmd.Dir = interopDir // where @supabase/supabase-js is installed
	cmd.Env = append(os.Environ(), "PEER_URL="+h.httpURL(), "PEER_KEY="+h.apiKey())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr.String())
	}
	var host struct {
		State  string   `json:"state"`
		System []string `json:"system"`
		LED    int      `json:"led"`
	}
	if err := json.Unmarshal(out, &host); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	if host.State != "joined" || len(host.System) != 0 {
		t.Fatalf("supabase-js host ended %s after system messages %q, want it joined and told nothing", host.State, host.System)
	}
	var led, signals int
	for {
		f := reader.next()
		switch {
		case bytes.Contains(f.data, []byte("led-update")):
			led++
		case bytes.Contains(f.data, []byte("webrtc-signal")):
			signals++
		case bytes.Contains(f.data, []byte("done")):
			if led != host.LED || signals != 56 {
				t.Fatalf("the room got %d LED frames and %d signals; the host sent %d and 56", led, signals, host.LED)
			}
			if st := h.Stats(); st.RateLimited != 0 {
				t.Errorf("RateLimited = %d, want 0", st.RateLimited)
			}
			return
		}
	}
}
