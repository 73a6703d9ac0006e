//go:build race

package room

// raceEnabled: under the race detector sync.Pool drops items at random, so json.Valid's pooled
// scanner is now and then allocated afresh and allocation counts mean nothing.
const raceEnabled = true
