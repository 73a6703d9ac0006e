//go:build race

package session_test

// raceEnabled: the race detector slows the analysers 5–10×; the end-to-end test's logged frame
// rate says it was measured under it.
const raceEnabled = true
