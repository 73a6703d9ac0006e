// Package hub is ledbridge's embedded LAN room server: it speaks the Supabase Realtime protocol
// (Phoenix channels, vsn 1.0.0 and 2.0.0, Broadcast and Presence) on /realtime/v1/websocket, so
// that an unmodified supabase-js client pointed at http://<bridge>:<port> with any key can hold a
// jam room when no Supabase project is configured.
//
// It implements only what rooms use: channel join/leave, heartbeats, Broadcast fan-out honouring
// the join's self and ack flags (binary kind-3 pushes go out as kind-4 to vsn 2.0.0 sockets and as
// JSON to vsn 1.0.0 sockets, as the Realtime server does), Presence (presence_state on join,
// presence_diff on track, untrack, leave and disconnect) and the access_token message (accepted,
// not checked), plus the REST broadcast endpoints (JSON or octet-stream bodies only, so that a web
// page cannot post to them without a CORS preflight, which is approved only for an origin
// Config.AllowedOrigins admits, as the WebSocket upgrade is). There is no database: postgres_changes joins are
// refused. An optional shared secret (Config.Secret) must then be the clients' API key.
//
// A presence key is a participant's peerId (the room protocol's rule), so the server binds the two:
// a room holds each key on one socket. A socket joining with a held key (a supabase-js reconnect,
// a musician whose address changed) replaces the holder's channel when that socket is closing or
// does not answer a ping, from whatever address it comes; otherwise it is refused. A replaced
// channel's Presence meta passes to its successor, so the key never leaves the room across a
// reconnect. A webrtc-signal, state-request or state-response whose fromPeerId is another key than
// the sending channel's is dropped; on the REST endpoints, which have no channel, it is refused
// unless fromPeerId is held in the room by a socket of the requesting client. A led-update is
// relayed only from the member Presence elects host (isHost, earliest joinedAt: the room
// protocol's rule), and a tempo-change or playback-control only from members that track Presence;
// over REST, only from a client holding such a member's socket. A host whose socket left stays the
// host for a few seconds, by its presence key and its client, so that its reconnect (REST fallback,
// rejoin, re-track) loses nothing, unless Presence elects another host meanwhile. Event names are matched under the case folding supabase-js
// applies when it hands a broadcast to the web app.
//
// Every resource is bounded (see Config): frame size; sockets (in all, and per remote IP address, so
// that one host cannot take them all); plain HTTP connections under Serve (in all and per address,
// with header, request and idle timeouts); REST requests being read at once; rooms (in all, and
// per address that started them); clients per room; channels per socket; presence meta and key
// size; messages and bytes per second per socket, as averages with a burst allowance (and per
// address for the REST endpoints, whose batches are capped at MaxBroadcastBatch); presence calls per socket and topic (rejoining does not
// reset them; a socket keeps windows for at most MaxChannelsPerClient topics); and the outbound
// queue per socket (frames and bytes). Past the rate limits a channel gets the Realtime server's
// `system` error and phx_close; heartbeats are still answered (they have a budget of their own). A socket that cannot keep up is dropped rather than slowing the
// room; broadcast fan-out encodes each event once per serializer and allocates nothing. Nothing that is not UTF-8 is relayed in a text frame (a
// browser fails its socket on it): a socket sending such a text frame is closed with 1007, and
// binary or REST JSON payloads that are not UTF-8 are refused.
//
// Server.Stats counts what the limits refused and dropped (handshake and join refusals by reason,
// so that the per-address caps can be told from the rest); with Config.Metrics set, the same
// counters are exported as the ledbridge_hub_* Prometheus series, read at scrape time, and with
// Config.MetricsPath set as well the server serves that registry there itself.
package hub
