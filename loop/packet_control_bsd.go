//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package loop

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// The BSDs and macOS report a datagram's destination differently
// (IP_RECVDSTADDR) and coalesce nothing; neither is read here:
// Datagram.To is the socket's bound address.

const controlSpace = 0

func wantDestination(int, int) error { return nil }

// received is what the kernel told of one datagram: nothing here.
type received struct {
	to      netip.Addr
	segment int
}

func controlOf(*unix.Msghdr) received { return received{} }
