package serversocket_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// SecureSocket (AIR's flash.net.SecureSocket) against ServerSocket.ListenTLS
// (an airsock extension), and the certificate statuses of the AS3
// reference against crypto/tls servers with bad certificates.

// tlsEchoServer is a ServerSocket listening with TLS on 127.0.0.1 with
// cert, echoing what each socket receives.
func tlsEchoServer(t *testing.T, e *loop.Engine, cert tls.Certificate) *serversocket.ServerSocket {
	t.Helper()
	srv := serversocket.NewOn(e)
	srv.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		s := ev.(*serversocket.ServerSocketConnectEvent).Socket
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b := make([]byte, s.BytesAvailable())
			s.ReadBytes(b, 0, 0)
			s.WriteBytes(b, 0, 0)
		}, 0)
	}, 0)
	if err := srv.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenTLS(0, &tls.Config{Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// secureOutcome is what a SecureSocket's Connect led to: its events in
// order, by type, and the echo of what was sent on Connect.
type secureOutcome struct {
	events []string
	echo   string
	text   string // an IOErrorType event's text
}

// connectSecure connects s to host:port, sends msg on Connect and waits
// for its echo or for an IOErrorType event.
func connectSecure(t *testing.T, s *serversocket.SecureSocket, host string, port int, msg string) secureOutcome {
	t.Helper()
	events := newRecorder[string]()
	done := make(chan secureOutcome, 1)
	var got []byte
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) {
		events.add(serversocket.Connect)
		s.WriteUTFBytes(msg)
		s.Flush()
	}, 0)
	s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
		b := make([]byte, s.BytesAvailable())
		s.ReadBytes(b, 0, 0)
		got = append(got, b...)
		if len(got) >= len(msg) {
			events.add(serversocket.SocketData)
			done <- secureOutcome{events: events.snapshot(), echo: string(got)}
		}
	}, 0)
	s.AddEventListener(serversocket.IOErrorType, func(ev serversocket.Eventer) {
		events.add(serversocket.IOErrorType)
		done <- secureOutcome{events: events.snapshot(), text: ev.(*serversocket.IOErrorEvent).Text}
	}, 0)
	if err := s.Connect(host, port); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-done:
		return o
	case <-time.After(waitLimit):
		t.Fatalf("no echo and no ioError within %v (events %q)", waitLimit, events.snapshot())
	}
	return secureOutcome{}
}

// TestSecureSocketEcho: a SecureSocket that trusts the test authority
// (AddBinaryChainBuildingCertificate) connects to a TLS ServerSocket: the
// Connect event, status trusted, the server's certificate, and its bytes
// echoed through the accepted Socket in plaintext.
func TestSecureSocketEcho(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, loop.Config{})
	srv := tlsEchoServer(t, e, ca.Server)
	s := serversocket.NewSecureSocketOn(e)
	if got := s.ServerCertificateStatus(); got != serversocket.CertificateUnknown {
		t.Fatalf("status before Connect: %q", got)
	}
	if err := s.AddBinaryChainBuildingCertificate([]byte("not a certificate"), true); err == nil {
		t.Fatal("a subject, not a certificate, was taken")
	} else if errKind(err) != "ArgumentError 2004" {
		t.Fatalf("bad DER: %v, want ArgumentError #2004", err)
	}
	if err := s.AddBinaryChainBuildingCertificate(ca.CA.Raw, true); err != nil {
		t.Fatal(err)
	}
	msg := strings.Repeat("secure ", 3000)
	o := connectSecure(t, s, "localhost", srv.LocalPort(), msg)
	if o.echo != msg || o.events[0] != serversocket.Connect {
		t.Fatalf("events %q, echo of %d bytes (want %d)", o.events, len(o.echo), len(msg))
	}
	if st := s.ServerCertificateStatus(); st != serversocket.CertificateTrusted {
		t.Fatalf("status %q, want trusted", st)
	}
	if c := s.ServerCertificate(); c == nil || c.Subject.CommonName != "localhost" {
		t.Fatalf("ServerCertificate %v", c)
	}
	s.Close()
}

// TestSecureSocketStatuses: the server certificate's problems give AIR's
// statuses, each refused with an IOErrorType event (#2031, the status in
// its text) and no Connect event, the status readable after: expired, not
// yet valid, for another host, from an authority not trusted, and signed
// by a certificate that may not sign.
func TestSecureSocketStatuses(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	local := []string{"localhost"}
	past, future := time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour)
	cases := []struct {
		name, host string
		cert       tls.Certificate
		trust      bool
		want       string
	}{
		{"expired", "localhost", ca.Issue(t, "localhost", local, nil, past, past.Add(time.Hour), false), true, serversocket.CertificateExpired},
		{"not yet valid", "localhost", ca.Issue(t, "localhost", local, nil, future, future.Add(time.Hour), false), true, serversocket.CertificateNotYetValid},
		{"other host", "localhost", ca.Other, true, serversocket.CertificatePrincipalMismatch},
		{"untrusted authority", "localhost", ca.Server, false, serversocket.CertificateUntrustedSigners},
		{"signed by a leaf", "localhost", ca.IssueUnder(t, ca.Other, "localhost", local), true, serversocket.CertificateInvalidChain},
	}
	e := newEngine(t, loop.Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := tlsEchoServer(t, e, c.cert)
			s := serversocket.NewSecureSocketOn(e)
			if c.trust {
				s.AddBinaryChainBuildingCertificate(ca.CA.Raw, true)
			}
			o := connectSecure(t, s, c.host, srv.LocalPort(), "x")
			if len(o.events) != 1 || o.events[0] != serversocket.IOErrorType || !strings.Contains(o.text, "#2031") || !strings.Contains(o.text, c.want) {
				t.Fatalf("events %q (text %q), want one ioError #2031 naming %s", o.events, o.text, c.want)
			}
			if st := s.ServerCertificateStatus(); st != c.want {
				t.Fatalf("status %q, want %q", st, c.want)
			}
			if s.ServerCertificate() == nil {
				t.Fatal("no ServerCertificate after the handshake")
			}
		})
	}
}

// TestSecureSocketCertificateError: with a CertificateError listener, an
// untrusted certificate is first offered to it (a cancelable
// SecurityErrorEvent); PreventDefault accepts it (Connect, then the echo),
// and without it the default closes (IOErrorType).
func TestSecureSocketCertificateError(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, loop.Config{})
	srv := tlsEchoServer(t, e, ca.Server)
	for _, accept := range []bool{true, false} {
		s := serversocket.NewSecureSocketOn(e)
		seen := make(chan string, 2)
		s.AddEventListener(serversocket.CertificateError, func(ev serversocket.Eventer) {
			seen <- ev.String()
			if !ev.Cancelable() {
				t.Error("certificateError is not cancelable")
			}
			if accept {
				ev.PreventDefault()
			}
		}, 0)
		o := connectSecure(t, s, "localhost", srv.LocalPort(), "accepted?")
		if got := <-seen; !strings.Contains(got, "certificateError") || !strings.Contains(got, "untrustedSigners") {
			t.Fatalf("the event: %s", got)
		}
		switch {
		case accept && (o.echo != "accepted?" || o.events[0] != serversocket.Connect):
			t.Fatalf("accepted: events %q, echo %q", o.events, o.echo)
		case !accept && (len(o.events) != 1 || o.events[0] != serversocket.IOErrorType):
			t.Fatalf("refused: events %q", o.events)
		}
		if st := s.ServerCertificateStatus(); st != serversocket.CertificateUntrustedSigners {
			t.Fatalf("status %q", st)
		}
		s.Close()
	}
}

// TestSecureSocketChainBuilding: a server that sends only its leaf is
// trusted when the intermediate that signed it was added untrusted
// (AddBinaryChainBuildingCertificate(der, false)) and the root trusted;
// with the root alone, its chain does not build (untrustedSigners).
func TestSecureSocketChainBuilding(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	inter := ca.Intermediate(t)
	leaf := ca.IssueUnder(t, inter, "localhost", []string{"localhost"})
	leaf.Certificate = leaf.Certificate[:1] // the leaf alone
	e := newEngine(t, loop.Config{})
	srv := tlsEchoServer(t, e, leaf)
	for _, withInter := range []bool{true, false} {
		s := serversocket.NewSecureSocketOn(e)
		s.AddBinaryChainBuildingCertificate(ca.CA.Raw, true)
		want := serversocket.CertificateUntrustedSigners
		if withInter {
			s.AddBinaryChainBuildingCertificate(inter.Certificate[0], false)
			want = serversocket.CertificateTrusted
		}
		connectSecure(t, s, "localhost", srv.LocalPort(), "x")
		if st := s.ServerCertificateStatus(); st != want {
			t.Fatalf("intermediate added %v: status %q, want %q", withInter, st, want)
		}
		s.Close()
	}
}
