// Package audio turns one musician's RTP audio packets into 48 kHz PCM and mixes musicians:
// RTP → drop padding-only/empty packets → jitter buffer (reorder, adaptive 0–60 ms delay)
// → codec decoder (Opus, G.722, PCMU, PCMA; all output 48 kHz float32) → packet-loss
// concealment and Opus in-band FEC → per-musician bounded mono ring → Mixer (sum, gain, clamp).
//
// Which goroutine decodes: the Stream decodes whichever goroutine calls it. WriteRTP (the
// peer's RTP read goroutine) releases and decodes packets that are due as they arrive, and
// ReadPCM (the 60 fps loop) first releases and decodes anything that became due since (a
// packet held back for reordering, or a gap declared lost), then drains the ring. One mutex
// guards the jitter buffer, decoder and ring; a 20 ms Opus decode holds it for tens of µs.
// With no jitter the target delay is 0, so a packet is decoded the moment it arrives and the
// ~10 ms budget for jitter+decode+analysis is spent almost entirely in analysis (between two
// pion peers on loopback the estimated jitter is ~0.5 ms, so the target is ~1.5 ms). A
// reordering stream (a packet now and then overtaken by its successor) raises the target to
// the delay its overtaken packets needed, up to 60 ms, for as long as it goes on, and it falls
// back within seconds once the reordering stops; a stream never reordered is not held for it.
// Only reordering that recurs (3 packets within 5 s) raises it: a rare one (a Wi-Fi
// retransmission every few seconds) costs its one packet, not a delay on every packet.
// Decoding is budgeted per Stream at 1.2 s of audio per second of wall clock (1 s burst):
// the jitter buffer releases every packet within 60 ms of its arrival, so without the
// budget a peer sending faster than real time would make the bridge decode that fast.
//
// After a network stall the held packets arrive back to back. That backlog is not jitter
// (the delay estimate skips it, so live packets after it are not held longer). Once more of
// it is held than the ring has room for, the Stream holds it until it has arrived or the next
// tick, skipping undecoded what newer packets would push out of the ring, then decodes only
// its newest ring's worth: the loop's next tick sees live audio, never the stale start of the
// backlog. A smaller backlog (a Wi-Fi power-save burst of a few packets, every 100 ms) is
// decoded on arrival like any packet, so bursty senders' decoding stays off the loop.
// Padding-only packets and packets of another payload type are not decoded, but their
// sequence numbers are marked used, so the gaps they leave are not concealed as losses:
// WriteRTP marks those it is given, and MarkEmpty those the peer's reader does not pass on
// (padding-only probes, and payload types not negotiated, such as comfort noise or DTMF).
//
// A Stream decodes one codec at a time, carried by one RTP payload type: packets of another
// type are not decoded (a stray packet, or the start of a codec switch). Browsers can switch
// codec mid-stream without renegotiating (Chrome's setParameters with encodings[].codec), so
// the peer's reader calls SwitchCodec once a run of packets confirms the new payload type:
// the decoder (kept per codec) and the jitter buffer's clock change, while the ring, the
// counters and the decode budget carry on.
//
// Everything on the per-packet and per-tick path reuses preallocated buffers: decoders,
// the jitter buffer's payload slots, the ring and the mixer allocate nothing per packet.
// The one exception is upstream: gopus v0.1.1 allocates a few objects when it conceals or
// FEC-recovers a lost SILK/hybrid packet (docs/benchmarks/audio.md).
//
// Files take a second path through the same Opus decoder: OggOpusReader (oggfile.go) reads an
// Ogg Opus file, chained links included, as opusdec does (pre-skip dropped, output gain
// applied, the end trimmed to the last granule position), for `ledbridge analyze`, which runs
// the live analyser over it; OggOpusDecoder under it applies the OpusHead's channel mapping.
package audio
