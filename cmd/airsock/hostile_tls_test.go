package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// The hostile clients of hostile_test.go again, over TLS (issue 13):
// `airsock serve --tls-self-signed` in a child process, attacked by
// crypto/tls clients. The plaintext bounds are the plain ones; TLS adds
// crypto/tls's buffers (docs/limits.md, "TLS connections").

// tlsBackends returns the backends that serve TLS: ours, then the peers
// (gnet has no TLS), whose figures are only logged; under the race
// detector ours alone, to keep CI's time (the peers run without it).
func tlsBackends() []string {
	if hostileRace {
		return []string{"loop", "serversocket"}
	}
	return []string{"loop", "serversocket", "nbio", "net"}
}

// startTLSChild starts `airsock serve args... --tls-self-signed` in a
// child (startChild) and returns it with a client configuration that
// trusts its certificate alone.
func startTLSChild(t *testing.T, test string, args ...string) (*child, *tls.Config) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	srv := startChild(t, test, append(args, "--tls-self-signed", "--tls-self-signed-out", ca)...)
	pem, err := os.ReadFile(ca) // written before serve says it listens
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", ca)
	}
	return srv, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// tlsOver returns a function that makes a connection a TLS client of cfg,
// its handshake done (failing t if it cannot). The test's goroutine only.
func tlsOver(t testing.TB, cfg *tls.Config) func(net.Conn) net.Conn {
	return func(c net.Conn) net.Conn {
		t.Helper()
		tc := tls.Client(c, cfg)
		tc.SetDeadline(time.Now().Add(opTimeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			t.Fatalf("TLS handshake with %s: %v", c.RemoteAddr(), err)
		}
		tc.SetDeadline(time.Time{})
		return tc
	}
}

// dialRESPOver is dialRESP over TLS with cfg.
func dialRESPOver(t *testing.T, addr string, cfg *tls.Config) *respConn {
	t.Helper()
	c := tlsOver(t, cfg)(testutil.DialRcvbuf(t, addr, 0))
	t.Cleanup(func() { c.Close() })
	return &respConn{Conn: c, r: bufio.NewReaderSize(c, 1<<20)}
}

// respTLSServer starts `serve --proto resp --loops 1` over TLS on backend b.
func respTLSServer(t *testing.T, test, b string) (*child, *tls.Config) {
	return startTLSChild(t, test, "--proto", "resp", "--loops", "1", "--addr", "127.0.0.1:0", "--backend", b)
}

// respTLSPair starts a TLS RESP server on b and connects two clients: a
// TLS one, and a TCP connection for the attack (closed at the end).
func respTLSPair(t *testing.T, test, b string) (*child, *tls.Config, *respConn, net.Conn) {
	srv, cfg := respTLSServer(t, test, b)
	other := dialRESPOver(t, srv.addr, cfg)
	raw := testutil.DialRcvbuf(t, srv.addr, 0)
	t.Cleanup(func() { raw.Close() })
	return srv, cfg, other, raw
}

// TestHostileTLSLargeRequests is TestHostileLargeRequests over TLS: a
// 5 MiB (and, without -short and -race, a 100 MiB) SET answered +OK and
// its GET verified byte for byte, then an EXISTS of 1,048,576 keys (20 MiB
// of one request), each arriving as records of at most 16 KiB that the
// loop decrypts one room at a time.
func TestHostileTLSLargeRequests(t *testing.T) {
	hostileChildHook()
	sizes := []int{5 << 20, 100 << 20}
	if testing.Short() || hostileRace {
		sizes = sizes[:1]
	}
	for _, b := range tlsBackends() {
		t.Run(b, func(t *testing.T) {
			srv, cfg := respTLSServer(t, "TestHostileTLSLargeRequests", b)
			largeRequests(t, b, srv, dialRESPOver(t, srv.addr, cfg), sizes)
		})
	}
}

// TestHostileTLSPipelinedBigReplies is TestHostilePipelinedBigReplies over
// TLS, with the same bound on ours (baseline + 64 MiB): the replies are
// encrypted as they are written, so the output held is ciphertext, within
// the same marks.
func TestHostileTLSPipelinedBigReplies(t *testing.T) {
	hostileChildHook()
	if testing.Short() {
		t.Skip("moves 2 x 192 MiB of replies per backend; skipped under -short")
	}
	for _, b := range tlsBackends() {
		t.Run(b, func(t *testing.T) {
			srv, cfg := respTLSServer(t, "TestHostileTLSPipelinedBigReplies", b)
			pipelinedBigReplies(t, b, srv, func(t *testing.T) *respConn { return dialRESPOver(t, srv.addr, cfg) })
		})
	}
}

// trickler writes everything in pieces of at most size bytes, one write(2)
// each (TCP_NODELAY is Go's default), so that the server reads TLS records
// a few bytes at a time.
type trickler struct {
	net.Conn
	size int
}

func (c trickler) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.Conn.Write(p[n:min(len(p), n+c.size)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestHostileTLSTrickledRecords: a client sends its handshake and then a
// SET of 48 KiB (three full records) in 5-byte writes. The server keeps
// the partial record (crypto/tls keeps it across our would-block reads),
// answers +OK once the last byte is in, and its GET returns the value;
// meanwhile another client's PINGs are answered: one slow client holds
// nothing but its own connection.
func TestHostileTLSTrickledRecords(t *testing.T) {
	hostileChildHook()
	for _, b := range tlsBackends() {
		t.Run(b, func(t *testing.T) {
			srv, cfg, other, raw := respTLSPair(t, "TestHostileTLSTrickledRecords", b)
			tc := tlsOver(t, cfg)(trickler{raw, 5})
			slow := &respConn{Conn: tc, r: bufio.NewReader(tc)}

			value := proto.AppendPattern(nil, 3, 1, 48<<10)
			set := appendCommand(nil, "SET", "slow", string(value))
			written := make(chan error, 1)
			go func() {
				slow.SetWriteDeadline(time.Now().Add(opTimeout))
				_, err := slow.Write(set)
				written <- err
			}()
			for i := range 20 {
				if r, err := other.do(opTimeout, "PING"); err != nil || r != "+PONG" {
					t.Fatalf("%s: PING %d beside the trickling client: %q, %v", b, i, r, err)
				}
			}
			if err := <-written; err != nil {
				t.Fatalf("%s: trickling the SET: %v", b, err)
			}
			slow.SetReadDeadline(time.Now().Add(opTimeout))
			if l, err := slow.line(); err != nil || l != "+OK" {
				t.Fatalf("%s: trickled SET: %q, %v; server stderr %q", b, l, err, lastLine(srv.stderr.String()))
			}
			if r, err := other.do(opTimeout, "GET", "slow"); err != nil || r != string(value) {
				t.Fatalf("%s: GET of the trickled value: %d bytes, %v", b, len(r), err)
			}
			srv.alive(t)
		})
	}
}

// TestHostileTLSOversizedRecord: after its handshake a client sends a
// record header announcing 65,535 bytes (TLS allows 16 KiB plus 256 of
// expansion). The server refuses it with an alert and closes that
// connection only, before reading the body; another client is still
// served.
func TestHostileTLSOversizedRecord(t *testing.T) {
	hostileChildHook()
	for _, b := range tlsBackends() {
		t.Run(b, func(t *testing.T) {
			srv, cfg, other, raw := respTLSPair(t, "TestHostileTLSOversizedRecord", b)
			tc := tlsOver(t, cfg)(raw).(*tls.Conn)
			if tc.ConnectionState().Version != tls.VersionTLS13 {
				t.Fatalf("%s: negotiated %x, want TLS 1.3", b, tc.ConnectionState().Version)
			}
			// application_data, legacy version 1.2, length 65,535, then a
			// little of the body the header promises.
			raw.SetDeadline(time.Now().Add(opTimeout))
			if _, err := raw.Write(append([]byte{23, 3, 3, 0xff, 0xff}, make([]byte, 1024)...)); err != nil {
				t.Fatal(err)
			}
			// What comes back: at most an encrypted alert (a record of
			// type 23 in TLS 1.3) or a session ticket, then EOF or a reset.
			got, err := io.ReadAll(raw)
			var ne net.Error
			switch {
			case err == nil, errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			case errors.As(err, &ne) && ne.Timeout():
				t.Fatalf("%s: the connection stayed open %v after an oversized record (read %d bytes)", b, opTimeout, len(got))
			default:
				t.Fatalf("%s: reading after the oversized record: %v", b, err)
			}
			t.Logf("%s: %d bytes then %v after the oversized record header", b, len(got), err)
			for i := range 3 {
				if r, err := other.do(opTimeout, "PING"); err != nil || r != "+PONG" {
					t.Fatalf("%s: PING %d after the oversized record: %q, %v", b, i, r, err)
				}
			}
			srv.alive(t)
		})
	}
}
