package loop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// The soak test: hundreds of echo connections with random message sizes and
// pipelining, while faults are injected at random into some of them (handler
// panics, peer resets mid-write, abrupt closes with unread data, half-closes,
// closes from another goroutine). Every byte sent on a connection that was
// not deliberately broken must come back intact.
//
// AIRSOCK_SOAK sets the duration (default 3s; e.g. AIRSOCK_SOAK=10m by hand),
// AIRSOCK_SOAK_CONNS the connection count (default 200).

type soakFault int

const (
	faultNone      soakFault = iota
	faultHalfClose           // client shuts its write side, must still get every echo
	faultPanic               // the server's handler panics on a trigger
	faultReset               // client resets (SO_LINGER 0) in the middle of its writes
	faultAbrupt              // client closes with echoes unread
	faultRemote              // the server closes the conn from another goroutine
	faultKinds
)

var panicTrigger = []byte("\x00SOAK-PANIC\x00")

type soakStats struct {
	sent, verified, lost atomic.Int64
	broken, intact       atomic.Int64
	faults               [faultKinds]atomic.Int64
}

func TestSoak(t *testing.T) { runSoak(t, nil, nil) }

// TestSoakTLS is the soak over TLS: the same faults (a half-close is the
// client's close_notify and FIN), every byte of the intact sessions back.
func TestSoakTLS(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	cli := ca.ClientConfig()
	cli.ServerName = "localhost"
	runSoak(t, ca.ServerConfig(), cli)
}

// runSoak runs the soak, over TLS if srvTLS (the server's) and cliTLS
// (the clients') are set.
func runSoak(t *testing.T, srvTLS, cliTLS *tls.Config) {
	d := 3 * time.Second
	if s := os.Getenv("AIRSOCK_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("AIRSOCK_SOAK: %v", err)
		}
	}
	conns := 200
	if s := os.Getenv("AIRSOCK_SOAK_CONNS"); s != "" {
		fmt.Sscan(s, &conns)
	}
	e, err := New(Config{Loops: 2, Logger: quiet, WriteHighWater: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var byPort sync.Map // remote port -> *Conn, for faultRemote
	listen := e.Listen
	if srvTLS != nil {
		listen = func(network, address string, h Handler) (*Listener, error) {
			return e.ListenTLS(network, address, srvTLS, h)
		}
	}
	ln, err := listen("tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) { byPort.Store(c.RemoteAddr().(*net.TCPAddr).Port, c) },
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			if bytes.Contains(b, panicTrigger) {
				panic("soak: injected handler panic")
			}
			c.Write(b)
		},
		Close: func(c *Conn, _ error) { byPort.Delete(c.RemoteAddr().(*net.TCPAddr).Port) },
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()

	var st soakStats
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for n := 0; time.Now().Before(stop); n++ {
				fault := faultNone
				if rng.IntN(4) == 0 { // a quarter of the sessions are broken on purpose
					fault = soakFault(1 + rng.IntN(int(faultKinds)-1))
				}
				if err := soakSession(addr, cliTLS, rng, fault, &st, &byPort); err != nil {
					errs <- fmt.Errorf("conn %d session %d (fault %d): %w", i, n, fault, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("soak %v, %d conns: sessions intact %d broken %d; bytes sent %d verified %d lost %d; faults %v",
		d, conns, st.intact.Load(), st.broken.Load(), st.sent.Load(), st.verified.Load(), st.lost.Load(), faultCounts(&st))
	if st.lost.Load() != 0 {
		t.Fatalf("%d bytes lost on intact connections", st.lost.Load())
	}
	if st.intact.Load() == 0 {
		t.Fatal("no intact session completed")
	}
	// The engine still serves after all of that.
	raw, nc, err := soakDial(addr, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte("still alive"))
	got := make([]byte, len("still alive"))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "still alive" {
		t.Fatalf("after the soak: %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func faultCounts(st *soakStats) []int64 {
	out := make([]int64, faultKinds)
	for i := range out {
		out[i] = st.faults[i].Load()
	}
	return out
}

// soakSession runs one connection: a writer sends a random pipelined stream
// of random-size messages while a reader verifies the echo. Faulty sessions
// only have to end without hanging; intact ones must get every byte back.
func soakSession(addr string, cliTLS *tls.Config, rng *rand.Rand, fault soakFault, st *soakStats, byPort *sync.Map) error {
	raw, nc, err := soakDial(addr, cliTLS)
	if err != nil {
		return err
	}
	defer raw.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	st.faults[fault].Add(1)

	msgs := 1 + rng.IntN(16)
	var stream []byte
	for range msgs {
		size := 1 + rng.IntN(1<<(4+rng.IntN(13))) // 1 B .. 128 KiB, skewed small
		m := make([]byte, size)
		for j := range m {
			m[j] = byte(rng.Uint32())
		}
		m[0] = 0xFF // never a trigger prefix by accident
		stream = append(stream, m...)
	}
	cut := rng.IntN(len(stream) + 1) // where a fault strikes
	if fault == faultPanic {
		stream = append(stream[:cut:cut], append(append([]byte{}, panicTrigger...), stream[cut:]...)...)
	}

	writeDone := make(chan error, 1)
	go func() {
		w := stream
		if fault == faultReset || fault == faultAbrupt {
			w = stream[:cut]
		}
		for len(w) > 0 {
			n := min(len(w), 1+rng.IntN(32<<10))
			if _, err := nc.Write(w[:n]); err != nil {
				writeDone <- err
				return
			}
			w = w[n:]
		}
		switch fault {
		case faultHalfClose:
			if tc, ok := nc.(*tls.Conn); ok {
				tc.CloseWrite() // close_notify, then the FIN
			}
			writeDone <- raw.CloseWrite()
			return
		case faultReset:
			raw.SetLinger(0)
			writeDone <- raw.Close()
			return
		case faultAbrupt:
			writeDone <- raw.Close()
			return
		case faultRemote:
			port := raw.LocalAddr().(*net.TCPAddr).Port
			if c, ok := byPort.Load(port); ok {
				c.(*Conn).Close() // from this goroutine, not the loop
			}
		}
		writeDone <- nil
	}()

	got := make([]byte, len(stream))
	n, rerr := io.ReadFull(nc, got)
	werr := <-writeDone
	if fault != faultNone && fault != faultHalfClose {
		st.broken.Add(1)
		// Whatever did come back must still be the prefix that was sent.
		if fault != faultPanic && !bytes.Equal(got[:n], stream[:n]) {
			return fmt.Errorf("broken session returned corrupt bytes at %d", firstDiff(got[:n], stream[:n]))
		}
		return nil
	}
	st.intact.Add(1)
	st.sent.Add(int64(len(stream)))
	if rerr != nil || werr != nil {
		st.lost.Add(int64(len(stream) - n))
		return fmt.Errorf("intact session: read %d of %d: %v, write: %v", n, len(stream), rerr, werr)
	}
	if i := firstDiff(got, stream); i >= 0 {
		st.lost.Add(int64(len(stream) - i))
		return fmt.Errorf("intact session: byte %d differs", i)
	}
	st.verified.Add(int64(n))
	if fault == faultHalfClose {
		// After every echo, the server's close: EOF.
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			return fmt.Errorf("half-closed session: want EOF after the echoes, got %v", err)
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// soakDial connects a soak client: the TCP connection, and what the
// session reads and writes (a TLS client over it if cliTLS is set).
func soakDial(addr string, cliTLS *tls.Config) (*net.TCPConn, net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	raw := c.(*net.TCPConn)
	if cliTLS == nil {
		return raw, raw, nil
	}
	return raw, tls.Client(raw, cliTLS), nil
}
