package selfsigned

import (
	"crypto/x509"
	"testing"
)

// TestCertificate: the certificate verifies, as its own root, for each
// host it was made for and for no other.
func TestCertificate(t *testing.T) {
	c, err := Certificate("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(PEM(c)) {
		t.Fatal("PEM does not parse")
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("verified for example.com")
	}
	if len(Fingerprint(c)) != 64 {
		t.Errorf("fingerprint %q", Fingerprint(c))
	}
}
