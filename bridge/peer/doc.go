// Package peer runs one receive-only pion PeerConnection per musician: perfect
// negotiation with ledbridge as the polite peer (PROTOCOL.md §4), trickle ICE,
// ICE restarts with backoff after a failure, and the RTP read loop that hands
// each musician's audio packets to an RTPSink. Each ICE gathering (the first
// and every restart) lists the host's interfaces again (net.go), so that a
// restart after the Pi's address changed binds the new one.
//
// A Manager owns every PeerConnection. Each musician has one goroutine that
// owns its PeerConnection and serialises its negotiation; pion's callbacks
// only post events to it. Signals arrive through HandleSignal, which never
// blocks: each musician has a bounded inbox, offers coalesce (the newest
// wins; five are handled back to back, then one a second) and every drop is
// counted in Stats.
//
// Presence drives the Manager: MusicianJoined admits a musician (within
// MaxPeers), MusicianAway reports her leave. A musician whose connection is
// connected when she leaves keeps her PeerConnection, tracks, sinks and
// peer-cap slot for PresenceGrace: a Realtime socket that drops for a moment
// shows as a leave and, about a second later, a join under the same key,
// while the media path never dropped, and her tab would not answer a new
// PeerConnection's offers. A join within the grace keeps it all, with no new
// offer; at the grace's end, or when her connection fails or closes meanwhile,
// she is released. MusicianMissing holds a musician so for RejoinGrace (45 s)
// instead: she is missing from the Presence a room server that restarted gave
// on the bridge's own rejoin, which lists each musician only once her own
// client has rejoined, tens of seconds later at worst (the session calls it
// only when no phx_ref survived the rejoin: one who left while only the
// bridge's socket was down gets MusicianAway). One whose
// connection is not up is released at once. While held she counts as in
// Presence for offers under her id (the impostor checks below).
//
// What the bridge sends, all musicians together, stays within
// MaxSignalsPerSecond in any second (default 50; a room server cuts a client
// off past 100, and with it the bridge's signalling for everyone). An answer or
// offer starts only with room for it and the candidates that follow, which is
// then promised to it; one that does not fit waits (offers coalesce
// meanwhile), and a candidate that fits no promise nor the room left is
// dropped; both are counted. Musicians that have connected may use the whole
// budget for negotiations other than a storm of their own; new musicians and
// storming offers only half, so that a storm never crowds out those playing.
//
// Negotiation, as the musician's goroutine sees it:
//   - an offer is answered with a recvonly audio transceiver, on the current
//     PeerConnection when it is stable (renegotiation, musician-side ICE
//     restart) or on a fresh one; also on a fresh one when it names another
//     DTLS certificate than the current remote description (the tab built a
//     new RTCPeerConnection): pion keeps a PeerConnection's DTLS association
//     through renegotiations, whatever fingerprint they name;
//   - glare (an offer while our own is outstanding): pion cannot roll back a
//     local offer (pion/webrtc#2133), so the PeerConnection is closed and the
//     offer answered on a fresh one. On a first connection that is invisible
//     to the musician; if it happens during one of our ICE restarts the
//     media path is rebuilt from scratch: a DTLS restart with a new
//     certificate, and our answer's a=setup:active makes us the DTLS client
//     even where we were the server (we had offered). Chromium 156 accepts
//     both role and certificate change (TestChromiumGlareDuringICERestart);
//   - no offer within OfferDelay of joining Presence: we offer;
//   - connection failed: ICE-restart offer after RestartBackoff, repeated
//     while it does not connect, after ConnectTimeout and then at doubling
//     intervals up to 2 minutes (retryWait); an offer never
//     answered is replaced by a fresh PeerConnection's offer, and so is a
//     PeerConnection that cannot restart ICE (pion closed it, or an offer it
//     refused half-applied left it in have-remote-offer);
//   - the host address the connection's selected candidate pair sends from
//     goes (HostAddressesChanged, from the daemon's host address watch: a new
//     DHCP lease, Wi-Fi roaming): ICE-restart offer at once, as after a
//     failure but without waiting half a minute for pion's timeouts to call
//     it one, logged once ("host address gone") and counted
//     (AddressGoneRestarts). A pair based on every address (a TURN relay or
//     srflx socket bound to 0.0.0.0, the default with no Interfaces) counts
//     as on any address of its family, neither loopback nor link-local, that
//     the host had at the musician's last check: the kernel sends its packets
//     from another once one goes. A
//     connection whose pair is on an address still present is left alone,
//     since an ICE restart drops pion's working pair; so is one whose pair
//     says nothing of its address (an mDNS name), for the failure's restart
//     to recover. Nothing is restarted while the host has no address a
//     restart could gather on (none but loopback or link-local, none on
//     Interfaces): the restart would find no candidate and wait
//     ConnectTimeout, where a link that drops for a moment works again with
//     its address back; the next change is judged against the addresses
//     seen before the drop. An address-gone restart still not connected when
//     an address appears is restarted again at once;
//   - connection closed by pion (the musician's side closed it, or the DTLS
//     handshake failed) while the musician is in Presence: a fresh
//     PeerConnection offers after RestartBackoff;
//   - our answer may be lost (SendSignal fails while the channel rejoins, a
//     broadcast goes missing), and the musician's browser then waits for it
//     and ignores our offers: an offer received again is answered again,
//     and while the PeerConnection has never connected the first retry
//     sends the answer again, and later ones send it before their offer;
//   - remote candidates that arrive before a remote description wait in a
//     bounded queue, and so do those, while our offer (an ICE restart) awaits
//     its answer, under another ufrag than the applied remote description's:
//     the answer's, trickled ahead of it, which pion would drop; the answer
//     takes its own and drops the rest; otherwise, unless an offer of hers
//     waits, a candidate of another generation is dropped at once, uncounted
//     against the generation's bound;
//   - an ICE generation (one PeerConnection and remote ufrag) takes at most
//     64 distinct remote candidates, from SDP and trickle together: an offer
//     or answer past that is refused whole, trickled ones past it dropped,
//     so no signal can make the bridge check an arbitrary list of addresses;
//   - an offer under the id of a musician whose connection is up, with
//     another DTLS certificate fingerprint than the connection's remote
//     description, or with other ICE credentials while her audio has
//     arrived within the last 2 s (audioFreshness; compared as sets,
//     session and media level alike), is refused unanswered and counted
//     (ImpostorOffers): her tab keeps its RTCPeerConnection while it is up,
//     so the offer is another room member's (Realtime does not authenticate
//     fromPeerId). A new certificate is handled only once the connection is
//     not connected (a tab that rebuilds its connection closes the old one,
//     whose DTLS close_notify closes ours, or abandons it, and ours goes
//     disconnected within pion's ICE disconnected timeout): audio silence
//     does not admit it, as a muted sender sends no RTP at all. An ICE
//     restart (same certificate, which keeps the DTLS keys hers) is handled
//     once her audio has stopped for 2 s, or the connection is down; so is
//     an offer that only a fresh PeerConnection could answer (glare, or past
//     the transceiver or track bounds below): anyone in the room can make one
//     of her own offer (with 17 new inactive sections), and answering it would
//     close her live PeerConnection. Offers are read with pion's own SDP
//     parser, so that the checks and pion see the same lines and values.
//     The newest refused offer (and the candidates that follow it) is kept
//     and examined again when the connection leaves "connected" (or, an ICE
//     restart, when the audio has stopped for 2 s), then handled as one
//     just received: a tab that rebuilt its connection while the old one
//     still streamed sends its offer only once, and ignores the bridge's
//     offers meanwhile. A kept offer, an impostor's too, is answered only
//     when the same offer sent then would be; an accepted offer or answer
//     drops it. An answer to our offer with another DTLS certificate than
//     the connection's remote description (a room member answering our
//     ICE-restart offer first, under her id) is refused and counted the same
//     way (ImpostorOffers), and hers still awaited: pion keeps a
//     PeerConnection's DTLS association, so her tab's answer names the
//     certificate the connection has; a first answer has none to compare;
//   - an offer that pion would refuse only part-way through applying it,
//     once it has changed the signaling state, is refused first and counted
//     (Malformed, ErrRefusedMidway; checked as pion reads it): candidates
//     of which none parses, an audio or video format that is not a payload
//     type with a codec, an apt that is not a payload type, an a=extmap pion
//     cannot read. Anyone in the room could send her broadcast offer with
//     one such line: left in have-remote-offer, her live connection counted
//     each of her later offers as glare, refused while her audio arrived.
//     One pion still refuses part-way (for what the connection negotiated: a
//     payload type given another codec) is answered locally, the answer not
//     sent, to bring it back to stable (pion v4.2.26 has no rollback), and
//     counted once (Malformed);
//   - an offer from a peer not (yet) in Presence is checked and held, not
//     answered, until Presence confirms the sender (PresenceGrace at most):
//     a stranger's offer makes the bridge send nothing, and takes no peer-cap
//     slot (anyone can send offers under made-up ids, and a musician joining
//     Presence must not wait for them). At most 16 strangers' offers are held
//     so; later ones are kept with the refused ones below, strangers' first to
//     go. A stranger confirmed while the cap is full waits for a slot with its
//     offer kept;
//   - an offer refused because MaxPeers are connected is kept (the newest per
//     musician, 16 musicians, 5 minutes) with its first candidates, and
//     answered when the musician is admitted: its browser, the impolite
//     peer, waits for that answer and ignores our offers meanwhile. A
//     stranger's held offer is kept so when its PresenceGrace ends: the
//     session announces at most 2×MaxPeers musicians, the others as places
//     free, and such a musician's browser waits for the answer as well. An
//     offer that reaches a musician as its goroutine ends starts a fresh one.
//
// One audio track of a PeerConnection at a time is the musician's, the first
// to start; others that start meanwhile (an offer may have up to four audio
// sections that send) are read, discarded, counted and logged once, so they can replace
// neither the sink nor the statistics. When it is renegotiated away, the next
// track to start takes its place.
//
// A description with a media section that has no a=mid is refused before pion sees it: pion
// refuses it only after applying it, which left the PeerConnection in have-remote-offer.
//
// What pion keeps for a PeerConnection until it closes is bounded: an offer with more than
// maxOfferedSections m-lines, or more than maxMediaSections that may send, is refused; so is a
// description declaring more than maxTracks streams (a=ssrc ids and a=rid lines) in the
// sections that may send (a browser keeps the a=ssrc of every removed track's inactive
// section, and adds a section for every track it adds, so that a musician who switches
// microphones with removeTrack and addTrack offers one section more each time); a renegotiation that
// would take it past maxTransceiversKept transceivers (pion keeps one per mid it has seen) or
// maxTracks receiver tracks (until the connection is up, pion configures the declared streams
// again on every renegotiation) is answered on a fresh PeerConnection, and so is one past
// maxUnconnectedRenegotiations on a PeerConnection that never connected; data channels are closed as they open, and more than
// maxDataChannels, more than maxTracks tracks (a sender that declares no SSRC gets one per
// SSRC it sends under) or more than maxUnhandledSSRCs SSRCs pion discarded (it keeps their
// streams) close the PeerConnection until the musician offers again, as does sending more RTP
// and RTCP packets than Config.MaxPacketsPerSecond on average, with floodSeconds' worth at
// once (packetBudget, kept per musician across her connections, spent as pion delivers each
// decrypted packet to a stream, whatever its SSRC and whether anything reads it; see
// packetCounter for what it does not see): each packet costs SRTP and pion's read path before
// the decode budget sees it. Each PeerConnection has
// its own pion API, so that pion's per-SSRC warnings can be counted against it.
//
// Sinks must not block: a track's read goroutine calls WriteRTP, and closing
// a PeerConnection waits for its read goroutines.
package peer
