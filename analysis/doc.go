// Package analysis turns one source's 48 kHz PCM into Features (the sounding
// notes, level, 16 spectrum bands and an onset flag) once per 60 fps tick.
//
// The analyser is causal: a frame uses only the audio written before it. It
// looks at the signal through three windows at once, because no single
// window serves a jam: a short one (21 ms at 24 kHz) for onsets, re-attacks,
// the bands and PeakHz; a mid one (85 ms at 6 kHz) that reports notes from
// C3 up and reacts fast; and a long one (171 ms at 3 kHz) whose fine bins
// resolve bass down to E1 and keep chord partials apart up to C#5. In the
// two ticks after an onset a fourth window (43 ms at 12 kHz) may start notes
// from C4 up a tick before the mid window has enough of them (the note net
// reads that window's spectrum every tick); above the mid window's
// alias-free ceiling (2.1 kHz, C7) it starts and carries the notes up to
// C8 every tick, and there the tracker's notes from it start and hold a
// note beside the net's call, since the net, leaning on the mid window,
// does not see them. The mid, fast
// and long windows lean towards their newest audio (asymmetric windows), so
// a new note dominates them sooner. Each window's spectral peaks are grouped
// into harmonic series (an overtone is not a note) by iterative
// estimate-and-cancel with an octave check, then a per-pitch tracker with
// onset-gated birth and a short hold turns the per-frame estimates into
// stable notes with onset flags. Two small logistic regressions, fitted
// offline on a corpus apart from the benchmark's (onsetodds.go), judge each
// birth and re-attack flag from values the analyser already has: an
// unlikely birth waits one frame (most such are one-frame artefacts of an
// attack), an unlikely re-attack flag is dropped. Drums and noise are rejected because their
// spectra lack prominent, harmonically related partials: lone or weak
// partials, noise-dominated frames and quiet ringing need more evidence.
//
// The note net (notenet.go) makes the final call. For every pitch from E1 to
// C8 a small neural network (two hidden layers of 16 and 8 units, the same
// weights for every pitch) reads the four windows' spectra at the pitch's
// sub-harmonics and partials on a semitone axis, their rise over the last
// three ticks, what the finders and the tracker concluded about the pitch,
// and a few values of the whole frame, and gives the probability that the
// pitch sounds and that it starts now; a linear screen first passes on
// only the pitches worth that. A second small network (notenet_stage2.go)
// then reads those two answers for the pitch over the last eight ticks and
// for its neighbours, fourths, fifths, octaves and twelfths, and gives the
// final two: it tells an overtone from a note and a held note's flicker
// from a re-attack, which the first, judging pitch by pitch, cannot. A
// small decoder with hysteresis turns the probabilities into notes and
// onset flags. The weights were trained
// offline, on generated audio that shares no clip with notebench's set B
// (testdata/notebench-train), all with the default Config: the window
// sizes and shapes are part of what it learned. With the net, the finders'
// and tracker's settings (ConfirmFrames, HoldFrames, MaxPolyphony,
// ReattackRatio, RelThreshold, …) shape its inputs rather than the notes;
// MinHz and MaxHz still bound what is reported. Config.RuleNotes skips the
// net.
//
// A DC blocker (a one-pole high-pass at 2 Hz) takes a source's offset out
// at the input: it would otherwise count in the level every note is
// measured against. Before any window can name a pitch, an attack detector
// on the 48 kHz samples (the loudest 5 ms of the newest audio against the
// 50 ms before it) reports that a sound has started, with its level, on the first tick whose
// audio holds a millisecond or two of it: effects give a note its first light
// from that, and the pitch corrects place and colour a tick or two later.
// Mains hum is not a note (hum.go): a tone within 0.5 % of 50 or 60 Hz,
// steady within ±1 dB for 2.5 s and with no note at the pitch's own tuned
// frequency, keeps its pitch (G1 or B1) out of the notes while it stays so.
// A note must reach -24 dB of the source's recent loudness and an absolute
// bar that follows the feed's noise floor (noisefloor.go: the quietest
// smoothed level of the last 6 s; 6 dB above it while the feed's loudness
// stays within 12 dB of it, as steady sounds do), from Config.QuietMinNoteDB
// (-75 dBFS) on a quiet feed to Config.MinNoteDB (-60 dBFS) on one that hiss,
// hum or babble fills: a low-gain remote feed keeps its notes, and a steady
// sound stays under its own bar.
//
// Config.SpectrumOnly keeps only the short window and the attack detector,
// for sources whose notes nobody reads.
package analysis
