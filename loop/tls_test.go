package loop

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TLS on the loop (tls.go), against crypto/tls clients and servers of the
// standard library.

// dialTLSClient connects a crypto/tls client to addr with cfg, its
// handshake done, closed by t.Cleanup, with a deadline on all its I/O.
func dialTLSClient(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: waitTimeout}
	tc, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	t.Cleanup(func() { tc.Close() })
	tc.SetDeadline(time.Now().Add(ioDeadline))
	return tc
}

// echoOver writes b through c from a goroutine while it reads the echo,
// and returns what came back.
func echoOver(c net.Conn, b []byte) ([]byte, error) {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(b)
		errc <- err
	}()
	got := make([]byte, len(b))
	_, err := io.ReadFull(c, got)
	if werr := <-errc; err == nil {
		err = werr
	}
	return got, err
}

// TestTLSEcho: crypto/tls clients of TLS 1.2 and 1.3 get back every byte
// of 1 B to 1 MiB through the TLS echo server, on 1 and on 100
// connections at once.
func TestTLSEcho(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, Config{})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), echo())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := ca.ClientConfig()
		cfg.MinVersion, cfg.MaxVersion = v, v
		t.Run(tls.VersionName(v), func(t *testing.T) {
			tc := dialTLSClient(t, ln.Addr().String(), cfg)
			if got := tc.ConnectionState().Version; got != v {
				t.Fatalf("negotiated %s", tls.VersionName(got))
			}
			for i, n := range []int{1, 100, 16 << 10, 16<<10 + 1, 100 << 10, 1 << 20} {
				want := pattern(n, uint64(i))
				got, err := echoOver(tc, want)
				if err != nil {
					t.Fatalf("%d bytes: %v", n, err)
				}
				if d := diff(got, want); d != "" {
					t.Fatalf("%d bytes: %s", n, d)
				}
			}
		})
	}
	t.Run("100 clients", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := &net.Dialer{Timeout: waitTimeout}
				tc, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), ca.ClientConfig())
				if err != nil {
					errs <- err
					return
				}
				defer tc.Close()
				tc.SetDeadline(time.Now().Add(ioDeadline))
				want := pattern(1000+i*100, uint64(i))
				got, err := echoOver(tc, want)
				if err == nil && diff(got, want) != "" {
					err = fmt.Errorf("client %d: %s", i, diff(got, want))
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// TestTLSStateALPNSNI: OnOpen runs after the handshake and sees its
// outcome: the protocol ALPN chose, the name the client asked for, and
// the certificate GetCertificate picked for it.
func TestTLSStateALPNSNI(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	states := make(chan tls.ConnectionState, 2)
	srv := &tls.Config{
		NextProtos: []string{"airsock/1", "h2"},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if h.ServerName == "other.test" {
				return &ca.Other, nil
			}
			return &ca.Server, nil
		},
	}
	e := newEngine(t, Config{})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", srv, Funcs{Open: func(c *Conn) {
		s, ok := c.TLSState()
		if !ok || !s.HandshakeComplete {
			t.Error("OnOpen before the handshake was done")
		}
		states <- s
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, name := range []string{"localhost", "other.test"} {
		cfg := ca.ClientConfig()
		cfg.ServerName = name
		cfg.NextProtos = []string{"h2", "airsock/1"}
		tc := dialTLSClient(t, ln.Addr().String(), cfg)
		s := <-states
		if s.ServerName != name || s.NegotiatedProtocol != "airsock/1" {
			t.Fatalf("server saw name %q, protocol %q; want %q and airsock/1 (the server's preference)", s.ServerName, s.NegotiatedProtocol, name)
		}
		if cn := tc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != name {
			t.Fatalf("asked for %s, got the certificate of %s", name, cn)
		}
	}
}

// TestTLSClientCertificates: a server that requires client certificates
// sees a verified one in OnOpen; a client without one fails its handshake
// and the handler never hears of it.
func TestTLSClientCertificates(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	srv := ca.ServerConfig()
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	srv.ClientCAs = ca.Pool
	opened := make(chan string, 4)
	e := newEngine(t, Config{Logger: quiet})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", srv, Funcs{Open: func(c *Conn) {
		s, _ := c.TLSState()
		name := ""
		if len(s.PeerCertificates) > 0 {
			name = s.PeerCertificates[0].Subject.CommonName
		}
		opened <- name
	}, Data: echo().Data})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	cfg := ca.ClientConfig()
	cfg.Certificates = []tls.Certificate{ca.Client}
	tc := dialTLSClient(t, ln.Addr().String(), cfg)
	if got, err := echoOver(tc, []byte("hello")); err != nil || string(got) != "hello" {
		t.Fatalf("echo with a client certificate: %q, %v", got, err)
	}
	if name := <-opened; name != "client" {
		t.Fatalf("OnOpen saw client certificate %q, want client", name)
	}

	// Without one: in TLS 1.3 the client learns of the refusal at its
	// first read.
	nc := dialClient(t, "tcp", ln.Addr().String())
	bad := tls.Client(nc, ca.ClientConfig())
	bad.Handshake()
	bad.Write([]byte("x"))
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	select {
	case name := <-opened:
		t.Fatalf("OnOpen ran for a client without a certificate (%q)", name)
	default:
	}
}

// TestTLSHandshakeBounds: a client that stops mid-handshake is closed at
// Config.TLSHandshakeTimeout; one that sends something else than TLS is
// closed at once; neither reaches the handler, whose TLS clients meanwhile
// are served.
func TestTLSHandshakeBounds(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, Config{TLSHandshakeTimeout: 300 * time.Millisecond, Logger: quiet})
	opened := make(chan struct{}, 8)
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), Funcs{Open: func(*Conn) { opened <- struct{}{} }, Data: echo().Data})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	stalled := dialClient(t, "tcp", addr)
	stalled.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}) // a record header and a byte of a ClientHello
	garbage := dialClient(t, "tcp", addr)
	garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))

	good := dialTLSClient(t, addr, ca.ClientConfig())
	if got, err := echoOver(good, []byte("still served")); err != nil || string(got) != "still served" {
		t.Fatalf("a good client beside them: %q, %v", got, err)
	}
	<-opened
	for name, c := range map[string]net.Conn{"garbage": garbage, "stalled": stalled} {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		b, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: not closed within %v (read %d bytes)", name, waitTimeout, len(b))
		}
	}
	select {
	case <-opened:
		t.Fatal("OnOpen ran for a client that never finished a handshake")
	default:
	}
}

// TestTLSCloseNotify: a server that closes after its reply sends
// close_notify, so the crypto/tls client reads the reply and then a clean
// io.EOF; a client's close_notify reaches OnClose as io.EOF.
func TestTLSCloseNotify(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	closed := make(chan error, 2)
	e := newEngine(t, Config{})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), Funcs{
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Write(b)
			if string(b) == "bye" {
				c.Close()
			}
		},
		Close: func(_ *Conn, err error) { closed <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tc := dialTLSClient(t, ln.Addr().String(), ca.ClientConfig())
	tc.Write([]byte("bye"))
	b, err := io.ReadAll(tc)
	if err != nil || string(b) != "bye" {
		t.Fatalf("read %q, %v; want the reply and a clean EOF (close_notify)", b, err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("OnClose of a local Close: %v", err)
	}

	tc2 := dialTLSClient(t, ln.Addr().String(), ca.ClientConfig())
	if got, err := echoOver(tc2, []byte("hi")); err != nil || string(got) != "hi" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if err := tc2.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != io.EOF {
			t.Fatalf("OnClose after the client's close_notify: %v, want io.EOF", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the client's close_notify did not close the connection")
	}
}

// TestTLSDial: a loop client (DialOptions.TLS) echoes through a crypto/tls
// server; against a certificate for another name the dial fails with the
// verification error and no OnOpen.
func TestTLSDial(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	srv := tlsPeer(t, ca.ServerConfig(), func(c net.Conn) { io.Copy(c, c) })
	e := newEngine(t, Config{Logger: quiet})
	got := make(chan []byte, 16)
	opened := make(chan struct{}, 2)
	h := Funcs{
		Open: func(c *Conn) { opened <- struct{}{} },
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			got <- append([]byte(nil), b...)
		},
	}
	c, err := e.Dial(t.Context(), "tcp", srv.Addr().String(), h, DialOptions{TLS: ca.ClientConfig(), Timeout: waitTimeout})
	if err != nil {
		t.Fatal(err)
	}
	<-opened
	want := pattern(200<<10, 7)
	if err := c.AsyncWrite(want); err != nil {
		t.Fatal(err)
	}
	var back []byte
	for len(back) < len(want) {
		select {
		case b := <-got:
			back = append(back, b...)
		case <-time.After(waitTimeout):
			t.Fatalf("echo stalled at %d of %d bytes", len(back), len(want))
		}
	}
	if d := diff(back, want); d != "" {
		t.Fatal(d)
	}
	c.Close()

	cfg := ca.ClientConfig()
	cfg.ServerName = "wrong.test"
	_, err = e.Dial(t.Context(), "tcp", srv.Addr().String(), h, DialOptions{TLS: cfg, Timeout: waitTimeout})
	var herr x509.HostnameError
	if err == nil || !errors.As(err, &herr) {
		t.Fatalf("dial with the wrong name: %v, want a certificate verification error", err)
	}
	select {
	case <-opened:
		t.Fatal("OnOpen ran for a failed handshake")
	default:
	}
}

// verifying is a handler that refuses every handshake whose peer
// certificate is not for want (a HandshakeVerifier), counting its calls.
type verifying struct {
	Funcs
	want  string
	calls chan string
}

func (v verifying) VerifyHandshake(_ *Conn, s tls.ConnectionState) error {
	cn := s.PeerCertificates[0].Subject.CommonName
	v.calls <- cn
	if cn != v.want {
		return fmt.Errorf("certificate of %s, want %s", cn, v.want)
	}
	return nil
}

// TestTLSHandshakeVerifier: a dialling handler that is a HandshakeVerifier
// decides on the server's certificate after the handshake, before OnOpen:
// refused, the dial fails with its error and OnOpen never runs; accepted,
// the connection opens.
func TestTLSHandshakeVerifier(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	srvCfg := ca.ServerConfig()
	srvCfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if h.ServerName == "other.test" {
			return &ca.Other, nil
		}
		return &ca.Server, nil
	}
	e := newEngine(t, Config{Logger: quiet})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", srvCfg, echo())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opened := make(chan struct{}, 2)
	h := verifying{Funcs: Funcs{Open: func(*Conn) { opened <- struct{}{} }}, want: "localhost", calls: make(chan string, 2)}
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "other.test"}
	_, err = e.Dial(t.Context(), "tcp", ln.Addr().String(), h, DialOptions{TLS: cfg, Timeout: waitTimeout})
	if err == nil || <-h.calls != "other.test" {
		t.Fatalf("a refused certificate: dial error %v", err)
	}
	select {
	case <-opened:
		t.Fatal("OnOpen ran for a refused handshake")
	default:
	}
	cfg = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
	c, err := e.Dial(t.Context(), "tcp", ln.Addr().String(), h, DialOptions{TLS: cfg, Timeout: waitTimeout})
	if err != nil || <-h.calls != "localhost" {
		t.Fatalf("an accepted certificate: %v", err)
	}
	<-opened
	c.Close()
}

// tlsDial dials a crypto/tls client of cfg to address. At most
// tlsHandshakesAtOnce of a test's handshakes run at a time: 1,000 at once
// under the race detector on a loaded 2-core machine took longer than any
// one handshake's timeout (the client and the server sides both in this
// process), and what a test checks is the connections, not how many
// handshakes fit in a second.
func tlsDial(address string, cfg *tls.Config) dialFunc {
	return func() (net.Conn, error) {
		tlsHandshakes <- struct{}{}
		defer func() { <-tlsHandshakes }()
		return tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", address, cfg)
	}
}

const tlsHandshakesAtOnce = 32

var tlsHandshakes = make(chan struct{}, tlsHandshakesAtOnce)

// TestTLSEchoClients: the plain echo cases over TLS, 1 client with sizes
// to 1 MiB, 100 and 1,000 at once, every byte checked; and framed input
// that the handler consumes only whole frames of, through a 4 KiB read
// buffer, so that plaintext waits in the ring (and reservations grow it).
func TestTLSEchoClients(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	for _, tc := range echoCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{Loops: 2})
			ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), echo())
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			runEchoDial(t, tlsDial(ln.Addr().String(), ca.ClientConfig()), tc.clients, tc.sizes)
		})
	}
	t.Run("framed", func(t *testing.T) {
		e := newEngine(t, Config{Loops: 2, ReadBufferSize: 4 << 10})
		ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), framedEcho)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		runFramed(t, tlsDial(ln.Addr().String(), ca.ClientConfig()))
	})
}

// TestTLSCloseWithPendingOutput: a server that writes 1 MiB and closes at
// once sends all of it, then close_notify: the client reads every byte and
// a clean EOF.
func TestTLSCloseWithPendingOutput(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	want := pattern(1<<20, 3)
	e := newEngine(t, Config{})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), Funcs{Open: func(c *Conn) {
		c.Write(want)
		c.Close()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tc := dialTLSClient(t, ln.Addr().String(), ca.ClientConfig())
	got, err := io.ReadAll(tc)
	if err != nil {
		t.Fatalf("after %d bytes: %v, want a clean EOF", len(got), err)
	}
	if d := diff(got, want); d != "" {
		t.Fatal(d)
	}
}

// TestTLSResumption: a client with a session cache resumes its session on
// its second connection (TLS 1.3 tickets and TLS 1.2 session tickets),
// which the server sees in OnOpen.
func TestTLSResumption(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	resumed := make(chan bool, 4)
	e := newEngine(t, Config{})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), Funcs{
		Open: func(c *Conn) {
			s, _ := c.TLSState()
			resumed <- s.DidResume
		},
		Data: echo().Data,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := ca.ClientConfig()
		cfg.MaxVersion = v
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		for i, want := range []bool{false, true} {
			tc := dialTLSClient(t, ln.Addr().String(), cfg)
			// TLS 1.3 tickets come after the handshake: an echo brings them.
			if got, err := echoOver(tc, []byte("ticket?")); err != nil || string(got) != "ticket?" {
				t.Fatalf("%s connection %d: %q, %v", tls.VersionName(v), i, got, err)
			}
			if got := <-resumed; got != want || tc.ConnectionState().DidResume != want {
				t.Fatalf("%s connection %d: resumed %v (client %v), want %v", tls.VersionName(v), i, got, tc.ConnectionState().DidResume, want)
			}
			tc.Close()
		}
	}
}

// TestTLSHeldPlaintext: a handler that takes its input only from Run (not
// from OnData), with MaxInbound far below what the client sends: reading
// stops at the limit with records decrypted or not in the tls.Conn, and
// each Run that consumes makes room for the next of them, so every byte
// arrives, in order, without the client sending more.
func TestTLSHeldPlaintext(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	conns := make(chan *Conn, 1)
	arrived := make(chan struct{}, 1)
	e := newEngine(t, Config{Loops: 1, MaxInbound: 4 << 10, ReadBufferSize: 4 << 10})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), Funcs{
		Open: func(c *Conn) { conns <- c },
		Data: func(*Conn) { // takes nothing: the input waits for Run
			select {
			case arrived <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tc := dialTLSClient(t, ln.Addr().String(), ca.ClientConfig())
	want := pattern(200<<10, 9)
	go tc.Write(want)
	c := <-conns
	var got []byte
	took := make(chan int, 1) // a Run after the deadline must not block the loop
	take := func(c *Conn) {
		b, _ := c.Next(-1)
		got = append(got, b...)
		took <- len(b)
	}
	deadline := time.After(waitTimeout)
	for len(got) < len(want) {
		select { // OnData saw input: take it
		case <-arrived:
		case <-deadline:
			t.Fatalf("stalled at %d of %d bytes", len(got), len(want))
		}
		if err := c.Run(take); err != nil {
			t.Fatal(err)
		}
		select {
		case <-took:
		case <-deadline:
			t.Fatalf("stalled at %d of %d bytes", len(got), len(want))
		}
	}
	if d := diff(got, want); d != "" {
		t.Fatal(d)
	}
}

// tlsPeer is a crypto/tls server on 127.0.0.1 with cfg that runs serve on
// each connection (then closes it), closed by t.Cleanup.
func tlsPeer(t *testing.T, cfg *tls.Config, serve func(c net.Conn)) net.Listener {
	t.Helper()
	srv, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return srv
}
