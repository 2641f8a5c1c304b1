package proxyproto

import (
	"bytes"
	"strings"
	"testing"
)

// The examples and limits of the specification's section 2.1, byte for
// byte.
func TestSpecV1Examples(t *testing.T) {
	ffff := strings.TrimSuffix(strings.Repeat("ffff:", 8), ":") // 39 chars
	tests := []struct {
		line   string
		length int // as the specification counts it
		want   Header
	}{
		{"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", 47,
			Header{Version: 1, Command: Proxy, Transport: TCP4, Source: ap("192.168.0.1:56324"), Destination: ap("192.168.0.11:443")}},
		{"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", 56,
			Header{Version: 1, Command: Proxy, Transport: TCP4, Source: ap("255.255.255.255:65535"), Destination: ap("255.255.255.255:65535")}},
		{"PROXY TCP6 " + ffff + " " + ffff + " 65535 65535\r\n", 104,
			Header{Version: 1, Command: Proxy, Transport: TCP6, Source: ap("[" + ffff + "]:65535"), Destination: ap("[" + ffff + "]:65535")}},
		{"PROXY UNKNOWN\r\n", 15, Header{Version: 1, Command: Local, Transport: Unspec}},
		{"PROXY UNKNOWN " + ffff + " " + ffff + " 65535 65535\r\n", 107, Header{Version: 1, Command: Local, Transport: Unspec}},
	}
	for _, tt := range tests {
		if len(tt.line) != tt.length {
			t.Fatalf("%q is %d bytes, the specification says %d", tt.line, len(tt.line), tt.length)
		}
		// The specification's example has an HTTP request after the line.
		in := []byte(tt.line + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n")
		h := mustParse(t, in, tt.length)
		if !equalHeader(h, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.line, h, tt.want)
		}
		if !strings.HasPrefix(string(in[tt.length:]), "GET / ") {
			t.Errorf("the client's data does not start after n")
		}
		checkPrefixesTruncated(t, in, tt.length)
		if tt.length <= 104 { // the UNKNOWN with addresses writes back short
			if got := AppendV1(nil, h); string(got) != tt.line {
				t.Errorf("AppendV1 = %q, want %q", got, tt.line)
			}
		}
	}
}

// v2Vectors are v2 headers written out by hand from the layout of
// section 2.2, each with the Header it encodes.
var v2Vectors = []struct {
	name string
	hex  string
	want Header
}{
	{"TCP4", `0d0a0d0a000d0a515549540a 21 11 000c
		c0a80001 c0a8000b dc04 01bb`,
		Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("192.168.0.1:56324"), Destination: ap("192.168.0.11:443")}},
	{"UDP4", `0d0a0d0a000d0a515549540a 21 12 000c
		0a000001 0a000002 0035 0035`,
		Header{Version: 2, Command: Proxy, Transport: UDP4, Source: ap("10.0.0.1:53"), Destination: ap("10.0.0.2:53")}},
	{"TCP6", `0d0a0d0a000d0a515549540a 21 21 0024
		20010db8000000000000000000000001 20010db8000000000000000000000002 d431 0050`,
		Header{Version: 2, Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:54321"), Destination: ap("[2001:db8::2]:80")}},
	{"UDP6 mapped", `0d0a0d0a000d0a515549540a 21 22 0024
		00000000000000000000ffffc0000201 00000000000000000000ffffc0000202 0001 0002`,
		Header{Version: 2, Command: Proxy, Transport: UDP6, Source: ap("[::ffff:192.0.2.1]:1"), Destination: ap("[::ffff:192.0.2.2]:2")}},
	{"LOCAL", `0d0a0d0a000d0a515549540a 20 00 0000`,
		Header{Version: 2, Command: Local, Transport: Unspec}},
	{"PROXY UNSPEC", `0d0a0d0a000d0a515549540a 21 00 0000`,
		Header{Version: 2, Command: Proxy, Transport: Unspec}},
	{"LOCAL TCP4", `0d0a0d0a000d0a515549540a 20 11 000c
		7f000001 7f000001 0000 0000`,
		Header{Version: 2, Command: Local, Transport: TCP4, Source: ap("127.0.0.1:0"), Destination: ap("127.0.0.1:0")}},
	{"UNIX stream", `0d0a0d0a000d0a515549540a 21 31 00d8
		2f746d702f61 ` + strings.Repeat("00", 102) + `
		2f72756e2f62 ` + strings.Repeat("00", 102),
		Header{Version: 2, Command: Proxy, Transport: UnixStream, SourcePath: "/tmp/a", DestinationPath: "/run/b"}},
	{"UNIX dgram abstract", `0d0a0d0a000d0a515549540a 21 32 00d8
		00616273 ` + strings.Repeat("00", 104) + `
		` + strings.Repeat("78", 108),
		Header{Version: 2, Command: Proxy, Transport: UnixDgram, SourcePath: "\x00abs", DestinationPath: strings.Repeat("x", 108)}},
	{"LOCAL with TLVs", `0d0a0d0a000d0a515549540a 20 00 0007
		04 0000 05 0001 2a`,
		Header{Version: 2, Command: Local, Transport: Unspec, TLVs: TLVs{4, 0, 0, 5, 0, 1, 0x2a}}},
	{"TCP4 with TLVs", `0d0a0d0a000d0a515549540a 21 11 004b
		c0a80001 c0a8000b dc04 01bb
		01 0002 6832
		02 000b 6578616d706c652e636f6d
		04 0003 000000
		20 001c 05 00000000
		   21 0007 544c5376312e33
		   22 000a 636c69656e742e636f6d
		30 0004 626c7565`,
		Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("192.168.0.1:56324"), Destination: ap("192.168.0.11:443"),
			TLVs: TLVs("\x01\x00\x02h2" + "\x02\x00\x0bexample.com" + "\x04\x00\x03\x00\x00\x00" +
				"\x20\x00\x1c\x05\x00\x00\x00\x00" + "\x21\x00\x07TLSv1.3" + "\x22\x00\x0aclient.com" + "\x30\x00\x04blue")}},
}

func TestSpecV2Vectors(t *testing.T) {
	for _, v := range v2Vectors {
		t.Run(v.name, func(t *testing.T) {
			b := unhexBytes(t, v.hex)
			in := append(bytes.Clone(b), "client data"...)
			h := mustParse(t, in, len(b))
			if !equalHeader(h, v.want) {
				t.Fatalf("Parse = %+v\nwant    %+v", h, v.want)
			}
			checkPrefixesTruncated(t, in, len(b))
			out, err := AppendV2(nil, h)
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("AppendV2 = %x, %v\nwant       %x", out, err, b)
			}
		})
	}
}

// haproxyVectors were captured from HAProxy 2.6.12 (Debian bookworm)
// relaying test connections to a listener that saved the bytes: send-proxy
// and send-proxy-v2 over IPv4 and IPv6, a health check with
// check-send-proxy (v2: LOCAL), and a TLS frontend with
// proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,
// crc32c,unique-id. Each is followed by the client's first bytes, as on the
// wire. They check the package against an independent implementation,
// its CRC32C included.
var haproxyVectors = []struct {
	name string
	hex  string
	n    int
	want Header
}{
	{"send-proxy TCP4", "50524f58592054435034203132372e302e302e31203132372e302e302e3120353030343020393030310d0a68656c6c6f2d7631", 43,
		Header{Version: 1, Command: Proxy, Transport: TCP4, Source: ap("127.0.0.1:50040"), Destination: ap("127.0.0.1:9001")}},
	{"send-proxy TCP6", "50524f58592054435036203a3a31203a3a3120353139363020393030340d0a68656c6c6f2d763136", 31,
		Header{Version: 1, Command: Proxy, Transport: TCP6, Source: ap("[::1]:51960"), Destination: ap("[::1]:9004")}},
	{"send-proxy-v2 TCP4", "0d0a0d0a000d0a515549540a2111000c7f0000017f000001cb16232a68656c6c6f2d7632", 28,
		Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("127.0.0.1:51990"), Destination: ap("127.0.0.1:9002")}},
	{"send-proxy-v2 TCP6", "0d0a0d0a000d0a515549540a212100240000000000000000000000000000000100000000000000000000000000000001e736232d68656c6c6f2d763236", 52,
		Header{Version: 2, Command: Proxy, Transport: TCP6, Source: ap("[::1]:59190"), Destination: ap("[::1]:9005")}},
	{"v2 health check", "0d0a0d0a000d0a515549540a20000000", 16,
		Header{Version: 2, Command: Local, Transport: Unspec}},
	{"v2 crc32c", "0d0a0d0a000d0a515549540a211100137f0000017f0000019668233003000468793f5568656c6c6f2d637263", 35,
		Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("127.0.0.1:38504"), Destination: ap("127.0.0.1:9008"),
			TLVs: TLVs{0x03, 0x00, 0x04, 0x68, 0x79, 0x3f, 0x55}}},
	{"v2 TLS", "0d0a0d0a000d0a515549540a211100ac7f0000017f000001de88232b03000442ead4d4010002683202000d70726f78792e6578616d706c6505002e37463030303030313a444538385f37463030303030313a323332425f36423046394632455f303030303a334234312000500700000000210007544c5376312e3322000e636c69656e742e6578616d706c652500075253413230343824000a5253412d534841323536230016544c535f4145535f3235365f47434d5f53484133383468656c6c6f2d746c730a", 188,
		Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("127.0.0.1:56968"), Destination: ap("127.0.0.1:9003")}},
}

func TestHAProxyVectors(t *testing.T) {
	for _, v := range haproxyVectors {
		t.Run(v.name, func(t *testing.T) {
			in := unhexBytes(t, v.hex)
			h := mustParse(t, in, v.n)
			want := v.want
			if want.TLVs == nil {
				want.TLVs = h.TLVs // checked by TestHAProxyTLS
			}
			if !equalHeader(h, want) {
				t.Fatalf("Parse = %+v\nwant    %+v", h, want)
			}
			checkPrefixesTruncated(t, in, v.n)
			var out []byte
			if h.Version == 1 {
				out = AppendV1(nil, h)
			} else {
				var err error
				if out, err = AppendV2(nil, h); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out, in[:v.n]) {
				t.Fatalf("Append = %x\nwant     %x", out, in[:v.n])
			}
		})
	}
}

func TestHAProxyTLS(t *testing.T) {
	v := haproxyVectors[len(haproxyVectors)-1]
	in := unhexBytes(t, v.hex)
	h := mustParse(t, in, v.n)
	if string(in[v.n:]) != "hello-tls\n" {
		t.Fatalf("client data %q", in[v.n:])
	}
	if c, ok := h.TLVs.CRC32C(); !ok || c != 0x42ead4d4 {
		t.Errorf("CRC32C() = %#x, %v", c, ok)
	}
	if a, ok := h.TLVs.ALPN(); !ok || string(a) != "h2" {
		t.Errorf("ALPN() = %q, %v", a, ok)
	}
	if a, ok := h.TLVs.Authority(); !ok || a != "proxy.example" {
		t.Errorf("Authority() = %q, %v", a, ok)
	}
	if id, ok := h.TLVs.UniqueID(); !ok || string(id) != "7F000001:DE88_7F000001:232B_6B0F9F2E_0000:3B41" {
		t.Errorf("UniqueID() = %q, %v", id, ok)
	}
	if _, ok := h.TLVs.NetNS(); ok {
		t.Errorf("NetNS() present")
	}
	s, ok := h.TLVs.SSL()
	if !ok || s.Client != ClientSSL|ClientCertConn|ClientCertSess || s.Verify != 0 {
		t.Fatalf("SSL() = %+v, %v", s, ok)
	}
	for _, c := range []struct {
		get  func() (string, bool)
		want string
	}{
		{s.Version, "TLSv1.3"}, {s.CN, "client.example"}, {s.Cipher, "TLS_AES_256_GCM_SHA384"},
		{s.SigAlg, "RSA-SHA256"}, {s.KeyAlg, "RSA2048"},
	} {
		if got, ok := c.get(); !ok || got != c.want {
			t.Errorf("SSL sub-TLV = %q, %v, want %q", got, ok, c.want)
		}
	}
	var types []TLVType
	for typ := range h.TLVs.All() {
		types = append(types, typ)
	}
	if want := []TLVType{TypeCRC32C, TypeALPN, TypeAuthority, TypeUniqueID, TypeSSL}; !equalTypes(types, want) {
		t.Errorf("All() types = %v, want %v", types, want)
	}
	// The checksum is haproxy's: confirm it with the reference CRC too.
	hdr := bytes.Clone(in[:v.n])
	copy(hdr[31:35], []byte{0, 0, 0, 0})
	if got := crc32cRef(hdr); got != 0x42ead4d4 {
		t.Errorf("reference CRC32C = %#x", got)
	}
}

func equalTypes(a, b []TLVType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
