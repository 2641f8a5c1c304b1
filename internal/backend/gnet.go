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
	gnetEngine
	proto  proto.Server
	limits Limits
	count  counters
}

// gnetEngine is what the gnet servers (TCP here, UDP in udp_gnet.go)
// share: gnet.Run on its own goroutine, its start-up and its Shutdown.
type gnetEngine struct {
	gnet.BuiltinEventEngine
	addr    net.Addr
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
	s := &gnetServer{proto: cfg.Proto, limits: cfg.Limits}
	err := s.run(ctx, s, "tcp", cfg, gnet.WithTCPNoDelay(gnet.TCPNoDelay))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// run starts gnet.Run serving h on network ("tcp", "udp") at cfg.Addr
// with cfg.Loops loops and opts, and returns once every loop is up. The
// options every gnet server has are set here.
func (g *gnetEngine) run(ctx context.Context, h gnet.EventHandler, network string, cfg Config, opts ...gnet.Option) error {
	addr, err := fixedPort(network, cfg.Addr, cfg.Limits.JoinReusePort)
	if err != nil {
		return err
	}
	loops := cfg.Loops
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	g.addr, g.started, g.done = addr, make(chan struct{}), make(chan struct{})
	opts = append(opts,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(loops),
		gnet.WithReusePort(runtime.GOOS == "linux"),
		gnet.WithReadBufferCap(ReadBufferSize),
		gnet.WithTicker(true), // only to learn that start-up is complete
		gnet.WithLogger(quietLogger{"gnet"}),
	)
	go func() {
		defer close(g.done)
		g.runErr = gnet.Run(h, network+"://"+addr.String(), opts...)
	}()
	select {
	case <-g.started:
		return nil
	case <-g.done:
		err := g.runErr
		if err == nil {
			err = errors.New("stopped at start-up")
		}
		return fmt.Errorf("gnet: %w", err)
	case <-ctx.Done():
		// Run may still be starting: stop it once it has.
		go func() {
			select {
			case <-g.started:
				g.eng.Stop(context.Background())
			case <-g.done:
			}
		}()
		return ctx.Err()
	}
}

// fixedPort resolves addr on network ("tcp", "udp") and, for port 0,
// picks a free port first: with SO_REUSEPORT gnet binds each loop's socket
// separately (and the net backend's UDP sockets are bound one by one), and
// port 0 would give each a different one. A given port is probed first
// with a socket without SO_REUSEPORT, so that a port another process
// serves is refused ("address already in use") instead of silently
// shared, unless join is set.
func fixedPort(network, addr string, join bool) (net.Addr, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if join && port != "0" {
		if network == "udp" {
			return net.ResolveUDPAddr(network, addr)
		}
		return net.ResolveTCPAddr(network, addr)
	}
	if network == "udp" {
		probe, err := net.ListenPacket(network, addr)
		if err != nil {
			return nil, err
		}
		defer probe.Close()
		return probe.LocalAddr(), nil
	}
	probe, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	defer probe.Close()
	return probe.Addr(), nil
}

// OnBoot keeps the engine for Shutdown; it runs on gnet.Run's goroutine.
func (g *gnetEngine) OnBoot(eng gnet.Engine) gnet.Action {
	g.eng = eng
	return gnet.None
}

// OnTick first runs once every loop is started, and then never again in
// practice; it runs on gnet's ticker goroutine.
func (g *gnetEngine) OnTick() (time.Duration, gnet.Action) {
	select {
	case <-g.started:
	default:
		close(g.started)
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

func (g *gnetEngine) Addr() net.Addr { return g.addr }

func (s *gnetServer) Stats() Stats { return s.count.stats() }

// Shutdown asks gnet to stop and waits for Run to return. gnet.Engine.Stop
// only polls for the end every 500 ms, so the wait is on Run itself and
// Stop is released when Run has returned. (The package-level gnet.Stop is
// deprecated in favour of Engine.Stop.)
func (g *gnetEngine) Shutdown(ctx context.Context) error {
	stopCtx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		g.eng.Stop(stopCtx) // fails harmlessly if already stopped
	}()
	var err error
	select {
	case <-g.done:
	case <-ctx.Done():
		// gnet has no harder stop; it closes its connections itself.
		<-g.done
		err = ctx.Err()
	}
	cancel()
	<-stopped
	if err == nil {
		err = g.runErr
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
