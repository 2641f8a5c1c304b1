//go:build !race

package buffer

// raceEnabled reports a -race build; see race_test.go.
const raceEnabled = false
