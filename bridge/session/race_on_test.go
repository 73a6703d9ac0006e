//go:build race

package session_test

// raceEnabled: the race detector slows the analysers 5–10×, so frame-rate figures mean nothing.
const raceEnabled = true
