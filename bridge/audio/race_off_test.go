//go:build !race

package audio

const raceSlowdown = 1
