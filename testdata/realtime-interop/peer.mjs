// peer.mjs: one real @supabase/supabase-js participant, remote-controlled by a Go test.
//
// Run under Node 20 as `node --experimental-websocket peer.mjs` (supabase-js needs a global
// WebSocket; Node 22 has it by default). The test talks to it in JSON lines:
//
//   environment: PEER_URL (http://host:port of the room server), PEER_KEY (API key, any string),
//                PEER_ROOM (channel name, e.g. ABC123), PEER_ID (presence key), PEER_VSN (1.0.0|2.0.0),
//                PEER_ACK ("true" to ask the server to acknowledge broadcasts), PEER_SELF ("true").
//   stdin ops:   {"op":"track","payload":{...}}   {"op":"untrack"}
//                {"op":"send","event":"e","payload":{...}}        (JSON payload; binary kind 3 on vsn 2)
//                {"op":"send_bytes","event":"e","hex":"0a0b"}     (raw binary payload, vsn 2 only)
//                {"op":"leave"}   (unsubscribe, disconnect, exit)   {"op":"crash"}   (exit, no leave)
//   stdout:      {"ev":"status","status":"SUBSCRIBED"|"CHANNEL_ERROR"|"TIMED_OUT"|"CLOSED","error":...}
//                {"ev":"sync","state":{<key>:[meta...]}}          (after every presence change)
//                {"ev":"join"|"leave","key":k,"presences":[meta...]}
//                {"ev":"broadcast","event":e,"payload":...}      (binary payloads as {"hex":"..."})
//                {"ev":"done","op":op,"result":r}                 (after each stdin op)
import { createClient } from '@supabase/supabase-js'
import readline from 'node:readline'

const env = (name, fallback) => process.env[name] ?? fallback
const url = env('PEER_URL')
const room = env('PEER_ROOM', 'ABC123')
const peerId = env('PEER_ID', 'js-peer')
const vsn = env('PEER_VSN', '2.0.0')
const ack = env('PEER_ACK', 'true') === 'true'
const self = env('PEER_SELF', 'false') === 'true'

// Every line to stdout is one JSON object; nothing else may be printed there.
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const toHex = (buf) => Buffer.from(buf).toString('hex')

if (!url) {
  emit({ ev: 'fatal', error: 'PEER_URL is not set' })
  process.exit(2)
}

const supabase = createClient(url, env('PEER_KEY', 'lan-anon-key'), {
  auth: { persistSession: false, autoRefreshToken: false },
  realtime: { vsn, heartbeatIntervalMs: 5000, logger: () => {} },
})

const channel = supabase.channel(room, {
  config: { broadcast: { self, ack }, presence: { key: peerId, enabled: true } },
})

// Presence callbacks strip supabase-js's internal presence_ref so the test sees the metas it tracked.
const clean = (presences) => presences.map(({ presence_ref, ...meta }) => meta)

channel
  .on('presence', { event: 'sync' }, () => {
    const state = {}
    for (const [key, metas] of Object.entries(channel.presenceState())) state[key] = clean(metas)
    emit({ ev: 'sync', state })
  })
  .on('presence', { event: 'join' }, ({ key, newPresences }) =>
    emit({ ev: 'join', key, presences: clean(newPresences) })
  )
  .on('presence', { event: 'leave' }, ({ key, leftPresences }) =>
    emit({ ev: 'leave', key, presences: clean(leftPresences) })
  )
  // The web app binds each event by name; supabase-js matches the name ignoring case.
  .on('broadcast', { event: 'webrtc-signal' }, (msg) => {
    emit({ ev: 'signal-binding', event: msg.event, payload: msg.payload })
  })
  .on('broadcast', { event: '*' }, (msg) => {
    const binary = msg.payload instanceof ArrayBuffer
    emit({ ev: 'broadcast', event: msg.event, payload: binary ? { hex: toHex(msg.payload) } : msg.payload })
  })
  .subscribe((status, err) => emit({ ev: 'status', status, error: err ? String(err.message ?? err) : undefined }))

async function run(cmd) {
  switch (cmd.op) {
    case 'track':
      return channel.track(cmd.payload ?? {})
    case 'untrack':
      return channel.untrack()
    case 'send':
      return channel.send({ type: 'broadcast', event: cmd.event, payload: cmd.payload })
    case 'send_bytes': {
      const bytes = Buffer.from(cmd.hex ?? '', 'hex')
      const payload = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
      return channel.send({ type: 'broadcast', event: cmd.event, payload })
    }
    case 'leave':
      await supabase.removeChannel(channel)
      await supabase.realtime.disconnect()
      emit({ ev: 'done', op: 'leave', result: 'ok' })
      process.exit(0)
    // eslint-disable-next-line no-fallthrough
    case 'crash':
      // Exit without phx_leave or a close frame: the server must notice the dropped socket.
      process.exit(0)
    default:
      throw new Error(`unknown op ${cmd.op}`)
  }
}

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch {
    emit({ ev: 'done', op: null, result: 'error', error: 'bad json' })
    return
  }
  try {
    const result = await run(cmd)
    emit({ ev: 'done', op: cmd.op, result })
  } catch (err) {
    emit({ ev: 'done', op: cmd.op, result: 'error', error: String(err?.message ?? err) })
  }
})
// The test closing our stdin means it is finished with us.
lines.on('close', () => process.exit(0))
