// Package realtime is ledbridge's Supabase Realtime client: it keeps one WebSocket to
// /realtime/v1/websocket, joins one room channel (realtime:<CODE>), answers heartbeats, tracks
// ledbridge's Presence, sends and receives Broadcast messages, and reconnects and rejoins with
// backoff when anything fails.
//
// It speaks what supabase-js 2.119.1 speaks (vsn 2.0.0 by default, with binary kind-3 broadcasts
// out and kind-4 broadcasts in; vsn 1.0.0 as an option); the frames it sends are tested against
// frames recorded from supabase-js. Frames themselves are package wire's job; the room's event
// payloads and metas are package room's.
//
// Use: New(cfg), then Run(ctx) in a goroutine; read Events() for broadcasts and Presence changes;
// call Track, Broadcast and SetAccessToken from any goroutine; observe State/Status.
// Nothing a server or peer sends can panic the client or grow its memory without bound: frames
// over MaxFrameSize, malformed frames and malformed payloads are dropped, counted in Stats and
// logged once per kind; the Presence table and the event queue are bounded (the queue by events and by bytes,
// dropping its oldest events, but never the Presence sync that tells the consumer the table changed).
package realtime
