package hub

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// httpSendScript is one supabase-js process holding the presence key peer-h in the room that
// sends, over REST, a webrtc-signal with channel.httpSend and a state-request through a second,
// never joined channel (send's implicit REST fallback), both naming peer-h, then prints what
// each call returned as one JSON line.
const httpSendScript = `
import { createClient } from '@supabase/supabase-js'
const opts = { auth: { persistSession: false, autoRefreshToken: false }, realtime: { logger: () => {} } }
const url = process.env.PEER_URL, key = process.env.PEER_KEY
const holder = createClient(url, key, opts)
const channel = holder.channel('ABC123', { config: { presence: { key: 'peer-h', enabled: true } } })
await new Promise((resolve, reject) => channel.subscribe((status, err) => {
  if (status === 'SUBSCRIBED') resolve()
  else reject(new Error(status + ' ' + (err?.message ?? '')))
}))
const out = {}
out.httpSend = await channel.httpSend('webrtc-signal', { type: 'offer', fromPeerId: 'peer-h', targetPeerId: 'ledbridge-go' })
  .then((r) => r, (e) => 'error: ' + e.message)
const other = createClient(url, key, opts).channel('ABC123', { config: { presence: { key: 'peer-h-rest' } } })
const warn = console.warn
console.warn = () => {} // the fallback's deprecation notice
out.fallback = await other.send({ type: 'broadcast', event: 'state-request', payload: { fromPeerId: 'peer-h' } })
console.warn = warn
console.log(JSON.stringify(out))
await holder.removeAllChannels()
process.exit(0)
`

// TestInteropHTTPSendSignal: supabase-js's REST paths for a signal, channel.httpSend and send's
// fallback on a channel not joined, reach the room when the process holds the sender's key.
func TestInteropHTTPSendSignal(t *testing.T) {
	node, flags := nodeCommand(t)
	h := startHub(t, Config{})
	g := startGoPeer(t, h, "2.0.0", "ledbridge-go", false)
	cmd := exec.Command(node, append(flags, "--input-type=module", "-e", httpSendScript)...)
	cmd.Dir = interopDir // where @supabase/supabase-js is installed
	cmd.Env = append(os.Environ(), "PEER_URL="+h.httpURL(), "PEER_KEY="+h.apiKey())
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	if got := strings.TrimSpace(string(out)); got != `{"httpSend":{"success":true},"fallback":"ok"}` {
		t.Fatalf("supabase-js returned %s, want both sends accepted", got)
	}
	g.waitBroadcast("webrtc-signal", `{"type":"offer","fromPeerId":"peer-h","targetPeerId":"ledbridge-go"}`, false)
	g.waitBroadcast("state-request", `{"fromPeerId":"peer-h"}`, false)
}
