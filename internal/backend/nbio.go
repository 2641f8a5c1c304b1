//go:build linux || darwin || freebsd

package backend

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/proto"
)

// nbio builds only where it has a poller (its kqueue code needs
// EVFILT_USER, which Go's syscall lacks on NetBSD, OpenBSD and DragonFly); it joins
// the backends map from here, at initialisation.
func init() { backends["nbio"] = serveNbio }

// nbioServer is the "nbio" backend: github.com/lesismal/nbio in its
// fastest mode for this work: level-triggered epoll (kqueue on the BSDs),
// Config.Loops pollers that read into one ReadBufferSize buffer each and run
// the protocol inline (no goroutine pool, no goroutine per connection), and
// nbio's single accepting goroutine handing connections to the pollers.
//
// nbio hands OnData the poller's buffer, valid for that call only: the
// protocol runs over it in place and only a partial request left over is
// copied into the connection's own buffer (nbioStream.in). nbio writes at
// once and keeps what the kernel does not take; its OnWrittenSize hook
// reports each write, from which the stream keeps its pending output for
// the marks.
type nbioServer struct {
	engine    *nbio.Engine
	addr      net.Addr
	proto     proto.Server
	high, low int
	count     counters
	stopOnce  sync.Once
	stopped   chan struct{} // closed when engine.Stop has returned
	begun     time.Time     // when start-up saw every goroutine begin
}

// nbioStream is one connection as a proto.Stream, made in OnOpen. The
// session runs on the connection's poller, and, to resume after the
// output drained (which nbio reports inside its write lock, where no write
// may be made), on nbio's Async goroutine: mu serialises the two. The
// atomics are also read by OnWrittenSize, under nbio's write lock, which
// must not take mu (Serve holds mu while it writes).
type nbioStream struct {
	mu      sync.Mutex
	c       *nbio.Conn
	srv     *nbioServer
	session proto.Session
	in      []byte // input kept between reads (in[inR:]): a partial request, or all of it while stopped
	inR     int    // bytes of in consumed; compacted away when they are half of it
	buf     []byte // the input Serve sees: in, or the poller's buffer during OnData
	r       int    // bytes of buf consumed
	out     int    // bytes Serve wrote in this call
	stopped bool   // Writable said false: the session waits for the low mark
	failed  bool   // Serve failed: input is dropped until the close

	pending atomic.Int64 // bytes written but not yet taken by the kernel
	waiting atomic.Bool  // stopped: the write that drains to the low mark resumes it
	closing atomic.Bool  // failed with output pending: the write that drains it closes
}

// nbioSetup quiets nbio's package-wide logger (it prints its start and
// stop lines to stdout) and sizes its table of connections, before the
// first engine starts.
var nbioSetup sync.Once

// setupNbio is nbioSetup's work. Each engine indexes its connections by
// descriptor in a slice of nbio.MaxOpenFiles pointers (2M by default: 16
// MiB that every GC cycle scans); no descriptor reaches the process's
// limit, so that is the size asked for (nbio exports the variable for it).
func setupNbio() {
	logging.SetLogger(nbioLogger{quietLogger{"nbio"}})
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		if cur := int64(lim.Cur); cur > 0 && cur < int64(nbio.MaxOpenFiles) { // RLIM_INFINITY is -1 here
			nbio.MaxOpenFiles = int(cur)
		}
	}
}

// nbio's pollers and its acceptor clear their stop flag when their
// goroutine begins, so an Engine.Stop that comes first is lost: the
// acceptor then spins on its closed listener and a poller on its undrained
// eventfd, and Stop waits for ever. Start-up therefore waits until each has
// begun: the acceptor's first Accept (after it cleared its flag), and each
// poller's "start" debug line, which it logs just before it allocates its
// event array and clears the flag. Nothing signals that last step, and a
// poller descheduled there (the race detector, both cores busy) hung
// Shutdown once in about 300 starts, so Shutdown also lets nbioSettle pass
// since start-up before it stops the engine: only a Shutdown right after
// the start waits. nbioBegun maps an engine's name to the channel those
// signals go to while it starts.
var (
	nbioBegun   sync.Map // engine name -> chan struct{}
	nbioEngines atomic.Int64
)

const nbioSettle = 100 * time.Millisecond

// nbioLogger is quietLogger, also passing on the pollers' start lines.
type nbioLogger struct{ quietLogger }

// Debug signals a poller's start to its engine's start-up; any goroutine.
func (nbioLogger) Debug(format string, args ...any) {
	if format != "NBIO[%v][%v_%v] start" || len(args) != 3 || args[1] != "POLLER" {
		return
	}
	if ch, ok := nbioBegun.Load(args[0]); ok {
		ch.(chan struct{}) <- struct{}{}
	}
}

// nbioListener signals the acceptor's first Accept to start-up, and
// converts each accepted connection to nbio's itself, close-on-exec.
type nbioListener struct {
	net.Listener
	begun chan<- struct{}
	once  sync.Once
}

// Accept is the listener's, on nbio's acceptor goroutine. nbio takes an
// accepted connection over with a dup(2) of its descriptor, without
// FD_CLOEXEC, and closes a connection's descriptor without removing it
// from its epoll set first: a process started meanwhile (the tests run
// redis-cli and openssl from this process) inherits the socket, its epoll
// registration outlives nbio's close, and the stale end-of-file events,
// reported under the descriptor's number, close whichever connection has
// that number next (TestRedisTools failed so). The dup is therefore done
// here, under syscall.ForkLock as Go's own descriptors are made, and
// marked close-on-exec before any fork can copy it; nbio keeps a
// connection that is already its own as it is.
func (l *nbioListener) Accept() (net.Conn, error) {
	l.once.Do(func() { l.begun <- struct{}{} })
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	c, err := nbio.NBConn(conn) // closes conn, the original descriptor
	if err != nil {
		conn.Close()
		return nil, err
	}
	unix.CloseOnExec(c.Hash()) // Hash is the descriptor
	return c, nil
}

// serveNbio starts the nbio backend; it returns once nbio listens and its
// goroutines have begun (ctx bounds the wait).
func serveNbio(ctx context.Context, cfg Config) (Server, error) {
	if err := cfg.Limits.unbounded("nbio"); err != nil {
		return nil, err
	}
	nbioSetup.Do(setupNbio)
	loops := cfg.Loops
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	name := fmt.Sprintf("airsock-%d", nbioEngines.Add(1))
	begun := make(chan struct{}, loops+1) // the pollers' and the acceptor's signals
	nbioBegun.Store(name, begun)
	var lc net.ListenConfig
	if cfg.Limits.JoinReusePort {
		lc.Control = setReusePort
	}
	srv := &nbioServer{proto: cfg.Proto, stopped: make(chan struct{})}
	srv.high, srv.low = cfg.Limits.marks()
	srv.engine = nbio.NewEngine(nbio.Config{
		Name:           name,
		Network:        "tcp",
		Addrs:          []string{cfg.Addr},
		NPoller:        loops,
		ReadBufferSize: ReadBufferSize,
		EpollMod:       nbio.EPOLLLT,
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := lc.Listen(context.Background(), network, addr)
			if err != nil {
				return nil, err
			}
			srv.addr = ln.Addr()
			return &nbioListener{Listener: ln, begun: begun}, nil
		},
	})
	if cfg.TLS != nil {
		srv.serveNbioTLS(cfg.TLS)
	} else {
		srv.engine.OnOpen(srv.onOpen)
		srv.engine.OnData(srv.onData)
		srv.engine.OnWrittenSize(srv.onWritten)
		srv.engine.OnClose(func(*nbio.Conn, error) { srv.count.closed() })
	}
	if err := srv.engine.Start(); err != nil {
		nbioBegun.Delete(name)
		return nil, fmt.Errorf("nbio: %w", err)
	}
	for got := 0; got < loops+1; got++ {
		select {
		case <-begun:
		case <-ctx.Done():
			go func() { // stop it once it can be stopped
				for ; got < loops+1; got++ {
					<-begun
				}
				nbioBegun.Delete(name)
				srv.begun = time.Now()
				srv.Shutdown(context.Background())
			}()
			return nil, ctx.Err()
		}
	}
	nbioBegun.Delete(name)
	srv.begun = time.Now()
	return srv, nil
}

// onOpen counts the connection and gives it its stream; it runs on nbio's
// accepting goroutine, before the connection reaches its poller. The
// stream is made under its lock, which the poller takes before it reads
// it: nbio's hand-over (epoll_ctl) is no synchronisation the race
// detector sees.
func (s *nbioServer) onOpen(c *nbio.Conn) {
	c.SetNoDelay(true) // Go's default for the accepted socket, stated for fairness
	st := new(nbioStream)
	st.mu.Lock()
	st.c, st.srv, st.session = c, s, s.proto.NewSession()
	c.SetSession(st)
	st.mu.Unlock()
	s.count.opened()
}

// onData serves what arrived; it runs on the connection's poller.
func (s *nbioServer) onData(c *nbio.Conn, data []byte) {
	st := c.Session().(*nbioStream)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failed {
		return
	}
	inPlace := st.inR == len(st.in)
	if inPlace {
		st.buf, st.r = data, 0
	} else {
		if st.inR > 0 && st.inR >= len(st.in)/2 {
			st.in, st.inR = st.in[:copy(st.in, st.in[st.inR:])], 0
		}
		st.in = append(st.in, data...)
		st.buf, st.r = st.in, st.inR
	}
	if !st.stopped {
		st.run()
	}
	st.keep(inPlace)
}

// onWritten follows each write nbio makes for a connection, on whichever
// goroutine made it, with nbio's write lock held: it only moves the pending
// count and hands a resume or a close to nbio's Async goroutine.
func (s *nbioServer) onWritten(c *nbio.Conn, _ []byte, n int) {
	st, _ := c.Session().(*nbioStream)
	if st == nil {
		return
	}
	left := st.pending.Add(-int64(n))
	if left <= int64(s.low) && st.waiting.Load() && st.waiting.CompareAndSwap(true, false) {
		s.engine.Async(st.resume)
	}
	if left == 0 && st.closing.Load() && st.closing.CompareAndSwap(true, false) {
		s.engine.Async(func() { c.Close() })
	}
}

// run serves the input in buf, again as long as the output drains below
// the low mark before anyone could be told to resume it. It is called with
// mu held.
func (st *nbioStream) run() {
	for {
		st.stopped = false
		in := len(st.buf) - st.r
		st.out = 0
		err := st.session.Serve(st)
		st.srv.count.add(st.c.Hash(), in-(len(st.buf)-st.r), st.out)
		if err != nil {
			st.fail()
			return
		}
		if !st.stopped {
			return
		}
		st.waiting.Store(true)
		if st.pending.Load() > int64(st.srv.low) || !st.waiting.CompareAndSwap(true, false) {
			return // onWritten resumes it
		}
	}
}

// resume goes on with a stopped session once its output has drained to the
// low mark; it runs on nbio's Async goroutine.
func (st *nbioStream) resume() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failed || !st.stopped {
		return
	}
	st.buf, st.r = st.in, st.inR
	st.run()
	st.keep(false)
}

// keep records what Serve left of buf (with mu held). buf is in itself
// unless inPlace, when it is the poller's buffer and the rest is copied.
func (st *nbioStream) keep(inPlace bool) {
	if inPlace {
		st.in, st.inR = append(st.in[:0], st.buf[st.r:]...), 0
	} else {
		st.inR = st.r
	}
	if st.inR == len(st.in) {
		st.in, st.inR = st.in[:0], 0
		if cap(st.in) > 4*ReadBufferSize {
			st.in = nil // one huge request, or a long stop, grew it
		}
	}
	st.buf, st.r = nil, 0
}

// fail closes the connection after a protocol error, once the replies
// already written have gone (with mu held, on the session's goroutine).
func (st *nbioStream) fail() {
	st.failed = true
	st.closing.Store(true)
	if st.pending.Load() == 0 && st.closing.CompareAndSwap(true, false) {
		st.c.Close()
	}
}

// Writable reports whether the pending output is below the high mark; the
// session calls it with mu held.
func (st *nbioStream) Writable() bool {
	if st.pending.Load() < int64(st.srv.high) {
		return true
	}
	st.stopped = true
	return false
}

// InboundBuffered, Peek and Discard are proto.Stream's over buf, called
// by the session with mu held.
func (st *nbioStream) InboundBuffered() int { return len(st.buf) - st.r }

func (st *nbioStream) RemoteAddr() net.Addr { return st.c.RemoteAddr() }
func (st *nbioStream) LocalAddr() net.Addr  { return st.c.LocalAddr() }

func (st *nbioStream) Peek(n int) ([]byte, error) {
	avail := len(st.buf) - st.r
	if n <= 0 {
		n = avail
	}
	if n > avail {
		return nil, io.ErrShortBuffer
	}
	return st.buf[st.r : st.r+n], nil
}

func (st *nbioStream) Discard(n int) (int, error) {
	if avail := len(st.buf) - st.r; n <= 0 || n > avail {
		n = avail
	}
	st.r += n
	return n, nil
}

// Write (the session's, with mu held) hands p to nbio, which writes it at once and keeps what the kernel
// does not take. The pending count grows first: nbio reports the write
// (onWritten) before it returns.
func (st *nbioStream) Write(p []byte) (int, error) {
	st.pending.Add(int64(len(p)))
	n, err := st.c.Write(p)
	if err != nil {
		st.pending.Add(-int64(len(p)))
		return 0, err
	}
	st.out += n
	return n, nil
}

// Addr returns the address nbio bound; any goroutine.
func (s *nbioServer) Addr() net.Addr { return s.addr }

// Stats returns the counters; any goroutine.
func (s *nbioServer) Stats() Stats { return s.count.stats() }

// Shutdown, from any goroutine, stops nbio (Engine.Stop: the listener, then every connection,
// then the pollers) and waits for it even if ctx ends first, then
// returning ctx.Err(). nbio closes each connection at once: output it still
// holds because the kernel had no room is dropped, as with gnet.
func (s *nbioServer) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		go func() {
			time.Sleep(time.Until(s.begun.Add(nbioSettle))) // see nbioBegun
			s.engine.Stop()
			close(s.stopped)
		}()
	})
	select {
	case <-s.stopped:
		return nil
	case <-ctx.Done():
		<-s.stopped
		return ctx.Err()
	}
}

// setReusePort sets SO_REUSEPORT on a listening socket before its bind, to
// join a port another process serves (Limits.JoinReusePort).
func setReusePort(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) }); err != nil {
		return err
	}
	return serr
}
