package loop

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Listener is a bound (and, after Serve, listening) socket of an Engine.
// With SO_REUSEPORT (the Linux default) it is one socket per loop, each
// accepting for its own loop, plus a guard socket that never listens and
// keeps other engines and processes from sharing the port by accident (see
// bindGuard); otherwise one socket whose loop hands each new connection to
// the loop with the fewest. Its methods are safe from any goroutine.
type Listener struct {
	engine  *Engine
	network string
	addr    net.Addr
	local   sockAddr // addr, for accepted connections (zero for unix)
	path    string   // unix socket file to remove on Close
	guard   int      // the guard descriptor of a per-loop group, or -1

	// exclusive: the one socket was bound by bindExclusive, without
	// SO_REUSEADDR, which Serve sets before listening.
	exclusive bool
	// shared: another process may hold these sockets too (FileListener,
	// Files), so closing must neither end their listening state nor
	// remove the unix socket file (listener_file.go).
	shared atomic.Bool

	mu        sync.Mutex
	fds       []*listenFD
	listening bool
	closed    bool
	tls       *tls.Config    // ServeTLS: every connection is a TLS server side
	proxy     *ProxyProtocol // SetProxyProtocol's; nil: the engine's Config.ProxyProtocol
}

// listenFD is one listening descriptor and the loop that accepts on it.
type listenFD struct {
	ln      *Listener
	loop    *eventLoop
	handler Handler

	// mu is held while accepting and while closing, so that Close on
	// another goroutine never closes the descriptor under an accept.
	mu      sync.Mutex
	fd      int
	closed  bool
	watched bool // the backend takes connections on it
	// released is closed when the backend's accept in flight has ended
	// (io_uring), set by its listen under mu; nil when nothing was armed.
	released chan struct{}
	backoff  time.Duration
	retry    *timer
	stopping bool // Close is draining it: never watched again (listener_drain.go)
}

// Bind creates the listening socket(s) and binds them to address, without
// listening yet: the port is taken (port 0 picks a free one, which Addr
// reports) and Serve starts accepting. Networks: tcp, tcp4, tcp6, unix.
// As with package net, ":port" and "[::]:port" on tcp take IPv4 and IPv6
// clients on one socket; tcp6 and other IPv6 addresses take IPv6 only.
//
// A port that another socket holds (another listener of this engine,
// another engine, another process; with SO_REUSEPORT or without) is refused
// as package net refuses it: the error is an *os.SyscallError "bind: address
// already in use" wrapping EADDRINUSE. The loops of one engine share their
// port and nobody else does unless asked to; from Bind on, before Serve too,
// neither package net nor another engine can bind it. With
// Config.JoinReusePort, Bind instead sets SO_REUSEPORT and joins a port whose
// holders set SO_REUSEPORT too (another engine or process, not this engine),
// and the kernel shares the connections among them (Linux spreads them over
// all the sockets; elsewhere the kernel picks the socket). Safe from any
// goroutine.
func (e *Engine) Bind(network, address string) (*Listener, error) {
	e.lifeMu.RLock()
	defer e.lifeMu.RUnlock()
	if e.closed.Load() {
		return nil, ErrClosed
	}
	ep, err := resolve(network, address)
	if err != nil {
		return nil, err
	}
	ln := &Listener{engine: e, network: network, path: ep.path, guard: -1}
	inet := ep.family != unix.AF_UNIX
	// Only Linux spreads a port's connections over its SO_REUSEPORT
	// sockets, so only there does each loop get a socket of its own.
	perLoop := inet && runtime.GOOS == "linux" && !e.cfg.NoReusePort
	join := inet && e.cfg.JoinReusePort
	n := 1
	if perLoop {
		n = len(e.loops)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// The kernel would let a joining listener share a port with this
	// engine's own; JoinReusePort is for joining others.
	if port := portOf(ep.sa); port != 0 && e.ports[port] {
		return nil, os.NewSyscallError("bind", unix.EADDRINUSE)
	}
	if perLoop && !join {
		// The SO_REUSEPORT sockets below could join anybody's group of
		// them: the guard refuses a held port first (the probe), holds it
		// without a gap until they are bound, and then keeps every socket
		// without SO_REUSEPORT out. With port 0 it picks the port, which
		// nobody else can know yet.
		g, err := bindGuard(ep)
		if err != nil {
			return nil, err
		}
		ln.guard = g
		setPort(ep.sa, portOf(sockaddrOf(g)))
	}
	// Without a group and without JoinReusePort, the one socket has no
	// SO_REUSEPORT, so the kernel itself refuses a held port once it
	// listens. The BSDs and macOS refuse it from the bind on; Linux lets a
	// socket with SO_REUSEADDR share a port with one that does not listen
	// yet, so there the socket does without SO_REUSEADDR until Serve.
	exclusive := inet && runtime.GOOS == "linux" && !perLoop && !join
	for i := 0; i < n; i++ {
		var fd int
		var err error
		if exclusive {
			fd, err = bindExclusive(ep)
			ln.exclusive = true
		} else {
			fd, err = bindSocket(ep, perLoop || join)
		}
		if err != nil {
			ln.closeFDs()
			return nil, err
		}
		if i == 0 {
			ln.local = sockAddrOf(sockaddrOf(fd))
			ln.addr = sockName(fd)
			if ln.addr == nil {
				ln.addr = toAddr(ep.sa)
			}
			// The other sockets of the group join the port the first got.
			setPort(ep.sa, portOf(sockaddrOf(fd)))
		}
		ln.fds = append(ln.fds, &listenFD{ln: ln, fd: fd})
	}
	if port := portOf(ep.sa); port != 0 && ep.family != unix.AF_UNIX {
		e.ports[port] = true
	}
	e.listeners[ln] = struct{}{}
	return ln, nil
}

// Listen binds address and starts serving it with h: Bind then Serve with
// the system's maximum backlog. Safe from any goroutine.
func (e *Engine) Listen(network, address string, h Handler) (*Listener, error) {
	ln, err := e.Bind(network, address)
	if err != nil {
		return nil, err
	}
	if err := ln.Serve(h, 0); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Serve starts listening with the given backlog (<= 0: the system maximum,
// somaxconn) and accepting connections for h. It returns at once; OnOpen
// runs on a loop for each connection. Serving twice or after Close is an
// error.
func (ln *Listener) Serve(h Handler, backlog int) error {
	if backlog <= 0 {
		backlog = maxBacklog()
	}
	e := ln.engine
	e.lifeMu.RLock()
	defer e.lifeMu.RUnlock()
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed || e.closed.Load() {
		return ErrClosed
	}
	if ln.listening {
		return errors.New("loop: listener already serving")
	}
	for _, lf := range ln.fds {
		if ln.exclusive {
			// Accepted connections inherit SO_REUSEADDR, and the next
			// server's bind needs it on their TIME_WAIT.
			if err := setReuse(lf.fd, unix.SO_REUSEADDR, true); err != nil {
				return err
			}
		}
		if acceptedInheritNoDelay && ln.path == "" && !e.cfg.Nagle {
			if err := setNoDelay(lf.fd, unix.AF_INET, true); err != nil {
				return err
			}
		}
		if err := listenOn(lf.fd, backlog); err != nil {
			return err
		}
	}
	ln.listening = true
	for i, lf := range ln.fds {
		lf.handler = h
		if len(ln.fds) > 1 {
			// An adopted group (FileListener) may have more sockets
			// than the engine has loops.
			lf.loop = ln.engine.loops[i%len(ln.engine.loops)]
		} else {
			lf.loop = ln.engine.pickLoop()
		}
		lf := lf
		lf.loop.submit(task{kind: taskFunc, fn: func() { lf.loop.adoptListener(lf) }})
	}
	return nil
}

// Addr returns the bound address: with port 0, the port the system chose.
func (ln *Listener) Addr() net.Addr { return ln.addr }

// Close stops listening and frees the address at once (the port can be
// bound again when Close returns). Connections already accepted live on,
// and so do those the kernel had queued for the listener: Close accepts
// them before it closes, where closing would reset them
// (listener_drain.go). A listener whose sockets another process shares
// (FileListener, Files) only lets go of them: they go on listening there.
// Closing twice returns ErrClosed.
func (ln *Listener) Close() error {
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return ErrClosed
	}
	ln.closed = true
	ln.stopAccepting()
	ln.closeFDs()
	ln.mu.Unlock()
	e := ln.engine
	e.mu.Lock()
	delete(e.listeners, ln)
	if a, ok := ln.addr.(*net.TCPAddr); ok && a.Port != 0 {
		delete(e.ports, a.Port)
	}
	e.mu.Unlock()
	if ln.path != "" && ln.path[0] != '@' && !ln.shared.Load() {
		os.Remove(ln.path)
	}
	return nil
}

// closeFDs closes every descriptor of ln; ln.mu is held, or ln is not
// shared yet.
func (ln *Listener) closeFDs() {
	for _, lf := range ln.fds {
		lf.closeFD()
		if l := lf.loop; l != nil {
			l.submit(task{kind: taskFunc, fn: func() { l.dropListener(lf) }})
		}
	}
	// The guard goes last: a socket of the group that is bound but not
	// listening would let a newcomer's probe through.
	if ln.guard >= 0 {
		unix.Close(ln.guard)
		ln.guard = -1
	}
}

// dropListener forgets a closed listening descriptor.
func (l *eventLoop) dropListener(lf *listenFD) {
	l.io.forget(lf)
	if lf.fd < len(l.fds) && l.fds[lf.fd] == fdHandler(lf) {
		l.fds[lf.fd] = nil
	}
	for i, x := range l.listeners {
		if x == lf {
			l.listeners = append(l.listeners[:i], l.listeners[i+1:]...)
			break
		}
	}
}

// closeFD stops watching and closes one listening descriptor; safe from any
// goroutine, and idempotent. It returns once the backend holds the socket
// no more, so that the port is free, waiting at most a second for a loop
// busy in a handler. On a loop goroutine of the engine, where waiting would
// stall that loop (and two loops could wait for each other), it does not
// wait: the port is free once the listener's loop ends its turn.
func (lf *listenFD) closeFD() {
	lf.mu.Lock()
	if lf.closed {
		lf.mu.Unlock()
		return
	}
	lf.closed = true
	var released <-chan struct{}
	if lf.loop != nil {
		released = lf.loop.io.unlisten(lf)
	}
	lf.watched = false
	unix.Close(lf.fd)
	lf.mu.Unlock()
	if released != nil && !lf.loop.engine.onLoopThread() {
		select {
		case <-released:
		case <-time.After(time.Second): // a loop stuck in a handler: do not hang with it
		}
	}
}

// adoptListener puts lf in l's descriptor table and starts watching it.
func (l *eventLoop) adoptListener(lf *listenFD) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return
	}
	for lf.fd >= len(l.fds) {
		l.fds = append(l.fds, make([]fdHandler, len(l.fds))...)
	}
	l.fds[lf.fd] = lf
	l.listeners = append(l.listeners, lf)
	lf.watch()
}

// watch (re)registers lf for accepting; lf.mu must be held.
func (lf *listenFD) watch() {
	if lf.closed || lf.watched || lf.stopping {
		return
	}
	if err := lf.loop.io.listen(lf, true); err != nil {
		lf.loop.cfg.Logger.Error("loop: cannot watch listener", "addr", lf.ln.addr, "err", err)
		return
	}
	lf.watched = true
}

// unwatch stops accepting on lf for now; lf.mu must be held.
func (lf *listenFD) unwatch() {
	if lf.watched {
		lf.loop.io.listen(lf, false)
		lf.watched = false
	}
}
