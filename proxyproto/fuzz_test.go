package proxyproto

import (
	"bytes"
	"testing"
)

// FuzzParse checks, on any input: no panic; an error leaves n = 0 and a
// zero Header, and is ErrTruncated or a *SyntaxError; a refused input
// stays refused with more bytes, a truncated one has only truncated
// prefixes; a success round-trips through Append to the same Header (and,
// for v2, the same bytes) and each of its prefixes is ErrTruncated.
func FuzzParse(f *testing.F) {
	for _, v := range v2Vectors {
		f.Add(unhexBytes(f, v.hex))
	}
	for _, v := range haproxyVectors {
		f.Add(unhexBytes(f, v.hex))
	}
	for _, h := range sampleHeaders(f) {
		for _, b := range encodings(f, h) {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n",
		"PROXY TCP6 ::ffff:1.2.3.4 1:2:3:4:5:6:7:8 0 65535\r\n",
		"PROXY UNKNOWN whatever\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
		"GET / HTTP/1.1\r\n",
		sig + "\x21\x11\xff\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if n != 0 || !equalHeader(h, Header{}) {
				t.Fatalf("error %v with n = %d, h = %+v", err, n, h)
			}
			if err == ErrTruncated {
				for i := range b {
					if _, _, err := Parse(b[:i]); err != ErrTruncated {
						t.Fatalf("prefix %q of a truncated input: %v", b[:i], err)
					}
				}
				return
			}
			se := syntaxError(t, err)
			if se.Offset < 0 || se.Offset >= len(b) || se.Msg == "" {
				t.Fatalf("SyntaxError %+v for %d bytes", se, len(b))
			}
			if _, _, err := Parse(append(bytes.Clone(b), "\r\n"...)); err == nil || err == ErrTruncated {
				t.Fatalf("refused %q, accepted with more bytes: %v", b, err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n = %d for %d bytes", n, len(b))
		}
		if h2, n2, err := Parse(b[:n]); err != nil || n2 != n || !equalHeader(h2, h) {
			t.Fatalf("the header alone parses as %+v, %d, %v", h2, n2, err)
		}
		checkPrefixesTruncated(t, b, n)

		var out []byte
		if h.Version == 1 {
			out = AppendV1(nil, h)
		} else {
			if out, err = AppendV2(nil, h); err != nil {
				t.Fatalf("AppendV2(%+v): %v", h, err)
			}
			if !bytes.Equal(out, b[:n]) {
				t.Fatalf("AppendV2 = %x, parsed %x", out, b[:n])
			}
		}
		h2, n2, err := ParseLimit(out, maxV2Field)
		if err != nil || n2 != len(out) || !equalHeader(h2, h) {
			t.Fatalf("round trip of %q: %q parses as %+v, %d, %v; want %+v", b[:n], out, h2, n2, err, h)
		}
	})
}
