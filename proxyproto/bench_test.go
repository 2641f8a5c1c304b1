package proxyproto

import "testing"

// Parse allocates nothing but for TLVs (one copy) and UNIX paths; the
// figures are per header.
func BenchmarkParse(b *testing.B) {
	v2tcp4, _ := AppendV2(nil, Header{Command: Proxy, Transport: TCP4, Source: ap("10.0.0.1:1234"), Destination: ap("10.0.0.2:443")})
	v2tcp6, _ := AppendV2(nil, Header{Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1234"), Destination: ap("[2001:db8::2]:443")})
	tls := unhexBytes(b, haproxyVectors[len(haproxyVectors)-1].hex)
	for _, bb := range []struct {
		name string
		in   []byte
	}{
		{"v1-TCP4", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")},
		{"v1-TCP6", []byte("PROXY TCP6 2001:db8:85a3::8a2e:370:7334 2001:db8::2 56324 443\r\n")},
		{"v2-TCP4", v2tcp4},
		{"v2-TCP6", v2tcp6},
		{"v2-TLS-TLVs-CRC32C", tls}, // haproxy's, 188 bytes
		{"v2-truncated", v2tcp6[:30]},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Parse(bb.in); err != nil && err != ErrTruncated {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	h4 := Header{Command: Proxy, Transport: TCP4, Source: ap("192.168.0.1:56324"), Destination: ap("192.168.0.11:443")}
	h6 := Header{Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:56324"), Destination: ap("[2001:db8::2]:443")}
	crc := h4
	crc.TLVs = AppendTLV(AppendTLV(nil, TypeAuthority, []byte("example.com")), TypeCRC32C, make([]byte, 4))
	buf := make([]byte, 0, 256)
	b.Run("v1-TCP4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendV1(buf[:0], h4)
		}
	})
	b.Run("v1-TCP6", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendV1(buf[:0], h6)
		}
	})
	b.Run("v2-TCP4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendV2(buf[:0], h4)
		}
	})
	b.Run("v2-TCP4-CRC32C", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendV2(buf[:0], crc)
		}
	})
}
