//go:build !race

package room

// raceEnabled: see race_on_test.go.
const raceEnabled = false
