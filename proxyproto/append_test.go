package proxyproto

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// sampleHeaders are headers as Parse returns them, for both versions and
// every transport, with and without TLVs.
func sampleHeaders(t testing.TB) []Header {
	tlvs := AppendTLV(nil, TypeALPN, []byte("http/1.1"))
	tlvs = AppendTLV(tlvs, TypeAuthority, []byte("example.org"))
	tlvs = AppendTLV(tlvs, TypeUniqueID, bytes.Repeat([]byte{0xab}, 128))
	tlvs = AppendSSL(tlvs, SSL{Client: ClientSSL, Verify: 1, TLVs: AppendTLV(AppendTLV(nil, SubtypeSSLVersion, []byte("TLSv1.2")), SubtypeSSLCipher, []byte("ECDHE-RSA-AES128-GCM-SHA256"))})
	tlvs = AppendTLV(tlvs, TypeNetNS, []byte("ns1"))
	tlvs = AppendTLV(tlvs, TypeNoop, nil)
	tlvs = AppendTLV(tlvs, 0xe0, []byte{1, 2, 3}) // application-specific
	return []Header{
		{Version: 1, Command: Proxy, Transport: TCP4, Source: ap("1.2.3.4:0"), Destination: ap("255.0.10.100:65535")},
		{Version: 1, Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1"), Destination: ap("[::]:80")},
		{Version: 1, Command: Proxy, Transport: TCP6, Source: ap("[::ffff:10.0.0.1]:1"), Destination: ap("[fe80::1:2:3:4]:22")},
		{Version: 1, Command: Local, Transport: Unspec},
		{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("10.1.2.3:4567"), Destination: ap("10.9.8.7:443")},
		{Version: 2, Command: Proxy, Transport: UDP4, Source: ap("10.1.2.3:4567"), Destination: ap("10.9.8.7:53")},
		{Version: 2, Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1"), Destination: ap("[2001:db8::ffff:1]:2"), TLVs: tlvs},
		{Version: 2, Command: Proxy, Transport: UDP6, Source: ap("[::1]:1"), Destination: ap("[::1]:2")},
		{Version: 2, Command: Proxy, Transport: UnixStream, SourcePath: "/run/client.sock", DestinationPath: "/run/server.sock"},
		{Version: 2, Command: Proxy, Transport: UnixDgram, SourcePath: "", DestinationPath: strings.Repeat("d", 108), TLVs: tlvs},
		{Version: 2, Command: Local, Transport: Unspec},
		{Version: 2, Command: Local, Transport: Unspec, TLVs: tlvs},
		{Version: 2, Command: Proxy, Transport: Unspec},
		{Version: 2, Command: Local, Transport: TCP4, Source: ap("0.0.0.0:0"), Destination: ap("0.0.0.0:0")},
	}
}

// encodings returns h written in its version's format.
func encodings(t testing.TB, h Header) [][]byte {
	t.Helper()
	if h.Version == 1 {
		return [][]byte{AppendV1(nil, h)}
	}
	b, err := AppendV2(nil, h)
	if err != nil {
		t.Fatalf("AppendV2(%+v): %v", h, err)
	}
	return [][]byte{b}
}

func TestRoundTrip(t *testing.T) {
	for _, h := range sampleHeaders(t) {
		for _, b := range encodings(t, h) {
			got := mustParse(t, b, len(b))
			if !equalHeader(got, h) {
				t.Errorf("Parse(Append(%+v)) = %+v", h, got)
			}
		}
		// Every header also goes through v2, and the IP ones through v1.
		h2 := h
		h2.Version = 2
		b, err := AppendV2(nil, h2)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustParse(t, b, len(b)); !equalHeader(got, h2) {
			t.Errorf("v2 round trip of %+v = %+v", h2, got)
		}
	}
}

func TestAppendV1(t *testing.T) {
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 7)
	zoned := netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 9)
	tests := []struct {
		h    Header
		want string
	}{
		{Header{Command: Proxy, Transport: TCP4, Source: ap("192.0.2.1:7"), Destination: ap("192.0.2.2:8")}, "PROXY TCP4 192.0.2.1 192.0.2.2 7 8\r\n"},
		{Header{Command: Proxy, Transport: TCP4, Source: mapped, Destination: ap("192.0.2.2:8")}, "PROXY TCP4 192.0.2.1 192.0.2.2 7 8\r\n"},
		{Header{Command: Proxy, Transport: TCP6, Source: ap("192.0.2.1:7"), Destination: mapped}, "PROXY TCP6 ::ffff:c000:201 ::ffff:c000:201 7 7\r\n"},
		{Header{Command: Proxy, Transport: TCP6, Source: zoned, Destination: ap("[2001:DB8::A]:0")}, "PROXY TCP6 fe80::1 2001:db8::a 9 0\r\n"},
		{Header{Command: Local, Transport: TCP4, Source: ap("192.0.2.1:7"), Destination: ap("192.0.2.2:8")}, "PROXY UNKNOWN\r\n"},
		{Header{Command: Proxy, Transport: UDP4, Source: ap("192.0.2.1:7"), Destination: ap("192.0.2.2:8")}, "PROXY UNKNOWN\r\n"},
		{Header{Command: Proxy, Transport: TCP4, Source: ap("[::1]:7"), Destination: ap("192.0.2.2:8")}, "PROXY UNKNOWN\r\n"},
		{Header{Command: Proxy, Transport: TCP6, Destination: ap("[::1]:8")}, "PROXY UNKNOWN\r\n"},
		{Header{Command: Proxy, Transport: UnixStream, SourcePath: "/a", DestinationPath: "/b"}, "PROXY UNKNOWN\r\n"},
		{Header{}, "PROXY UNKNOWN\r\n"},
	}
	for _, tt := range tests {
		got := AppendV1([]byte("x"), tt.h)
		if string(got) != "x"+tt.want {
			t.Errorf("AppendV1(%+v) = %q, want %q", tt.h, got[1:], tt.want)
		}
		mustParse(t, got[1:], len(tt.want))
	}
}

func TestAppendV2Errors(t *testing.T) {
	ok := Header{Command: Proxy, Transport: TCP4, Source: ap("1.2.3.4:1"), Destination: ap("1.2.3.4:2")}
	with := func(f func(*Header)) Header { h := ok; f(&h); return h }
	tests := []struct {
		name string
		h    Header
	}{
		{"command 2", with(func(h *Header) { h.Command = 2 })},
		{"transport 0x13", with(func(h *Header) { h.Transport = 0x13 })},
		{"TCP4 with IPv6", with(func(h *Header) { h.Source = ap("[::1]:1") })},
		{"TCP4 without addresses", with(func(h *Header) { h.Source = netip.AddrPort{} })},
		{"LOCAL TCP4 without addresses", Header{Command: Local, Transport: TCP4}},
		{"TCP6 without addresses", Header{Command: Proxy, Transport: TCP6}},
		{"UNIX path of 109", Header{Command: Proxy, Transport: UnixStream, SourcePath: strings.Repeat("p", 109)}},
		{"malformed TLVs", with(func(h *Header) { h.TLVs = TLVs{1, 0, 5, 'h'} })},
		{"bad CRC32C length", with(func(h *Header) { h.TLVs = AppendTLV(nil, TypeCRC32C, []byte{0}) })},
		{"over 65535 bytes", with(func(h *Header) { h.TLVs = AppendTLV(nil, TypeNoop, make([]byte, 65535-12-2)) })},
	}
	for _, tt := range tests {
		dst := []byte("keep")
		got, err := AppendV2(dst, tt.h)
		if err == nil || string(got) != "keep" || !strings.HasPrefix(err.Error(), "proxyproto: AppendV2: ") {
			t.Errorf("%s: AppendV2 = %q, %v; want an error and dst unchanged", tt.name, got, err)
		}
	}
	// The largest encodable header.
	h := with(func(h *Header) { h.TLVs = AppendTLV(nil, TypeNoop, make([]byte, 65535-12-3)) })
	b, err := AppendV2(nil, h)
	if err != nil || len(b) != 16+65535 {
		t.Fatalf("65535-byte header: %d, %v", len(b), err)
	}
	if _, n, err := ParseLimit(b, 65535); err != nil || n != len(b) {
		t.Fatalf("ParseLimit: %d, %v", n, err)
	}
}

func TestAppendTLVPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"AppendTLV": func() { AppendTLV(nil, TypeNoop, make([]byte, 65536)) },
		"AppendSSL": func() { AppendSSL(nil, SSL{TLVs: make(TLVs, 65531)}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s of an over-long value did not panic", name)
				}
			}()
			f()
		}()
	}
}

// AppendV2 fills a CRC32C TLV in; Parse verifies it; one flipped bit
// anywhere in the header fails the check.
func TestCRC32C(t *testing.T) {
	if got := crc32cRef([]byte("123456789")); got != 0xe3069283 { // the CRC-32C check value
		t.Fatalf("reference CRC32C = %#x", got)
	}
	tlvs := AppendTLV(nil, TypeAuthority, []byte("example.com"))
	tlvs = AppendTLV(tlvs, TypeCRC32C, []byte{0xde, 0xad, 0xbe, 0xef}) // any value: overwritten
	h := Header{Version: 2, Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1000"), Destination: ap("[2001:db8::2]:443"), TLVs: tlvs}
	b, err := AppendV2(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	at := 16 + 36 + 14 + 3
	sum := binary.BigEndian.Uint32(b[at:])
	zeroed := bytes.Clone(b)
	copy(zeroed[at:at+4], []byte{0, 0, 0, 0})
	if want := crc32cRef(zeroed); sum != want {
		t.Fatalf("AppendV2 wrote CRC32C %#x, want %#x", sum, want)
	}
	got := mustParse(t, b, len(b))
	if c, ok := got.TLVs.CRC32C(); !ok || c != sum {
		t.Fatalf("CRC32C() = %#x, %v", c, ok)
	}
	if _, ok := (TLVs{3, 0, 3, 1, 2, 3}).CRC32C(); ok {
		t.Fatal("CRC32C() of a 3-byte value")
	}
	for i := 12; i < len(b); i++ { // past the signature, whose bytes Parse checks first
		if i == at-3 {
			continue // the CRC32C TLV's type: change it and there is no checksum to fail
		}
		for bit := range 8 {
			bad := bytes.Clone(b)
			bad[i] ^= 1 << bit
			_, _, err := ParseLimit(bad, 65535)
			if err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
			if err == ErrTruncated {
				continue // a longer length field
			}
			syntaxError(t, err)
		}
	}
	// The flip of a checksum byte itself gives ErrChecksum.
	bad := bytes.Clone(b)
	bad[at+3] ^= 0x80
	if _, _, err := Parse(bad); !isErr(err, ErrChecksum) {
		t.Fatalf("bad checksum: %v", err)
	}
}

func isErr(err, target error) bool {
	se, ok := err.(*SyntaxError)
	return ok && se.Err == target
}
