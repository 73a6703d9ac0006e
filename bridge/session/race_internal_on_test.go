//go:build race

package session

// raceDetectorOn: under the race detector sync.Pool drops items at random (encoding/json's
// scanners among them), so allocation counts mean nothing; the package's external tests have
// raceEnabled for the same build tag.
const raceDetectorOn = true
