package uring

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// KernelAtLeast reports whether the running kernel's release is at least
// major.minor, for features the kernel does not refuse but ignores when it
// predates them (SetRecvLimit). Any goroutine.
func KernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return releaseAtLeast(unix.ByteSliceToString(u.Release[:]), major, minor)
}

// releaseAtLeast parses "6.18.0-rc1-foo" style releases.
func releaseAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && min >= minor
}
