//go:build !race

package loop

// raceEnabled reports whether the race detector is on: it multiplies memory
// use, so RSS bounds are checked only without it.
const raceEnabled = false
