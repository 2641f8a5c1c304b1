package serversocket

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/loop"
)

// SecureSocket is AIR's flash.net.SecureSocket: a Socket whose connection
// is TLS, with the standard crypto/tls on the socket's loop (no goroutine
// once the handshake is done). Connect handshakes and checks the server's
// certificate against the system's trust store and the certificates added
// with AddBinaryChainBuildingCertificate, for the host connected to: a
// trusted certificate gives the Connect event; another gives, if anybody
// listens for it, a cancelable CertificateError event (a
// SecurityErrorEvent) whose PreventDefault accepts the certificate, and
// otherwise, or by default, closes the connection with an IOErrorType
// event (#2031). ServerCertificate and ServerCertificateStatus tell the
// outcome from then on. Everything else is Socket's.
//
// Revocation is not checked (no OCSP or CRL fetch), as AIR on systems
// without them: the status is never CertificateRevoked here.
type SecureSocket struct {
	Socket
	mu      sync.Mutex
	roots   []*x509.Certificate // added as trusted anchors
	chain   []*x509.Certificate // added to build chains with, not trusted
	host    string              // what Connect was given, for verification
	status  atomic.Value        // string: ServerCertificateStatus
	cert    atomic.Pointer[x509.Certificate]
	nowFunc func() time.Time // the verification's clock; tests set it
}

// AIR's CertificateStatus values, which ServerCertificateStatus returns.
const (
	CertificateTrusted           = "trusted"           // valid, chained to a trusted anchor, for the host
	CertificateExpired           = "expired"           // past its validity (or a certificate of its chain is)
	CertificateNotYetValid       = "notYetValid"       // before its validity
	CertificateInvalid           = "invalid"           // malformed, or not for a server
	CertificateInvalidChain      = "invalidChain"      // a certificate of the chain may not sign the next
	CertificatePrincipalMismatch = "principalMismatch" // not for the host connected to
	CertificateRevoked           = "revoked"           // revoked by its issuer (never reported here: no revocation check)
	CertificateUntrustedSigners  = "untrustedSigners"  // not chained to a trusted anchor
	CertificateUnknown           = "unknown"           // not checked yet
)

// SecureSocketIsSupported reports whether SecureSocket works here: true
// wherever the package builds. Callable on any goroutine.
func SecureSocketIsSupported() bool { return true }

// NewSecureSocket returns an unconnected SecureSocket on the default
// engine. Callable on any goroutine.
func NewSecureSocket() (*SecureSocket, error) {
	e, err := DefaultEngine()
	if err != nil {
		return nil, err
	}
	return NewSecureSocketOn(e), nil
}

// NewSecureSocketOn returns an unconnected SecureSocket whose connections
// live on e. Callable on any goroutine.
func NewSecureSocketOn(e *loop.Engine) *SecureSocket {
	s := &SecureSocket{nowFunc: time.Now}
	s.Socket.init(e, s)
	s.status.Store(CertificateUnknown)
	return s
}

// Connect connects to host and port over TLS, as Socket.Connect does,
// with the certificate checks of the type's description; host is the name
// the certificate must be for (and the SNI sent, for a name). Callable on
// any goroutine.
func (s *SecureSocket) Connect(host string, port int) error {
	s.mu.Lock()
	s.host = host
	s.mu.Unlock()
	s.status.Store(CertificateUnknown)
	s.cert.Store(nil)
	return s.connect(host, port, s)
}

// AddBinaryChainBuildingCertificate adds a DER-encoded X.509 certificate
// for the checks of later Connects: a trusted anchor (trusted), or a
// certificate that may complete a server's chain without being trusted.
// A certificate that does not parse is an ArgumentError #2004. Callable on
// any goroutine.
func (s *SecureSocket) AddBinaryChainBuildingCertificate(der []byte, trusted bool) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return errInvalidParameter(err)
	}
	s.mu.Lock()
	if trusted {
		s.roots = append(s.roots, c)
	} else {
		s.chain = append(s.chain, c)
	}
	s.mu.Unlock()
	return nil
}

// ServerCertificate returns the server's certificate of the last Connect
// once its handshake is done, or nil. Callable on any goroutine.
func (s *SecureSocket) ServerCertificate() *x509.Certificate { return s.cert.Load() }

// ServerCertificateStatus returns the outcome of the last Connect's
// certificate check, one of the Certificate* values; CertificateUnknown
// before it. Callable on any goroutine.
func (s *SecureSocket) ServerCertificateStatus() string { return s.status.Load().(string) }

// clientConfig is the TLS configuration of a Connect to host: crypto/tls
// does not verify (verify does, on the loop, with AIR's statuses).
func (s *SecureSocket) clientConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// certificateRefused is the dial error of a certificate that was not
// accepted; its status goes into the IOErrorType event's text.
type certificateRefused struct {
	status string
	err    error
}

func (e *certificateRefused) Error() string { return "certificate " + e.status + ": " + e.err.Error() }
func (e *certificateRefused) Unwrap() error { return e.err }

// verify checks the server's certificate once the handshake is done, on
// the connection's loop goroutine, and decides: a trusted one, or one a
// CertificateError listener accepted, goes on to the Connect event.
func (s *SecureSocket) verify(state tls.ConnectionState) error {
	if len(state.PeerCertificates) == 0 {
		s.status.Store(CertificateInvalid)
		return &certificateRefused{status: CertificateInvalid, err: errors.New("no certificate")}
	}
	leaf := state.PeerCertificates[0]
	s.cert.Store(leaf)
	status, err := s.check(state.PeerCertificates)
	s.status.Store(status)
	if status == CertificateTrusted {
		return nil
	}
	if s.HasEventListener(CertificateError) {
		ev := NewSecurityErrorEvent(CertificateError, false, true, "Error #2048: certificate "+status+": "+err.Error(), 2048)
		if !s.DispatchEvent(ev) { // PreventDefault: the listener accepts it
			return nil
		}
	}
	return &certificateRefused{status: status, err: err}
}

// check verifies chain (the server's, leaf first) for the host and
// returns AIR's status for the outcome, and the error behind it.
func (s *SecureSocket) check(chain []*x509.Certificate) (string, error) {
	s.mu.Lock()
	host, roots, extra := s.host, s.roots, s.chain
	s.mu.Unlock()
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	for _, c := range extra {
		inter.AddCert(c)
	}
	now := s.nowFunc()
	opts := x509.VerifyOptions{DNSName: host, Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	_, err = chain[0].Verify(opts)
	status := certificateStatus(now, err)
	if status == CertificateUntrustedSigners && brokenChain(chain) {
		status = CertificateInvalidChain
	}
	return status, err
}

// certificateStatus maps a verification error at now to AIR's status.
func certificateStatus(now time.Time, err error) string {
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var authority x509.UnknownAuthorityError
	switch {
	case err == nil:
		return CertificateTrusted
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			if now.Before(invalid.Cert.NotBefore) {
				return CertificateNotYetValid
			}
			return CertificateExpired
		case x509.NotAuthorizedToSign, x509.TooManyIntermediates, x509.CANotAuthorizedForThisName,
			x509.CANotAuthorizedForExtKeyUsage, x509.NameConstraintsWithoutSANs, x509.UnconstrainedName:
			return CertificateInvalidChain
		}
		return CertificateInvalid
	case errors.As(err, &host):
		return CertificatePrincipalMismatch
	case errors.As(err, &authority):
		return CertificateUntrustedSigners
	}
	return CertificateInvalid
}

// brokenChain reports whether the chain a server sent (leaf first) cannot
// be a chain: a certificate in it is signed by none that follows, or one
// that signs is no CA. crypto/x509 reports such a chain as an unknown
// authority (it finds no other path); AIR tells it apart as invalidChain.
func brokenChain(chain []*x509.Certificate) bool {
	for i := 0; i+1 < len(chain); i++ {
		parent := chain[i+1]
		if chain[i].CheckSignatureFrom(parent) != nil || !parent.IsCA {
			return true
		}
	}
	return false
}
