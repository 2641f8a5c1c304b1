package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/airsock/airsock/internal/proto"
)

// gnetServer is the "gnet" backend: gnet v2 with one SO_REUSEPORT listener
// per loop on Linux, as the loop backend has. gnet.Conn is a proto.Stream
// as it is; it is wrapped only to count the bytes Serve writes, since gnet
// sends them at once.
type gnetServer struct {
	gnet.BuiltinEventEngine
	addr    *net.TCPAddr
	proto   proto.Server
	limits  Limits
	count   counters
	eng     gnet.Engine
	started chan struct{} // closed by the first OnTick: every loop is up
	done    chan struct{} // closed when Run has returned
	runErr  error         // Run's result, set before done is closed
}

// gnetStream is a connection's Stream, made once in OnOpen. Its fields
// belong to the connection's loop.
type gnetStream struct {
	gnet.Conn
	session   proto.Session
	out       int
	high, low int
	stopped   bool          // Writable said false: the session waits for the low mark
	armed     bool          // a resume check is scheduled
	backoff   time.Duration // the next check's delay
	timer     *time.Timer   // the scheduled check; stopped on close
	closed    atomic.Bool   // set in OnClose; read by the timer's goroutine
}

// Writable reports whether gnet's outbound buffer is below the high mark.
func (s *gnetStream) Writable() bool {
	if s.OutboundBuffered() < s.high {
		return true
	}
	s.stopped = true
	return false
}

// A stopped connection looks at whether its output has drained on a
// timer that wakes it: gnet reports no drain (and Wake from the loop itself
// would keep the loop from ever getting back to epoll_wait to drain it).
// The delay doubles while the peer does not read, so a connection that
// stopped reading costs little, and starts again short after each resume.
const (
	resumeCheckFirst = 200 * time.Microsecond
	resumeCheckMost  = 50 * time.Millisecond
)

// armResume schedules a Wake of a stopped connection; loop goroutine only.
func (s *gnetStream) armResume() {
	if s.armed || s.closed.Load() {
		return
	}
	s.armed = true
	s.backoff = min(max(2*s.backoff, resumeCheckFirst), resumeCheckMost)
	s.timer = time.AfterFunc(s.backoff, func() {
		if s.closed.Load() {
			return
		}
		s.Wake(func(gnet.Conn, error) error { // on the loop, after the woken OnTraffic
			s.armed = false
			if s.stopped {
				s.armResume()
			} else {
				s.backoff = 0
			}
			return nil
		})
	})
}

func (s *gnetStream) Write(p []byte) (int, error) {
	n, err := s.Conn.Write(p)
	s.out += n
	return n, err
}

func serveGnet(ctx context.Context, cfg Config) (Server, error) {
	if err := cfg.Limits.unbounded("gnet"); err != nil {
		return nil, err
	}
	addr, err := fixedPort(cfg.Addr, cfg.Limits.JoinReusePort)
	if err != nil {
		return nil, err
	}
	loops := cfg.Loops
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	s := &gnetServer{addr: addr, proto: cfg.Proto, limits: cfg.Limits, started: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.runErr = gnet.Run(s, "tcp://"+addr.String(),
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(loops),
			gnet.WithReusePort(runtime.GOOS == "linux"),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReadBufferCap(ReadBufferSize),
			gnet.WithTicker(true), // only to learn that start-up is complete
			gnet.WithLogger(quietLogger{"gnet"}),
		)
	}()
	select {
	case <-s.started:
		return s, nil
	case <-s.done:
		err := s.runErr
		if err == nil {
			err = errors.New("stopped at start-up")
		}
		return nil, fmt.Errorf("gnet: %w", err)
	case <-ctx.Done():
		// Run may still be starting: stop it once it has.
		go func() {
			select {
			case <-s.started:
				s.eng.Stop(context.Background())
			case <-s.done:
			}
		}()
		return nil, ctx.Err()
	}
}

// fixedPort resolves addr and, for port 0, picks a free port first: with
// SO_REUSEPORT gnet binds each loop's listener separately, and port 0 would
// give each loop a different one. A given port is probed first with a
// listener without SO_REUSEPORT, so that a port another process serves is
// refused ("address already in use") instead of silently shared, unless
// join is set.
func fixedPort(addr string, join bool) (*net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	if ta.Port != 0 {
		if !join {
			probe, err := net.ListenTCP("tcp", ta)
			if err != nil {
				return nil, err
			}
			probe.Close()
		}
		return ta, nil
	}
	ln, err := net.ListenTCP("tcp", ta)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr), nil
}

// OnBoot keeps the engine for Shutdown; it runs on gnet.Run's goroutine.
func (s *gnetServer) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	return gnet.None
}

// OnTick first runs once every loop is started, and then never again in
// practice; it runs on gnet's ticker goroutine.
func (s *gnetServer) OnTick() (time.Duration, gnet.Action) {
	select {
	case <-s.started:
	default:
		close(s.started)
	}
	return 24 * time.Hour, gnet.None
}

// OnOpen gives the connection its Stream; it runs on the connection's loop.
func (s *gnetServer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	high, low := s.limits.marks()
	c.SetContext(&gnetStream{Conn: c, session: s.proto.NewSession(), high: high, low: low})
	s.count.opened()
	return nil, gnet.None
}

// OnTraffic serves what arrived; an error closes the connection, which gnet
// does after sending what is still buffered. It runs on the connection's
// loop.
func (s *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*gnetStream)
	if !st.stopped && c.OutboundBuffered() >= st.high {
		st.stopped = true // gnet reads on regardless: new requests wait too
	}
	if st.stopped {
		if c.OutboundBuffered() > st.low {
			st.armResume()
			return gnet.None // new input waits too
		}
		st.stopped = false
	}
	st.out = 0
	in := c.InboundBuffered()
	err := st.session.Serve(st)
	s.count.add(c.Fd(), in-c.InboundBuffered(), st.out)
	if err != nil {
		return gnet.Close
	}
	if st.stopped {
		st.armResume()
	}
	return gnet.None
}

// OnClose counts the connection gone; it runs on the connection's loop.
func (s *gnetServer) OnClose(c gnet.Conn, _ error) gnet.Action {
	if st, ok := c.Context().(*gnetStream); ok {
		st.closed.Store(true)
		if st.timer != nil {
			st.timer.Stop()
		}
	}
	s.count.closed()
	return gnet.None
}

func (s *gnetServer) Addr() net.Addr { return s.addr }

func (s *gnetServer) Stats() Stats { return s.count.stats() }

// Shutdown asks gnet to stop and waits for Run to return. gnet.Engine.Stop
// only polls for the end every 500 ms, so the wait is on Run itself and
// Stop is released when Run has returned. (The package-level gnet.Stop is
// deprecated in favour of Engine.Stop.)
func (s *gnetServer) Shutdown(ctx context.Context) error {
	stopCtx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.eng.Stop(stopCtx) // fails harmlessly if already stopped
	}()
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		// gnet has no harder stop; it closes its connections itself.
		<-s.done
		err = ctx.Err()
	}
	cancel()
	<-stopped
	if err == nil {
		err = s.runErr
	}
	return err
}

// quietLogger passes a peer library's warnings and errors to slog, headed
// by its name, and drops its debug and info lines (gnet's and nbio's
// default loggers print to stdout). It serves gnet's logging interface
// (the ...f methods) and nbio's (the others), from any goroutine.
type quietLogger struct{ name string }

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (l quietLogger) Warnf(format string, args ...any) {
	slog.Warn(l.name + ": " + fmt.Sprintf(format, args...))
}
func (l quietLogger) Errorf(format string, args ...any) {
	slog.Error(l.name + ": " + fmt.Sprintf(format, args...))
}
func (l quietLogger) Fatalf(format string, args ...any) {
	slog.Error(l.name + ": fatal: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Debug(string, ...any)               {}
func (quietLogger) Info(string, ...any)                {}
func (l quietLogger) Warn(format string, args ...any)  { l.Warnf(format, args...) }
func (l quietLogger) Error(format string, args ...any) { l.Errorf(format, args...) }

// ProcessGoroutines names the top functions of goroutines that gnet's
// dependencies start when the package is initialised and keep for the life
// of the process (ants' default pool). Leak checks in tests ignore them.
var ProcessGoroutines = []string{
	"github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers",
	"github.com/panjf2000/ants/v2.(*poolCommon).ticktock",
}
