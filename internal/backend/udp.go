package backend

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/proto"
)

// UDP (Config.UDP): the echo protocol over datagrams. Each datagram is one
// request and its reply, the same bytes, goes back to its sender; the
// counters count datagrams beside bytes. The backends that can are in
// udpBackends; one more is one more entry there, from a file of its own
// (an init func adds it, as nbio.go does to backends), with the same
// start function shape as the TCP ones.

// udpBackends maps each UDP-capable backend's name to the function that
// starts it over UDP. Never written after initialisation.
var udpBackends = map[string]func(ctx context.Context, cfg Config) (Server, error){
	"loop":       serveLoopUDP,
	"loop-uring": onIOUring(serveLoopUDP),
	"gnet":       serveGnetUDP,
	"net":        serveNetUDP,
}

// UDPSocketBuffer is the SO_RCVBUF and SO_SNDBUF every UDP backend asks
// for on its sockets (the kernel caps it at net.core.rmem_max and
// wmem_max): the default (about 208 KiB) holds only a few hundred queued
// datagrams, fewer than 1,000 flows keep in flight.
const UDPSocketBuffer = 4 << 20

// UDPNames returns the backends that can serve UDP, sorted. Safe from any
// goroutine.
func UDPNames() []string { return slices.Sorted(maps.Keys(udpBackends)) }

// NoUDPError is returned by Start for a backend that exists but cannot
// serve UDP (nbio, say).
type NoUDPError struct{ Name string }

func (e *NoUDPError) Error() string {
	return fmt.Sprintf("backend %s cannot serve UDP (the UDP backends are %q)", e.Name, UDPNames())
}

// startUDP is Start for Config.UDP.
func startUDP(ctx context.Context, name string, cfg Config) (Server, error) {
	start, ok := udpBackends[name]
	if !ok {
		return nil, &NoUDPError{Name: name}
	}
	if _, ok := cfg.Proto.(proto.Echo); !ok {
		return nil, fmt.Errorf("backend %s: only the echo protocol is served over UDP", name)
	}
	if err := cfg.Limits.unbounded(name + " over UDP"); err != nil {
		return nil, err
	}
	return start(ctx, cfg)
}

// setUDPBuffers sizes a UDP socket's kernel buffers (UDPSocketBuffer); a
// refusal leaves the defaults, which only make drops likelier.
func setUDPBuffers(fd int) {
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, UDPSocketBuffer)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, UDPSocketBuffer)
}
