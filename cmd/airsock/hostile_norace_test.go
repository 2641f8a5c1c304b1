//go:build !race

package main

// hostileRace reports whether the race detector is on: it multiplies memory
// use and slows the child servers (the same binary), so the hostile tests
// skip their RSS bounds and their heaviest parts under it.
const hostileRace = false
