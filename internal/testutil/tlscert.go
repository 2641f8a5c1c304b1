package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// TLSAuthority is a test certificate authority with the certificates the
// TLS tests use, all made afresh (ECDSA P-256) for one test.
type TLSAuthority struct {
	// Pool trusts the authority: a client's RootCAs, a server's ClientCAs.
	Pool *x509.CertPool
	// Server is valid for localhost, 127.0.0.1 and ::1; Other for
	// other.test (an SNI choice); Client is a client certificate.
	Server, Other, Client tls.Certificate
	// CA is the authority's own certificate.
	CA    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// NewTLSAuthority makes an authority and its certificates. Any goroutine.
func NewTLSAuthority(t testing.TB) *TLSAuthority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "airsock test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	a := &TLSAuthority{Pool: x509.NewCertPool(), CA: ca, caKey: key}
	a.Pool.AddCert(ca)
	a.Server = a.Issue(t, "localhost", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), false)
	a.Other = a.Issue(t, "other.test", []string{"other.test"}, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), false)
	a.Client = a.Issue(t, "client", nil, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), true)
	return a
}

// Issue makes a certificate signed by the authority for names and ips,
// valid from notBefore to notAfter, for a client or a server.
func (a *TLSAuthority) Issue(t testing.TB, cn string, names []string, ips []net.IP, notBefore, notAfter time.Time, client bool) tls.Certificate {
	t.Helper()
	return issue(t, a.CA, a.caKey, cn, names, ips, notBefore, notAfter, client)
}

// IssueUnder makes a server certificate for names signed by parent, a
// certificate that may not sign (an invalid chain: parent is no CA), with
// parent in its chain.
func (a *TLSAuthority) IssueUnder(t testing.TB, parent tls.Certificate, cn string, names []string) tls.Certificate {
	t.Helper()
	c := issue(t, parent.Leaf, parent.PrivateKey.(*ecdsa.PrivateKey), cn, names, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), false)
	c.Certificate = append(c.Certificate, parent.Certificate...)
	return c
}

// Intermediate makes a CA certificate signed by the authority, for chains
// of three.
func (a *TLSAuthority) Intermediate(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "airsock test intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.CA, &key.PublicKey, a.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}
}

// issue makes a certificate signed by parent with parentKey.
func issue(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, names []string, ips []net.IP, notBefore, notAfter time.Time, client bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		IPAddresses:  ips,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// ServerConfig is a server configuration with the Server certificate.
func (a *TLSAuthority) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{a.Server}}
}

// ClientConfig is a client configuration that trusts the authority.
func (a *TLSAuthority) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: a.Pool}
}
