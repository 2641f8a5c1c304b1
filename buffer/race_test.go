//go:build race

package buffer

// raceEnabled reports a -race build, where sync.Pool drops a share of Puts
// on purpose, so allocation counts and pool hits are not deterministic.
const raceEnabled = true
