package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/airsock/airsock/internal/selfsigned"
)

// serveTLSConfig is serve's TLS configuration from its flags: a
// certificate and key from files, or one made at start (written to out,
// if set, for a client to trust); nil without TLS flags. line tells what
// is served.
func serveTLSConfig(certFile, keyFile string, self bool, out string, udp bool) (cfg *tls.Config, line string, err error) {
	files := certFile != "" || keyFile != ""
	switch {
	case !files && !self:
		if out != "" {
			return nil, "", errors.New("--tls-self-signed-out needs --tls-self-signed")
		}
		return nil, "", nil
	case files && self:
		return nil, "", errors.New("--tls-self-signed and --tls-cert/--tls-key exclude each other")
	case files && (certFile == "" || keyFile == ""):
		return nil, "", errors.New("--tls-cert and --tls-key go together")
	case udp:
		return nil, "", errors.New("TLS is for TCP: --udp takes no --tls-* flag")
	}
	var cert tls.Certificate
	if self {
		cert, err = selfsigned.Certificate("localhost", "127.0.0.1", "::1")
		if err == nil && out != "" {
			err = os.WriteFile(out, selfsigned.PEM(cert), 0o644)
		}
		line = "tls: self-signed certificate for localhost, 127.0.0.1, ::1, sha256 " + selfsigned.Fingerprint(cert)
	} else {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		line = "tls: certificate " + certFile
	}
	if err != nil {
		return nil, "", fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, line, nil
}

// loadTLSConfig is load's TLS client configuration: verifying against the
// certificates in caFile, or, without one, not verifying.
func loadTLSConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool}, nil
}
