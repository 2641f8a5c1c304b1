package benchmatrix

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// The idle client of the memory scenario (`airsock bench idle`): it holds
// many connections open and, when told, makes one short echo on each, so
// that the matrix can read the server's memory in between. It talks to the
// matrix over its standard streams: it prints "open N" once all N are open,
// answers a line "echo" on stdin with "echoed N" once every echo came back
// intact, and closes everything at the end of stdin.

// idleEchoSize is the size of the one echo made on each idle connection.
const idleEchoSize = 16

// dialWindow bounds the connects in flight, so that the server's accept
// queue (somaxconn) never overflows into SYN retries.
const dialWindow = 256

// idleClient is the state of the idle client; its handler methods run on
// its one loop.
type idleClient struct {
	engine  *loop.Engine
	conns   []*loop.Conn
	echoed  atomic.Int64
	allDone chan struct{} // closed when every echo is back
	failed  chan error    // first failure, buffered
	closing atomic.Bool
	sendFn  func(*loop.Conn)
}

// idleConn is one connection's echo state.
type idleConn struct {
	id  uint64
	got int // echo bytes received
}

func runIdleClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "server address, host:port")
	conns := fs.Int("conns", 10000, "connections to hold open")
	sources := fs.String("source", "", "comma-separated local IPs to dial from, round-robin")
	useTLS := fs.Bool("tls", false, "connect with TLS (the server's certificate is not verified)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *addr == "" || *conns < 1 {
		fmt.Fprintln(stderr, "airsock bench idle: --addr and --conns (at least 1) are required")
		return 2
	}
	var srcs []string
	if *sources != "" {
		srcs = strings.Split(*sources, ",")
	}
	c, err := openIdle(ctx, *addr, *conns, srcs, benchTLS(*useTLS))
	if err != nil {
		fmt.Fprintf(stderr, "airsock bench idle: %v\n", err)
		return 1
	}
	defer c.close()
	fmt.Fprintf(stdout, "open %d\n", len(c.conns))
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if sc.Text() != "echo" {
			continue
		}
		if err := c.echoAll(ctx); err != nil {
			fmt.Fprintf(stderr, "airsock bench idle: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "echoed %d\n", c.echoed.Load())
	}
	return 0
}

// openIdle dials n connections to addr (with TLS if tlsCfg is set),
// dialWindow at a time, and returns once all are open.
func openIdle(ctx context.Context, addr string, n int, sources []string, tlsCfg *tls.Config) (*idleClient, error) {
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		return nil, err
	}
	c := &idleClient{engine: e, allDone: make(chan struct{}), failed: make(chan error, 1)}
	c.sendFn = func(lc *loop.Conn) {
		lc.Write(proto.AppendPattern(nil, lc.Context().(*idleConn).id, 0, idleEchoSize))
	}
	type dialed struct {
		c   *loop.Conn
		err error
	}
	results := make(chan dialed, n)
	inflight := 0
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	wait := func() error {
		select {
		case r := <-results:
			inflight--
			if r.err != nil {
				return fmt.Errorf("dial %s after %d connections: %w", addr, len(c.conns), r.err)
			}
			c.conns = append(c.conns, r.c)
			return nil
		case <-timeout.C:
			return fmt.Errorf("only %d of %d connections open after 2 minutes", len(c.conns), n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range n {
		for inflight >= dialWindow {
			if err := wait(); err != nil {
				c.close()
				return nil, err
			}
		}
		opts := loop.DialOptions{Timeout: 30 * time.Second, Context: &idleConn{id: uint64(i)}, TLS: tlsCfg}
		if len(sources) > 0 {
			opts.LocalAddr = net.JoinHostPort(sources[i%len(sources)], "0")
		}
		if err := e.DialAsync("tcp", addr, c, opts, func(lc *loop.Conn, err error) { results <- dialed{lc, err} }); err != nil {
			c.close()
			return nil, fmt.Errorf("dial %s after %d connections: %w", addr, len(c.conns), err)
		}
		inflight++
	}
	for inflight > 0 {
		if err := wait(); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// echoAll sends one message on every connection and waits until each has
// come back byte for byte. Call it once.
func (c *idleClient) echoAll(ctx context.Context) error {
	for _, lc := range c.conns {
		if err := lc.Run(c.sendFn); err != nil {
			return err
		}
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	select {
	case <-c.allDone:
		return nil
	case err := <-c.failed:
		return err
	case <-timeout.C:
		return fmt.Errorf("%d of %d echoes back after a minute", c.echoed.Load(), len(c.conns))
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *idleClient) fail(err error) {
	select {
	case c.failed <- err:
	default:
	}
}

// OnOpen does nothing: the connection idles. Loop goroutine.
func (c *idleClient) OnOpen(*loop.Conn) {}

// OnData checks the echo. Loop goroutine.
func (c *idleClient) OnData(lc *loop.Conn) {
	ic := lc.Context().(*idleConn)
	b, _ := lc.Next(-1)
	if ic.got+len(b) > idleEchoSize {
		c.fail(fmt.Errorf("connection %d: %d bytes back for a %d-byte echo", ic.id, ic.got+len(b), idleEchoSize))
		return
	}
	if i := proto.PatternMismatch(b, ic.id, 0, ic.got); i >= 0 {
		c.fail(fmt.Errorf("connection %d: echo byte %d differs", ic.id, ic.got+i))
		return
	}
	ic.got += len(b)
	if ic.got == idleEchoSize && c.echoed.Add(1) == int64(len(c.conns)) {
		close(c.allDone)
	}
}

// OnClose reports a connection the server closed. Loop goroutine.
func (c *idleClient) OnClose(lc *loop.Conn, err error) {
	if c.closing.Load() {
		return
	}
	if err == nil {
		err = errors.New("closed")
	}
	c.fail(fmt.Errorf("connection %d closed: %w", lc.Context().(*idleConn).id, err))
}

func (c *idleClient) close() {
	c.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.engine.Shutdown(ctx)
}

// benchTLS is the TLS client configuration of the matrix's clients: TLS
// without verification (the matrix measures; its servers' certificates
// are made at their start), or nil for plain TCP.
func benchTLS(on bool) *tls.Config {
	if !on {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: true}
}
