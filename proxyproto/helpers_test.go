package proxyproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// unhexBytes decodes hex written with any spaces or newlines in it.
func unhexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func equalHeader(a, b Header) bool {
	return a.Version == b.Version && a.Command == b.Command && a.Transport == b.Transport &&
		a.Source == b.Source && a.Destination == b.Destination &&
		a.SourcePath == b.SourcePath && a.DestinationPath == b.DestinationPath &&
		bytes.Equal(a.TLVs, b.TLVs)
}

// mustParse parses b, which must hold exactly one header of length n
// followed by anything.
func mustParse(t testing.TB, b []byte, n int) Header {
	t.Helper()
	h, got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%q): %v", b, err)
	}
	if got != n {
		t.Fatalf("Parse(%q): n = %d, want %d", b, got, n)
	}
	return h
}

// syntaxError returns err as a *SyntaxError or fails.
func syntaxError(t testing.TB, err error) *SyntaxError {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	return se
}

// checkPrefixesTruncated asserts that every proper prefix of a valid
// header parses as ErrTruncated: never a wrong success, never an error.
func checkPrefixesTruncated(t testing.TB, b []byte, n int) {
	t.Helper()
	for i := range n {
		h, m, err := Parse(b[:i])
		if err != ErrTruncated || m != 0 || !equalHeader(h, Header{}) {
			t.Fatalf("Parse of the %d-byte prefix of %q = (%+v, %d, %v), want ErrTruncated", i, b[:n], h, m, err)
		}
	}
}

// crc32cRef is a bit-at-a-time CRC32C (reflected polynomial 0x82F63B78),
// independent of hash/crc32, to check the package's checksums against.
func crc32cRef(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}
