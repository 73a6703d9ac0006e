// Package analysis turns one source's 48 kHz PCM into Features (the sounding
// notes, level, 16 spectrum bands and an onset flag) once per 60 fps tick.
//
// The analyser is causal: a frame uses only the audio written before it. It
// looks at the signal through three windows at once, because no single
// window serves a jam: a short one (21 ms at 24 kHz) for onsets, bands and
// high notes, a mid one (85 ms at 6 kHz) for the bulk of melody and chords,
// and a long one (171 ms at 3 kHz) that resolves bass down to E1. Each
// window's spectral peaks are grouped into harmonic series (an overtone is
// not a note) by iterative estimate-and-cancel, then a per-pitch tracker with
// hysteresis turns the per-frame estimates into stable notes with onsets.
// Drums and noise are rejected because their spectra have no prominent,
// harmonically related peaks.
package analysis
