//go:build !race

package jsonkeys

// raceEnabled: see race_on_test.go.
const raceEnabled = false
