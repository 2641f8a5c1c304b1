package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/airsock/airsock/internal/proto"
)

// Config describes one load run. Zero fields take the defaults given.
type Config struct {
	// Addr is the server's host:port.
	Addr string
	// Proto is the protocol: "echo" (default), "resp" or "discard". A
	// discard server sends nothing back, so a discard run must be open-loop
	// and measures no latency; with Verify it checks that no byte comes
	// back.
	Proto string
	// RESPOp is the RESP workload: "ping" (default), "set", "get" or
	// "setget".
	RESPOp string
	// Conns is the number of connections (default 50).
	Conns int
	// Depth is how many requests each connection keeps in flight in a
	// closed-loop run (default 1). It is ignored in an open-loop run.
	Depth int
	// Size is the message size in bytes, or the RESP SET value size
	// (default 16).
	Size int
	// Duration is how long the measured part lasts (default 10 s).
	Duration time.Duration
	// Warmup precedes the measured part; its requests are sent but not
	// recorded. Both are counted from the start of the run, when the first
	// connection is dialled, so a connect ramp counts as warmup.
	Warmup time.Duration
	// ConnectRate is how many connections are dialled per second; 0 dials
	// them all at once.
	ConnectRate float64
	// Sources are local IP addresses to dial from, used round-robin, to get
	// past one address's ephemeral ports. Empty: the system chooses.
	Sources []string
	// Rate, when > 0, makes the run open-loop: this many requests per
	// second in total, spread evenly over the connections.
	Rate float64
	// Verify checks every byte of every reply.
	Verify bool
	// Loops is the number of event loops (default 1 per CPU).
	Loops int
	// TLS, if set, makes every connection a TLS client with this
	// configuration (loop.DialOptions.TLS): a connection counts as open,
	// and its first request leaves, once its handshake is done.
	TLS *tls.Config
	// UDPOffload lets a UDP flow's datagrams in flight leave as one
	// segmented send (loop.Config.PacketNoOffload false), as a bulk sender
	// would; by default each leaves on its own, as from independent
	// clients, so that the server sees what those would send.
	UDPOffload bool
	// IO is the generator's loop backend, loop.Config.Backend: "auto"
	// (also ""; the AIRSOCK_IO variable overrides it), "epoll", "kqueue"
	// or "io_uring".
	IO string
	// ReconnectEvery, when > 0, churns the connections: each sends this
	// many requests, closes itself once their replies are in (a close
	// that is no error), and a successor dialled as its last request
	// leaves takes over its share of the load (reconnect.go). 0: every
	// connection lasts the whole run.
	ReconnectEvery int
	// DialTimeout bounds each connect (default 10 s).
	DialTimeout time.Duration
	// DrainTimeout bounds the wait for replies still due after the end
	// (default 2 s). Requests unanswered by then are counted as lost, and
	// with Verify fail the run.
	DrainTimeout time.Duration
	// UDP runs the load over UDP (the echo protocol only): each of Conns
	// flows is its own connected datagram socket, keeping Depth datagrams
	// of Size bytes (at least 16: a header of flow, number and check
	// word) in flight, or sending its share of Rate. Every reply is
	// verified whatever Verify says; lost, reordered, duplicated, late and
	// corrupt datagrams are counted (Results), and a corrupt one fails the
	// run. Sources cannot be given.
	UDP bool
	// LossTimeout is how long a UDP datagram may take to come back before
	// it is counted lost and, closed loop, replaced (default 1 s).
	LossTimeout time.Duration
	// Progress, if set, is called every ProgressInterval (default 1 s) and
	// once more at the end, on the goroutine running Run.
	Progress func(*Snapshot)
	// ProgressInterval is the time between Progress calls.
	ProgressInterval time.Duration
}

// Bounds on what one run may ask for.
const (
	maxSize     = 16 << 20
	maxDepth    = 1 << 16
	maxInflight = 4096    // per connection in an open-loop run; see pace.go
	maxOutput   = 4 << 20 // bytes queued on a connection before an open-loop run holds back
)

// withDefaults returns c with defaults filled in, or an error naming the
// first field that is out of range.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		return c, errors.New("loadgen: no server address")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("loadgen: bad server address: %w", err)
	}
	if c.Proto == "" {
		c.Proto = "echo"
	}
	if c.Conns == 0 {
		c.Conns = 50
	}
	if c.Depth == 0 {
		c.Depth = 1
	}
	if c.Size == 0 {
		c.Size = 16
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.LossTimeout <= 0 {
		c.LossTimeout = time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 2 * time.Second
		if c.UDP { // what is still out at the end has the loss timeout to come back
			c.DrainTimeout = c.LossTimeout + c.expiryEvery() + 100*time.Millisecond
		}
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	switch {
	case c.Conns < 0:
		return c, fmt.Errorf("loadgen: connections %d < 1", c.Conns)
	case c.Depth < 0 || c.Depth > maxDepth:
		return c, fmt.Errorf("loadgen: depth %d not in 1..%d", c.Depth, maxDepth)
	case c.Size < 0 || c.Size > maxSize:
		return c, fmt.Errorf("loadgen: size %d not in 1..%d", c.Size, maxSize)
	case c.Duration < 0 || c.Warmup < 0:
		return c, errors.New("loadgen: negative duration or warmup")
	case c.Rate < 0 || c.ConnectRate < 0:
		return c, errors.New("loadgen: negative rate")
	case c.ReconnectEvery < 0:
		return c, errors.New("loadgen: negative reconnect count")
	}
	if c.UDP {
		switch {
		case c.Proto != "echo":
			return c, fmt.Errorf("loadgen: only the echo protocol runs over UDP, not %q", c.Proto)
		case c.Size < udpHeader || c.Size > maxDatagram:
			return c, fmt.Errorf("loadgen: a UDP datagram's size %d is not in %d..%d", c.Size, udpHeader, maxDatagram)
		case len(c.Sources) > 0:
			return c, errors.New("loadgen: UDP flows cannot be given source addresses")
		case c.ReconnectEvery > 0:
			return c, errors.New("loadgen: UDP flows have no connections to churn")
		}
		c.Verify = true
	}
	if !c.replies() && !c.openLoop() {
		return c, errors.New("loadgen: the discard protocol sends no replies: it needs an open-loop rate")
	}
	for _, s := range c.Sources {
		if net.ParseIP(s) == nil {
			return c, fmt.Errorf("loadgen: source %q is not an IP address", s)
		}
	}
	// Build one codec now so that a bad protocol or op fails here, not on a
	// loop.
	if _, err := c.codec(0); err != nil {
		return c, err
	}
	return c, nil
}

// codec returns the client codec of connection id.
func (c *Config) codec(id uint64) (proto.Client, error) {
	if c.Proto != "resp" && c.RESPOp != "" && c.RESPOp != "ping" {
		return nil, fmt.Errorf("loadgen: a RESP op (%q) needs the resp protocol", c.RESPOp)
	}
	return proto.NewClient(c.Proto, proto.ClientConfig{Conn: id, Size: c.Size, Verify: c.Verify, Op: c.RESPOp})
}

// replies reports whether the protocol answers each request.
func (c *Config) replies() bool { return c.Proto != "discard" }

// openLoop reports whether requests are paced by Rate.
func (c *Config) openLoop() bool { return c.Rate > 0 }
