// Package peer runs one receive-only pion PeerConnection per musician: perfect
// negotiation with ledbridge as the polite peer (PROTOCOL.md §4), trickle ICE,
// ICE restarts with backoff after a failure, and the RTP read loop that hands
// each musician's audio packets to an RTPSink.
//
// A Manager owns every PeerConnection. Each musician has one goroutine that
// owns its PeerConnection and serialises its negotiation; pion's callbacks
// only post events to it. Signals arrive through HandleSignal, which never
// blocks: each musician has a bounded inbox, offers coalesce (the newest
// wins) and every drop is counted in Stats.
package peer
