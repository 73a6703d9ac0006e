//go:build race

package jsonkeys

// raceEnabled: under the race detector sync.Pool drops items at random, so
// json.Valid's pooled scanner is now and then allocated afresh.
const raceEnabled = true
