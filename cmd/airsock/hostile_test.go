package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// Hostile and large inputs against `airsock serve` (issue 9), every server
// in a child process so that its RSS can be read. Each test says what the
// code before the fix did; each bound is explained where it is asserted.

// hostileBackends are the backends served: ours first, then the peers.
var hostileBackends = []string{"loop", "serversocket", "gnet", "nbio", "net"}

// ours reports whether backend b is airsock's own, whose memory bounds are
// asserted; gnet, nbio and net are peers whose figures are only logged.
func ours(b string) bool { return b == "loop" || b == "serversocket" }

// respServer starts `serve --proto resp --loops 1` on backend b in a child.
func respServer(t *testing.T, test, b string) *child {
	return startChild(t, test, "--proto", "resp", "--loops", "1", "--addr", "127.0.0.1:0", "--backend", b)
}

// opTimeout bounds every single operation of these tests: far above the
// need (a 100 MiB SET takes well under a second on loopback), so that a
// loaded 2-core machine does not fail them, while a hang still fails.
const opTimeout = 60 * time.Second

// TestHostileLargeRequests: requests larger than the per-connection inbound
// bound (MaxInbound, now 64 KiB; it was 4 MiB) are answered: a 5 MiB and a
// 100 MiB SET get +OK and GET returns every byte of the value, and an
// EXISTS with 1,048,576 keys (the documented limit: 1M arguments after the
// command name) counts the keys that exist.
//
// Old code (aa90d44, run with this test): on loop and serversocket the
// 5 MiB SET never got a reply, an error or a close (the loop paused
// reading at the 4 MiB limit and the RESP handler never consumed a
// partial request) and hit the 60 s deadline here; gnet and net answered
// the SETs but refused the EXISTS's 1,048,577 elements (the array limit
// counted the command name) and reset the connection.
func TestHostileLargeRequests(t *testing.T) {
	hostileChildHook()
	sizes := []int{5 << 20, 100 << 20}
	if testing.Short() || hostileRace {
		sizes = sizes[:1]
	}
	for _, b := range hostileBackends {
		t.Run(b, func(t *testing.T) {
			srv := respServer(t, "TestHostileLargeRequests", b)
			largeRequests(t, b, srv, dialRESP(t, srv.addr), sizes)
		})
	}
}

// largeRequests is TestHostileLargeRequests on one server, over c.
func largeRequests(t *testing.T, b string, srv *child, c *respConn, sizes []int) {
	base := srv.rss()
	peak := sampleRSS(srv.pid)
	defer peak.Stop()
	if len(sizes) == 1 {
		t.Logf("%s: the 100 MiB SET is skipped under -short and -race (memory and time)", b)
	}
	for i, size := range sizes {
		key := fmt.Sprintf("big:%d", size)
		seq := uint64(i + 1)
		val := proto.AppendPattern(nil, 7, seq, size)
		// gnet grows its input buffer step by step: its 100 MiB
		// SET took 17 s here alone, so the large SET has 3 min.
		deadline := opTimeout
		if size > 5<<20 {
			deadline = 3 * time.Minute
		}
		start := time.Now()
		c.SetDeadline(time.Now().Add(deadline))
		hdr := fmt.Appendf(nil, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, size)
		bufs := net.Buffers{hdr, val, []byte("\r\n")}
		if _, err := bufs.WriteTo(c); err != nil {
			t.Fatalf("%s: writing a %d MiB SET: %v", b, size>>20, err)
		}
		if l, err := c.line(); err != nil || l != "+OK" {
			t.Fatalf("%s: %d MiB SET: reply %q, %v after %v (want +OK); server stderr %q",
				b, size>>20, l, err, time.Since(start).Round(time.Millisecond), lastLine(srv.stderr.String()))
		}
		setTook := time.Since(start)
		val = nil // the client need not hold it: the pattern is recomputed

		// The reply is one write of the whole value: docs/limits.md
		// promises that no bound drops a reply to a client that reads.
		start = time.Now()
		c.SetDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(appendCommand(nil, "GET", key)); err != nil {
			t.Fatal(err)
		}
		err := c.readBulk(size, func(p []byte, off int) error {
			if i := proto.PatternMismatch(p, 7, seq, off); i >= 0 {
				return fmt.Errorf("value byte %d differs from what was SET", off+i)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: GET of the %d MiB value: %v after %v; server stderr %q",
				b, size>>20, err, time.Since(start).Round(time.Millisecond), lastLine(srv.stderr.String()))
		}
		t.Logf("%s: %d MiB SET +OK in %v, GET verified all %d bytes in %v", b, size>>20,
			setTook.Round(time.Millisecond), size, time.Since(start).Round(time.Millisecond))
	}

	// EXISTS of 1,048,576 keys, three of them set.
	const keys = proto.DefaultMaxArgs
	set := []int{0, keys / 2, keys - 1}
	for _, k := range set {
		if r, err := c.do(opTimeout, "SET", "ex:"+strconv.Itoa(k), "v"); err != nil || r != "+OK" {
			t.Fatalf("%s: SET ex:%d: %q, %v", b, k, r, err)
		}
	}
	req := make([]byte, 0, 20*keys)
	req = fmt.Appendf(req, "*%d\r\n$6\r\nEXISTS\r\n", keys+1)
	for k := range keys {
		key := "ex:" + strconv.Itoa(k)
		req = fmt.Appendf(req, "$%d\r\n%s\r\n", len(key), key)
	}
	start := time.Now()
	c.SetDeadline(time.Now().Add(opTimeout))
	if _, err := c.Write(req); err != nil {
		t.Fatalf("%s: writing the EXISTS: %v", b, err)
	}
	want := ":" + strconv.Itoa(len(set))
	if l, err := c.line(); err != nil || l != want {
		t.Fatalf("%s: EXISTS with %d keys (%.1f MiB): reply %q, %v after %v (want %s); server stderr %q",
			b, keys, float64(len(req))/(1<<20), l, err, time.Since(start).Round(time.Millisecond), want, lastLine(srv.stderr.String()))
	}
	t.Logf("%s: EXISTS with %d keys (%d array elements, %.1f MiB) answered %s in %v", b, keys, keys+1,
		float64(len(req))/(1<<20), want, time.Since(start).Round(time.Millisecond))
	if r, err := c.do(opTimeout, "PING"); err != nil || r != "+PONG" {
		t.Fatalf("%s: PING after the large requests: %q, %v", b, r, err)
	}
	t.Logf("%s: server RSS %s at the start, peak %s", b, mib(base), mib(peak.Stop()))
	srv.alive(t)
}

// TestHostilePipelinedBigReplies: ~60 KiB of pipelined GETs of a 64 KiB
// value, sent in one write. The server must stop executing pipelined
// requests when a connection's output reaches the high mark (64 KiB) and
// go on at the low mark, so that its memory stays bounded whether the
// client reads at full speed or not at all, and the client gets every
// reply.
//
// The bound asserted on loop and serversocket: server RSS within baseline
// + 64 MiB at every 50 ms sample. The protocol holds at most the high mark
// plus one reply (64 KiB + 64 KiB) of output and one read (64 KiB) of
// input; the kernel's socket buffers, which are not in the RSS, hold a few
// MiB more; the rest is headroom for the garbage collector and the
// runtime's own. gnet and net (peers) are only required to deliver every
// reply; their RSS is logged.
//
// Old code (aa90d44, run with this test): one OnData executed every
// request it had read, queueing all the replies (192 MiB here; the issue
// measured 320 MiB with longer requests) at once: loop's RSS grew by
// 443 MiB while the client read and 317 MiB more while it did not,
// failing the bound; serversocket got 1,023 of 3,072 replies (63.9 MiB)
// and then EOF (its pending output reached MaxBytesPending, 64 MiB, and
// the backend closed the socket), failing the count. (The peers: gnet
// +211 MiB, net +638 MiB, all replies delivered.)
func TestHostilePipelinedBigReplies(t *testing.T) {
	hostileChildHook()
	if testing.Short() {
		t.Skip("moves 2 x 192 MiB of replies per backend; skipped under -short")
	}
	for _, b := range hostileBackends {
		t.Run(b, func(t *testing.T) {
			srv := respServer(t, "TestHostilePipelinedBigReplies", b)
			pipelinedBigReplies(t, b, srv, func(t *testing.T) *respConn { return dialRESP(t, srv.addr) })
		})
	}
}

// pipelinedBigReplies is TestHostilePipelinedBigReplies on one server,
// over the connections dial makes.
func pipelinedBigReplies(t *testing.T, b string, srv *child, dial func(*testing.T) *respConn) {
	const (
		valueSize = 64 << 10
		burstSize = 60 << 10
		bound     = 64 << 20
	)
	get := appendCommand(nil, "GET", "k") // 20 bytes
	n := burstSize / len(get)
	burst := bytes.Repeat(get, n)
	replySize := len("$65536\r\n") + valueSize + 2
	value := proto.AppendPattern(nil, 9, 1, valueSize)
	t.Logf("burst: %d pipelined GETs of %d bytes each (%d bytes in one write) ask for %d replies of %d bytes: %s",
		n, len(get), len(burst), n, replySize, mib(int64(n*replySize)))

	// readAll reads the n replies, checking each is exactly $65536, the
	// value and CRLF; it returns how many it got.
	readAll := func(c *respConn) (int, error) {
		c.SetDeadline(time.Now().Add(2 * opTimeout))
		defer c.SetDeadline(time.Time{})
		for i := range n {
			err := c.readBulk(valueSize, func(p []byte, off int) error {
				if !bytes.Equal(p, value[off:off+len(p)]) {
					return fmt.Errorf("value bytes %d-%d differ", off, off+len(p))
				}
				return nil
			})
			if err != nil {
				return i, fmt.Errorf("reply %d of %d: %w", i+1, n, err)
			}
		}
		return n, nil
	}
	checkRSS := func(t *testing.T, b, what string, base, peak int64) {
		t.Helper()
		t.Logf("%s %s: server RSS baseline %s, peak %s (growth %s; bound for ours: +%s)",
			b, what, mib(base), mib(peak), mib(peak-base), mib(bound))
		switch {
		case !ours(b):
		case hostileRace:
			t.Logf("%s %s: RSS bound not checked under -race (it multiplies memory use)", b, what)
		case peak-base > bound:
			t.Errorf("%s %s: server RSS grew by %s, above the bound of %s: output is queued beyond the high mark",
				b, what, mib(peak-base), mib(bound))
		}
	}

	setup := dial(t)
	if r, err := setup.do(opTimeout, "SET", "k", string(value)); err != nil || r != "+OK" {
		t.Fatalf("SET k: %q, %v", r, err)
	}
	if r, err := setup.do(opTimeout, "GET", "k"); err != nil || r != string(value) {
		t.Fatalf("GET k: %d bytes, %v", len(r), err)
	}

	t.Run("reading", func(t *testing.T) {
		c := dial(t)
		base := srv.rss()
		s := sampleRSS(srv.pid)
		defer s.Stop()
		start := time.Now()
		c.SetDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(burst); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(c)
		took := time.Since(start)
		peak := s.Stop()
		t.Logf("%s reading: %d of %d replies (%s) in %v", b, got, n, mib(int64(got*replySize)), took.Round(time.Millisecond))
		if err != nil {
			t.Errorf("%s reading: %v; server stderr %q", b, err, lastLine(srv.stderr.String()))
		}
		checkRSS(t, b, "reading", base, peak)
		c.Close()
	})

	t.Run("stalled", func(t *testing.T) {
		c := dial(t)
		base := srv.rss()
		s := sampleRSS(srv.pid)
		defer s.Stop()
		c.SetDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(burst); err != nil {
			t.Fatal(err)
		}
		// Do not read until the server's RSS stops growing: no
		// event marks that, so poll it: stable within 1 MiB for
		// 500 ms, after at least 1 s, or 2 s in all.
		start := time.Now()
		var recent []int64
		for time.Since(start) < 2*time.Second {
			time.Sleep(50 * time.Millisecond) // polling RSS; nothing signals "stopped growing"
			recent = append(recent, srv.rss())
			if k := len(recent); time.Since(start) >= time.Second && k >= 10 &&
				recent[k-1]-recent[k-10] < 1<<20 {
				break
			}
		}
		held := s.Peak()
		checkRSS(t, b, "stalled (not reading)", base, held)
		srv.alive(t)
		got, err := readAll(c)
		t.Logf("%s stalled: then read %d of %d replies (%s); server RSS %s after", b, got, n,
			mib(int64(got*replySize)), mib(srv.rss()))
		if err != nil {
			t.Errorf("%s stalled: %v; server stderr %q", b, err, lastLine(srv.stderr.String()))
		}
		s.Stop()
		c.Close()
	})
	srv.alive(t)
}

// TestHostileNonReadingEchoClients: 200 echo clients each send 16 MiB and
// never read, with a 4 KiB receive buffer so that their echoes back up
// into the server at once. Once their writes stall, the server must hold
// no more than its documented bound per connection; a probe client's
// echoes still work; and after the attackers close, the memory goes back.
//
// The per-connection user-space bound with the defaults: the output ring
// holds at most the high mark (64 KiB) plus one read (64 KiB) = 128 KiB,
// and the inbound ring at most MaxInbound (64 KiB): 192 KiB. With the
// garbage collector's headroom (GOGC=100 lets the heap reach twice the
// live data) that is 384 KiB, so the bound is baseline + 200 x 384 KiB =
// baseline + 75 MiB. (The kernel's socket buffers, several MiB per
// connection here, are not in the server's RSS.)
//
// Afterwards the RSS must be back near the baseline, within baseline +
// 12 MiB, within 20 s (the issue: "RSS returns near its baseline within
// seconds of the attackers closing"). The engine hands memory back when a
// loop goes quiet: at once (at most once a second) with ScavengeAbove
// (64 MiB) of buffers idle, and every 5 s with a sixteenth of that; here
// it takes 1-5 s. The "marks512k" case raises --write-high and
// --max-inbound to 512 KiB (--write-low 256 KiB): per connection
// 2 x (512 KiB + 64 KiB + 512 KiB) = 2,176 KiB, bound baseline + 425 MiB;
// its burst (+120 to +190 MiB) leaves well over 64 MiB idle. (Before the
// second tier, with the defaults the +27 to +30 MiB of a burst stayed
// below the threshold and was never handed back, and "marks512k" kept
// +38 to +79 MiB in 7 of 12 runs: a scavenge that ran while the attackers
// were still closing left the rest idle for good.)
//
// Old code (aa90d44, run with this test): the 4 MiB high mark plus a
// read, in a ring rounded up to the next power of two, cost about 10 MiB
// per non-reading client: 200 clients took the RSS 1,990 MiB (loop) and
// 1,920 MiB (serversocket) above the baseline, all of it still held 10 s
// after they closed ("marks512k"'s flags did not exist). Before the idle
// loop woke for a scavenge that was due but rate-limited (3847db6),
// "marks512k" kept 90-105 MiB above the baseline after the close.
//
// The "tls" case (issue 13) runs the defaults over TLS (serve
// --tls-self-signed, crypto/tls clients). Its bound per connection adds
// what TLS may hold: the wire's unread ciphertext (one read, 64 KiB),
// crypto/tls's raw input (one read, 64 KiB) and write buffer (one record,
// 16 KiB), and one decrypted record waiting for room (16 KiB): 352 KiB,
// doubled as above (704 KiB), baseline + 138 MiB for 200.
func TestHostileNonReadingEchoClients(t *testing.T) {
	hostileChildHook()
	if testing.Short() {
		t.Skip("200 clients send up to 16 MiB each; skipped under -short")
	}
	if hostileRace {
		t.Skip("the race detector multiplies memory use and slows the server; this RSS test runs without -race")
	}
	const (
		clients   = 200
		perClient = 16 << 20
		afterward = 12 << 20 // near the baseline once the attackers are gone
	)
	for _, tc := range []struct {
		name    string
		flags   []string
		secure  bool
		perConn int64 // 2 x (high mark + one read + inbound bound [+ TLS's])
	}{
		{"defaults", nil, false, 2 * (64<<10 + 64<<10 + 64<<10)},
		{"marks512k", []string{"--write-high", "524288", "--write-low", "262144", "--max-inbound", "524288"}, false,
			2 * (512<<10 + 64<<10 + 512<<10)},
		{"tls", nil, true, 2 * (64<<10 + 64<<10 + 64<<10 + 64<<10 + 64<<10 + 16<<10 + 16<<10)},
	} {
		for _, b := range []string{"loop", "serversocket"} {
			t.Run(tc.name+"/"+b, func(t *testing.T) {
				nonReadingEcho(t, b, tc.flags, tc.secure, clients, perClient, clients*tc.perConn, afterward)
			})
		}
	}
}

// nonReadingEcho is one case of TestHostileNonReadingEchoClients, over TLS
// if secure.
func nonReadingEcho(t *testing.T, b string, flags []string, secure bool, clients, perClient int, bound, afterward int64) {
	args := append([]string{"--proto", "echo", "--loops", "1", "--addr", "127.0.0.1:0", "--backend", b}, flags...)
	const test = "TestHostileNonReadingEchoClients"
	over := func(c net.Conn) net.Conn { return c }
	var srv *child
	if secure {
		var cfg *tls.Config
		srv, cfg = startTLSChild(t, test, args...)
		over = tlsOver(t, cfg)
	} else {
		srv = startChild(t, test, args...)
	}
	probe := over(testutil.DialRcvbuf(t, srv.addr, 0))
	defer probe.Close()
	testutil.EchoRoundTrips(t, probe, 50) // warm up before the baseline
	base := srv.rss()
	s := sampleRSS(srv.pid)
	defer s.Stop()

	flood := testutil.StartFloodOver(t, srv.addr, clients, perClient, over)
	// Wait until the attackers' writes stall: the server has stopped
	// reading them (60 s at most).
	start := time.Now()
	last, stalled := flood.WaitStalled(60 * time.Second)
	held, peak := srv.rss(), s.Peak()
	t.Logf("%s %q: %d clients wrote %s in all (%s each on average), stalled=%v after %v; server RSS baseline %s, held %s, peak %s (growth %s, %.0f KiB per connection; bound +%s)",
		b, flags, clients, mib(last), mib(last/int64(clients)), stalled, time.Since(start).Round(100*time.Millisecond),
		mib(base), mib(held), mib(peak), mib(peak-base), float64(peak-base)/1024/float64(clients), mib(bound))
	if !stalled {
		t.Errorf("%s: the attackers' writes did not stall within 60 s: the server reads without bound", b)
	}
	if peak-base > bound {
		t.Errorf("%s: server RSS grew by %s for %d non-reading clients, above the bound of %s (%d KiB each)",
			b, mib(peak-base), clients, mib(bound), bound/int64(clients)>>10)
	}
	lat := testutil.EchoRoundTrips(t, probe, 50)
	t.Logf("%s: probe echoes while the attackers hold on: p50 %v, max %v", b, lat[len(lat)/2], lat[len(lat)-1])
	srv.alive(t)

	flood.Close()
	srv.rssBack(t, b, base, afterward, true)
	testutil.EchoRoundTrips(t, probe, 10)
	srv.alive(t)
}

// TestServeRefusesTakenPort: a second `airsock serve` on a port a first one
// serves exits non-zero with "address already in use", on every backend;
// with --reuseport-join (loop and serversocket), it shares the port and
// both serve.
//
// Old code (aa90d44, run with this test): loop, serversocket and gnet bound
// one SO_REUSEPORT socket per loop, so the second server started silently
// and split the fresh connections with the first (a GET after a SET missed
// on 10 of 20): it printed "listening on" here and the test failed; and
// --reuseport-join did not exist. net refused (Go's net.Listen sets no
// SO_REUSEPORT), so net cannot join a group either and is not tried.
func TestServeRefusesTakenPort(t *testing.T) {
	hostileChildHook()
	for _, b := range hostileBackends {
		t.Run(b, func(t *testing.T) {
			// Two loops each: the engine's own loops must still share the port.
			first := startChild(t, "TestServeRefusesTakenPort", "--proto", "resp", "--loops", "2", "--addr", "127.0.0.1:0", "--backend", b)
			code, listened, stdout, stderr := serveOnce(t, "--proto", "resp", "--loops", "2", "--addr", first.addr, "--backend", b)
			t.Logf("%s: second serve on %s: exit %d, stderr %q", b, first.addr, code, lastLine(stderr))
			if listened {
				t.Fatalf("%s: a second serve on the taken port %s started (%q): it would split the traffic", b, first.addr, stdout)
			}
			if code == 0 || !strings.Contains(stderr, "address already in use") {
				t.Fatalf("%s: second serve on a taken port: exit %d, stderr %q; want non-zero and \"address already in use\"", b, code, stderr)
			}
			// The first still serves.
			if r, err := dialRESP(t, first.addr).do(opTimeout, "PING"); err != nil || r != "+PONG" {
				t.Fatalf("%s: the first server after the refusal: PING %q, %v", b, r, err)
			}
			first.alive(t)
		})
	}
	for _, b := range []string{"loop", "serversocket"} {
		t.Run(b+"/join", func(t *testing.T) {
			first := respServer(t, "TestServeRefusesTakenPort", b)
			// Mark the first server's keyspace while it alone holds the port.
			if r, err := dialRESP(t, first.addr).do(opTimeout, "SET", "who", "first"); err != nil || r != "+OK" {
				t.Fatalf("SET who on the first: %q, %v", r, err)
			}
			second := startServe(t, "--proto", "resp", "--loops", "1", "--addr", first.addr, "--backend", b, "--reuseport-join")
			t.Logf("%s: second serve with --reuseport-join is listening on %s", b, second.addr)
			// Fresh connections are spread over both servers' sockets; a
			// GET tells them apart (the second has no "who"). 64 of them
			// all reaching one server would be a 1-in-2^63 chance.
			const conns = 64
			var toFirst, toSecond int
			for range conns {
				c := dialRESP(t, first.addr)
				r, err := c.do(opTimeout, "GET", "who")
				switch {
				case err != nil:
					t.Fatalf("GET who: %v", err)
				case r == "first":
					toFirst++
				case r == "$-1":
					toSecond++
				default:
					t.Fatalf("GET who: %q", r)
				}
				if r, err := c.do(opTimeout, "PING"); err != nil || r != "+PONG" {
					t.Fatalf("PING: %q, %v", r, err)
				}
				c.Close()
			}
			t.Logf("%s join: of %d fresh connections, %d reached the first server and %d the second", b, conns, toFirst, toSecond)
			if toFirst == 0 || toSecond == 0 {
				t.Errorf("%s join: want both servers to serve: first %d, second %d of %d connections", b, toFirst, toSecond, conns)
			}
			first.alive(t)
		})
	}
}

// serveOnce runs `airsock serve args...` in-process, expecting it to
// fail: it returns its exit code and output, or listened = true (having
// stopped it) if it started listening instead. It must end within 30 s.
func serveOnce(t *testing.T, args ...string) (code int, listened bool, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	errOut := &testutil.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), pw, errOut)
		pw.Close()
		done <- code
	}()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	if sc.Scan() {
		out.WriteString(sc.Text())
		listened = strings.HasPrefix(sc.Text(), "listening on ")
		cancel() // the second server must not run on
	}
	go io.Copy(io.Discard, pr) // the shutdown's stats line
	select {
	case code = <-done:
	case <-time.After(40 * time.Second):
		t.Fatalf("serve %q did not end within 40 s; stderr %q", args, errOut)
	}
	return code, listened, out.String(), errOut.String()
}
