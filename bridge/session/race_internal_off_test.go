//go:build !race

package session

// raceDetectorOn: see race_internal_on_test.go.
const raceDetectorOn = false
