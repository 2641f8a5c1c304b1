//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package loop

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// The BSDs and macOS report a datagram's destination differently
// (IP_RECVDSTADDR); not read here: Datagram.To is the socket's bound
// address.

const controlSpace = 0

func wantDestination(int, int) error { return nil }

func destinationOf(*unix.Msghdr) (netip.Addr, bool) { return netip.Addr{}, false }
