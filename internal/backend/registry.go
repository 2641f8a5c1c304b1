package backend

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// ReadBufferSize is the read buffer every backend is given where its size
// can be set: the most one read takes from a socket.
const ReadBufferSize = 64 << 10

// Config is what a backend needs to start serving.
type Config struct {
	// Addr is the TCP address to listen on, host:port; port 0 picks a free
	// port, which Server.Addr reports.
	Addr string
	// Loops is the number of event loops (ignored by "net", whose
	// goroutines the Go scheduler spreads); <= 0 means one per CPU.
	Loops int
	// Proto is the protocol served. One value serves every connection, so a
	// RESP keyspace is shared as in Redis.
	Proto proto.Server
	// Limits bound what one client can make the server hold; the zero
	// value takes the defaults.
	Limits Limits
	// UDP serves Proto over UDP datagrams on Addr instead of TCP: each
	// datagram is answered to its sender. Only echo, and only the
	// backends of UDPNames; Start refuses the others (*NoUDPError).
	UDP bool
	// TLS, if set, serves TLS with this configuration on the backends of
	// TLSNames; Start refuses the others (*NoTLSError).
	TLS *tls.Config
	// Inherit, if set, are listening sockets to serve instead of binding
	// Addr (loop.Engine.FileListener: a predecessor's or systemd's, all
	// of one address), on the backends of InheritNames; Start refuses the
	// others (*NoInheritError). Start duplicates them: the caller closes
	// its files.
	Inherit []*os.File
}

// Limits are the per-connection bounds of `airsock serve`. A zero field
// takes its default (loop.Config's); not every backend can apply every
// bound (see each field).
type Limits struct {
	// IdleTimeout closes a connection that moved no byte for this long
	// (loop, serversocket, net; gnet has no such hook). Default: none.
	IdleTimeout time.Duration
	// MaxInbound bounds the unconsumed input per connection before reading
	// pauses (loop, serversocket; requests larger than it reserve room).
	// Default: 64 KiB.
	MaxInbound int
	// WriteHighWater and WriteLowWater: a connection's output at which the
	// protocol stops executing pipelined requests, and at which it goes on
	// (every backend). Defaults: 64 KiB and 32 KiB.
	WriteHighWater, WriteLowWater int
	// MaxConns caps open connections (loop, serversocket, net); newcomers
	// wait in the backlog. Default: none.
	MaxConns int
	// JoinReusePort lets the server share a port that another process
	// serves with SO_REUSEPORT (a zero-downtime hand-over); by default a
	// taken port is refused with "address already in use".
	JoinReusePort bool
	// IO is loop.Config.Backend for the loop and serversocket backends
	// ("auto", "epoll", "kqueue", "io_uring"; "" is "auto", which the
	// AIRSOCK_IO environment variable overrides). The -uring backends set
	// it to "io_uring"; the peers refuse any other value than "".
	IO string
	// NoUDPOffload turns off UDP segmentation offload (GSO/GRO) in the
	// loop and serversocket backends: loop.Config.PacketNoOffload.
	NoUDPOffload bool
	// ProxyProtocol reads PROXY protocol headers from trusted balancers
	// (loop and serversocket: loop.Config.ProxyProtocol); the peers refuse
	// any mode but off.
	ProxyProtocol loop.ProxyProtocol
}

// Default output marks, as loop.Config's.
const (
	defaultHighWater = 64 << 10
	defaultLowWater  = 32 << 10
)

// marks returns the output marks with the defaults filled in.
func (l Limits) marks() (high, low int) {
	high, low = l.WriteHighWater, l.WriteLowWater
	if high <= 0 {
		high = defaultHighWater
	}
	if low <= 0 || low >= high {
		low = high / 2
	}
	return high, low
}

// unbounded refuses the bounds that a peer backend, called name, cannot
// apply: the idle timeout, MaxConns and MaxInbound.
func (l Limits) unbounded(name string) error {
	if l.IdleTimeout > 0 || l.MaxConns > 0 || l.MaxInbound > 0 {
		return fmt.Errorf("%s: the idle timeout, MaxConns and MaxInbound are not supported by this backend", name)
	}
	if l.ProxyProtocol.Mode != loop.ProxyOff {
		return fmt.Errorf("%s: the PROXY protocol is not supported by this backend", name)
	}
	return nil
}

// loopConfig is the loop.Config of the loop and serversocket backends.
func (cfg Config) loopConfig() loop.Config {
	high, low := cfg.Limits.marks()
	return loop.Config{
		Loops:           cfg.Loops,
		ReadBufferSize:  ReadBufferSize,
		IdleTimeout:     cfg.Limits.IdleTimeout,
		MaxInbound:      cfg.Limits.MaxInbound,
		WriteHighWater:  high,
		WriteLowWater:   low,
		MaxConns:        cfg.Limits.MaxConns,
		JoinReusePort:   cfg.Limits.JoinReusePort,
		Backend:         cfg.Limits.IO,
		PacketNoOffload: cfg.Limits.NoUDPOffload,
		ProxyProtocol:   cfg.Limits.ProxyProtocol,
	}
}

// Server is a running backend. Its methods are safe from any goroutine.
type Server interface {
	// Addr returns the address actually bound.
	Addr() net.Addr
	// Stats returns the connection and byte counters so far.
	Stats() Stats
	// Shutdown stops accepting, closes every connection once the replies
	// already produced are sent, and returns when all of the backend's
	// goroutines and descriptors are gone. If ctx ends first the remaining
	// connections are dropped and ctx.Err() is returned.
	Shutdown(ctx context.Context) error
}

// backends maps each backend's name to the function that starts it: ctx
// bounds the start-up only, and the server runs until Shutdown. It is
// never written after initialisation, so any goroutine may read it.
var backends = map[string]func(ctx context.Context, cfg Config) (Server, error){
	"loop":               serveLoop,
	"loop-uring":         onIOUring(serveLoop),
	"gnet":               serveGnet,
	"net":                serveNet,
	"serversocket":       serveServerSocket,
	"serversocket-uring": onIOUring(serveServerSocket),
}

// onIOUring is start with loop.Config.Backend "io_uring", which fails
// (loop.ErrBackendUnavailable) where the kernel refuses it.
func onIOUring(start func(context.Context, Config) (Server, error)) func(context.Context, Config) (Server, error) {
	return func(ctx context.Context, cfg Config) (Server, error) {
		if cfg.Limits.IO != "" && cfg.Limits.IO != loop.BackendIOUring {
			return nil, fmt.Errorf("the -uring backends run on io_uring, not %q", cfg.Limits.IO)
		}
		cfg.Limits.IO = loop.BackendIOUring
		return start(ctx, cfg)
	}
}

// IOBackend reports the loop backend (loop.Engine.Backend: "epoll",
// "kqueue", "io_uring") a server of the loop or serversocket backends runs
// on, and "" for the peers, which have no such choice. Safe from any
// goroutine.
func IOBackend(s Server) string {
	if e, ok := s.(interface{ Engine() *loop.Engine }); ok {
		return e.Engine().Backend()
	}
	return ""
}

// OnLoop reports whether the backend called name runs on airsock's loop,
// and so takes Limits.IO and MaxInbound. Safe from any goroutine.
func OnLoop(name string) bool {
	switch name {
	case "loop", "loop-uring", "serversocket", "serversocket-uring":
		return true
	}
	return false
}

// Names returns the backend names, sorted. Safe from any goroutine.
func Names() []string { return slices.Sorted(maps.Keys(backends)) }

// UnknownError is returned by Start and Serve for a name that is no backend.
type UnknownError struct{ Name string }

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown backend %q (want one of %q)", e.Name, Names())
}

// Serve starts the backend called name serving srv on addr with the given
// number of loops and the default limits. ctx bounds the start-up only.
// Safe from any goroutine.
func Serve(ctx context.Context, name string, srv proto.Server, addr string, loops int) (Server, error) {
	return Start(ctx, name, Config{Addr: addr, Loops: loops, Proto: srv})
}

// Start starts the backend called name with cfg. ctx bounds the start-up
// only. Safe from any goroutine.
func Start(ctx context.Context, name string, cfg Config) (Server, error) {
	start, ok := backends[name]
	if !ok {
		return nil, &UnknownError{Name: name}
	}
	if cfg.Proto == nil {
		return nil, fmt.Errorf("backend %s: no protocol server", name)
	}
	if cfg.Limits.IO != "" && !OnLoop(name) {
		return nil, fmt.Errorf("backend %s: the I/O backend (%q) can be chosen only for loop and serversocket", name, cfg.Limits.IO)
	}
	if err := checkInherit(name, cfg); err != nil {
		return nil, err
	}
	if cfg.UDP {
		return startUDP(ctx, name, cfg)
	}
	if cfg.TLS != nil && !slices.Contains(TLSNames(), name) {
		return nil, &NoTLSError{Name: name}
	}
	return start(ctx, cfg)
}

// TLSNames lists the backends that serve TLS (Config.TLS): airsock's loop
// and serversocket (crypto/tls on the loop; ServerSocket.ListenTLS) and
// net (crypto/tls over each net.Conn), and nbio (its TLS extension, over
// lesismal/llib's fork of crypto/tls; where nbio builds). gnet has no TLS and its
// maintainers plan none (gnet issue 749).
func TLSNames() []string {
	return []string{"loop", "loop-uring", "serversocket", "serversocket-uring", "net", "nbio"}
}

// NoTLSError is returned by Start for TLS on a backend that cannot serve it.
type NoTLSError struct{ Name string }

func (e *NoTLSError) Error() string {
	why := ""
	if e.Name == "gnet" {
		why = ": gnet has no TLS, and its maintainers plan none (gnet issue 749)"
	}
	return fmt.Sprintf("backend %s cannot serve TLS%s (want one of %q)", e.Name, why, TLSNames())
}
