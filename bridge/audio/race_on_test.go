//go:build race

package audio

// The race detector slows the pure-Go Opus decoder ~20×; garbage tests scale their
// iteration counts down by this factor so CI stays quick. Without -race they run in full.
const raceSlowdown = 10
