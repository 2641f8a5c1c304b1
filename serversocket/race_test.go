//go:build race

package serversocket

// raceEnabled reports whether the race detector is on: it makes sync.Pool
// drop items at random, so pooled paths are checked for allocations only
// without it.
const raceEnabled = true
