package loop

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/proxyproto"
)

// The PROXY protocol on accepted connections: a balancer in front (HAProxy's
// send-proxy, send-proxy-v2; IPVS, Envoy, AWS NLB) opens each connection
// with a header that names the client, and RemoteAddr then gives the client
// instead of the balancer. The header is read on the loop, before OnOpen
// (and before a TLS handshake), in as many reads as it arrives in, bounded
// by Timeout and its size. A header lets its sender claim any address, so
// it is honoured only from Trusted networks.

// ProxyMode says whether accepted connections begin with a PROXY header.
type ProxyMode uint8

const (
	// ProxyOff reads no header: the first bytes are the client's.
	ProxyOff ProxyMode = iota
	// ProxyOptional takes a header from a trusted source when the first
	// bytes are one, and serves the connection as it is when they are not.
	// So OnOpen waits for the client's first bytes, or, when they are none
	// or only the start of a header's signature ("PR"), for Timeout: not for
	// protocols whose server speaks first. A header from an untrusted
	// source is refused.
	ProxyOptional
	// ProxyRequired refuses a connection from an untrusted source at once,
	// and one from a trusted source whose first bytes are not a header.
	ProxyRequired
)

// ProxyProtocol configures the PROXY protocol (v1 and v2) for the
// connections an engine's listeners accept (Config.ProxyProtocol).
type ProxyProtocol struct {
	Mode ProxyMode
	// Trusted are the networks whose connections may carry a header, like
	// nginx's set_real_ip_from. Default (nil): loopback, 127.0.0.0/8 and
	// ::1; an empty, non-nil list trusts no network. Unix-socket peers are
	// always trusted (they are on this host).
	Trusted []netip.Prefix
	// Timeout bounds the wait for a header's last byte. Default: 5 s.
	Timeout time.Duration
	// MaxV2Length bounds a v2 header's address and TLV block. Default:
	// proxyproto.DefaultMaxV2Length (4 KiB). v1 lines are at most 107 bytes.
	// While the header is awaited the connection's input may hold it even
	// where MaxInbound is smaller.
	MaxV2Length int
}

func (p *ProxyProtocol) withDefaults() {
	if p.Trusted == nil {
		p.Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	if p.MaxV2Length <= 0 {
		p.MaxV2Length = proxyproto.DefaultMaxV2Length
	}
}

var (
	// ErrProxyHeader is the close reason of a connection whose PROXY
	// header was malformed; the *proxyproto.SyntaxError is wrapped too.
	ErrProxyHeader = errors.New("loop: malformed PROXY header")
	// ErrProxyUntrusted is the close reason of a connection refused for a
	// PROXY header (or, with ProxyRequired, any connection) from a source
	// outside ProxyProtocol.Trusted.
	ErrProxyUntrusted = fmt.Errorf("loop: PROXY header from an untrusted source: %w", errLimit)
	// ErrProxyMissing is the close reason of a connection from a trusted
	// source that did not begin with a header under ProxyRequired.
	ErrProxyMissing = fmt.Errorf("loop: no PROXY header: %w", errLimit)
	// ErrProxyTimeout is the close reason of a connection whose header did
	// not arrive within ProxyProtocol.Timeout.
	ErrProxyTimeout error = &timeoutError{"PROXY header"}
)

// proxyWait is a connection's state while its header is awaited.
type proxyWait struct {
	cfg     *ProxyProtocol // its listener's
	trusted bool
	timer   *timer
}

// SetProxyProtocol makes the listener read PROXY headers as p says,
// instead of as the engine's Config.ProxyProtocol (a listener for the
// balancer beside one for direct clients, say). Call it before Serve; it
// fails with ErrClosed once the listener serves or has closed. Any
// goroutine.
func (ln *Listener) SetProxyProtocol(p ProxyProtocol) error {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.listening || ln.closed {
		return ErrClosed
	}
	if p.Mode != ProxyOff {
		p.withDefaults()
	}
	ln.proxy = &p
	return nil
}

// proxyProtocol is what the listener's connections read; set before any
// connection is accepted, so read without the lock.
func (ln *Listener) proxyProtocol() *ProxyProtocol {
	if ln.proxy != nil {
		return ln.proxy
	}
	return &ln.engine.cfg.ProxyProtocol
}

// ProxyHeader returns the PROXY header the connection began with, or nil.
// Its Source and Destination are what RemoteAddr and LocalAddr give (for a
// PROXY command over TCP; a LOCAL one, a balancer's health check, leaves
// the connection's own). Loop goroutine.
func (c *Conn) ProxyHeader() *proxyproto.Header {
	if c.ext == nil || c.ext.rare == nil {
		return nil
	}
	return c.ext.rare.proxyHeader
}

// startProxy makes an accepted connection wait for its header, or refuses
// it: called by open, which calls greet (OnOpen, or the TLS handshake) for
// connections that wait for none.
func (l *eventLoop) startProxy(c *Conn) bool {
	if !c.awaitingProxy() { // marked at accept: a dial's connection reads none
		return false
	}
	w := c.ext.rare.proxy
	p := w.cfg
	w.trusted = trustedPeer(c, p)
	if !w.trusted && p.Mode == ProxyRequired {
		l.counters.proxyRejected.inc()
		l.closeConn(c, ErrProxyUntrusted, true)
		return true
	}
	if need := 16 + p.MaxV2Length; need > c.in.Limit() {
		c.in.SetLimit(need) // the largest header fits whatever MaxInbound is; endProxy restores it
	}
	w.timer = newTimer(func() { l.proxyTimedOut(c) })
	l.timers.schedule(w.timer, now()+int64(p.Timeout))
	return true
}

// trustedPeer reports whether c's peer is in p.Trusted.
func trustedPeer(c *Conn, p *ProxyProtocol) bool {
	if c.family == unix.AF_UNIX {
		return true
	}
	ip := netip.AddrFrom16(c.raddr.ip).Unmap()
	for _, n := range p.Trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// readProxy reads what came of c's header into its ring and parses it.
func (l *eventLoop) readProxy(c *Conn) {
	a, b := c.in.Free(-1)
	if len(a) == 0 { // cannot be: startProxy made room for the largest header; never spin on it
		l.counters.proxyMalformed.inc()
		l.closeConn(c, fmt.Errorf("%w: longer than its room (%d bytes)", ErrProxyHeader, c.in.Len()), true)
		return
	}
	n, err := l.io.read(int(c.fd), a, b)
	c.in.Commit(n)
	if !l.took(c, n, err) {
		return
	}
	c.lastActivity = l.now
	l.parseProxy(c)
}

// parseProxy acts on the buffered start of c: a header, the first bytes
// of a connection without one, or not yet enough to tell.
func (l *eventLoop) parseProxy(c *Conn) {
	w := c.ext.rare.proxy
	h, n, err := proxyproto.ParseLimit(c.in.Contiguous(-1), w.cfg.MaxV2Length)
	var se *proxyproto.SyntaxError
	switch {
	case errors.Is(err, proxyproto.ErrTruncated):
		return // the timer bounds the wait
	case errors.As(err, &se) && notAHeader(se):
		if w.cfg.Mode == ProxyRequired {
			l.counters.proxyRejected.inc()
			l.closeConn(c, ErrProxyMissing, true)
			return
		}
	case err != nil:
		l.counters.proxyMalformed.inc()
		l.cfg.Logger.Debug("loop: malformed PROXY header", "remote", c.RemoteAddr().String(), "err", err)
		l.closeConn(c, fmt.Errorf("%w: %w", ErrProxyHeader, err), true)
		return
	case !w.trusted:
		l.counters.proxyRejected.inc()
		l.cfg.Logger.Debug("loop: PROXY header from an untrusted source", "remote", c.RemoteAddr().String())
		l.closeConn(c, ErrProxyUntrusted, true)
		return
	default:
		l.counters.proxyHeaders.inc()
		if proxiesTCP(&h) {
			c.raddr = sockAddrOfAddrPort(h.Source)
			c.laddr = sockAddrOfAddrPort(h.Destination)
		}
		c.ext.rare.proxyHeader = &h
		c.in.Discard(n)
	}
	l.endProxy(c)
}

// proxyTimedOut ends a wait that Timeout ended: the connection closes,
// unless, with ProxyOptional, all it sent is the start of a header's fixed
// signature ("PR", say): that may as well be a client's data, and is
// served as such.
func (l *eventLoop) proxyTimedOut(c *Conn) {
	if c.ext.rare.proxy.cfg.Mode == ProxyOptional && signaturePrefix(c.in.Contiguous(-1)) {
		l.endProxy(c)
		l.flush(c)
		return
	}
	l.closeConn(c, ErrProxyTimeout, true)
}

// signaturePrefix reports whether b is a strict start of "PROXY " or of
// v2's 12-byte signature (nothing buffered counts too: a client that sent
// nothing).
func signaturePrefix(b []byte) bool {
	const v1, v2 = "PROXY ", "\r\n\r\n\x00\r\nQUIT\n"
	return len(b) < len(v1) && v1[:len(b)] == string(b) || len(b) < len(v2) && v2[:len(b)] == string(b)
}

// notAHeader reports whether the bytes se refused differ from a header's
// fixed start ("PROXY " or v2's 12-byte signature): the client's own data.
func notAHeader(se *proxyproto.SyntaxError) bool {
	switch se.Version {
	case 1:
		return se.Offset < len("PROXY ")
	case 2:
		return se.Offset < 12
	}
	return true
}

// endProxy ends the wait and greets the connection, whose input may hold
// what the client sent after its header.
func (l *eventLoop) endProxy(c *Conn) {
	l.timers.stop(c.ext.rare.proxy.timer)
	c.ext.rare.proxy = nil
	c.in.SetLimit(l.baseInbound())
	if c.isTLS() && c.in.Len() > 0 {
		c.ext.tls.wire.feed(c.in.Contiguous(-1)) // the ClientHello's start
		c.in.Discard(-1)
	}
	c.resume = c.in.Len() > 0
	l.greet(c)
}

// sockAddrOfAddrPort converts a header's address.
func sockAddrOfAddrPort(ap netip.AddrPort) sockAddr {
	return sockAddr{ip: ap.Addr().As16(), port: ap.Port(), v6: ap.Addr().Is6() && !ap.Addr().Is4In6()}
}

// awaitingProxy reports whether c waits for its PROXY header.
func (c *Conn) awaitingProxy() bool {
	return c.ext != nil && c.ext.rare != nil && c.ext.rare.proxy != nil
}

// proxiesTCP reports whether h names a TCP client, whose addresses the
// connection takes.
func proxiesTCP(h *proxyproto.Header) bool {
	return h.Command == proxyproto.Proxy && (h.Transport == proxyproto.TCP4 || h.Transport == proxyproto.TCP6)
}

// proxiedTCP reports whether c's addresses are a PROXY header's TCP ones
// (over a unix socket too: HAProxy's send-proxy to a unix server). Set
// before OnOpen and not changed after, so any goroutine may ask then.
func (c *Conn) proxiedTCP() bool {
	h := c.ProxyHeader()
	return h != nil && proxiesTCP(h)
}
