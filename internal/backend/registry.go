package backend

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
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

// loopConfig is the loop.Config of the loop and serversocket backends.
func (cfg Config) loopConfig() loop.Config {
	high, low := cfg.Limits.marks()
	return loop.Config{
		Loops:          cfg.Loops,
		ReadBufferSize: ReadBufferSize,
		IdleTimeout:    cfg.Limits.IdleTimeout,
		MaxInbound:     cfg.Limits.MaxInbound,
		WriteHighWater: high,
		WriteLowWater:  low,
		MaxConns:       cfg.Limits.MaxConns,
		JoinReusePort:  cfg.Limits.JoinReusePort,
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

// Constructor starts a backend. ctx bounds the start-up only; the server
// runs until Shutdown. It is called on the goroutine calling Serve.
type Constructor func(ctx context.Context, cfg Config) (Server, error)

// registry maps backend names to constructors. A backend in a file of its
// own joins from an init function calling Register, as serversocket.go does.
var (
	registryMu sync.RWMutex
	registry   = map[string]Constructor{
		"loop": serveLoop,
		"gnet": serveGnet,
		"net":  serveNet,
	}
)

// Register adds (or replaces) the backend called name. It is meant for
// init functions, but is safe from any goroutine.
func Register(name string, c Constructor) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = c
}

// Names returns the registered backend names, sorted. Safe from any
// goroutine.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// UnknownError is returned by Serve for a backend name not registered.
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
	registryMu.RLock()
	c, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, &UnknownError{Name: name}
	}
	if cfg.Proto == nil {
		return nil, fmt.Errorf("backend %s: no protocol server", name)
	}
	return c(ctx, cfg)
}
