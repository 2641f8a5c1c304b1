package proxyproto

import "testing"

// The event loop's common case allocates nothing: an IP header without
// TLVs, and any incomplete one.
func TestParseAllocs(t *testing.T) {
	v2tcp4, _ := AppendV2(nil, Header{Command: Proxy, Transport: TCP4, Source: ap("10.0.0.1:1234"), Destination: ap("10.0.0.2:443")})
	v2tcp6, _ := AppendV2(nil, Header{Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1234"), Destination: ap("[2001:db8::2]:443")})
	withTLV, _ := AppendV2(nil, Header{Command: Proxy, Transport: TCP4, Source: ap("10.0.0.1:1234"), Destination: ap("10.0.0.2:443"),
		TLVs: AppendTLV(AppendTLV(nil, TypeAuthority, []byte("example.com")), TypeCRC32C, make([]byte, 4))})
	unix, _ := AppendV2(nil, Header{Command: Proxy, Transport: UnixStream, SourcePath: "/a", DestinationPath: "/b"})
	tests := []struct {
		name   string
		in     []byte
		allocs float64
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /"), 0},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 56324 443\r\n"), 0},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), 0},
		{"v2 TCP4", v2tcp4, 0},
		{"v2 TCP6", v2tcp6, 0},
		{"v1 truncated", []byte("PROXY TCP4 192.168.0.1 192.1"), 0},
		{"v2 truncated", v2tcp6[:20], 0},
		{"v2 TLVs: one copy", withTLV, 1},
		{"v2 UNIX: one string", unix, 1},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(100, func() {
			if _, _, err := Parse(tt.in); err != nil && err != ErrTruncated {
				t.Fatal(err)
			}
		})
		if got != tt.allocs {
			t.Errorf("Parse(%s) allocates %v times, want %v", tt.name, got, tt.allocs)
		}
	}

	h, _, _ := Parse(withTLV)
	buf := make([]byte, 0, 256)
	for name, f := range map[string]func(){
		"AppendV1": func() {
			AppendV1(buf, Header{Command: Proxy, Transport: TCP6, Source: ap("[2001:db8::1]:1"), Destination: ap("[::ffff:1.2.3.4]:2")})
		},
		"AppendV2": func() { _, _ = AppendV2(buf, h) },
		"All": func() {
			for range h.TLVs.All() {
			}
		},
		"Lookup": func() { h.TLVs.ALPN() },
	} {
		if got := testing.AllocsPerRun(100, f); got != 0 {
			t.Errorf("%s allocates %v times", name, got)
		}
	}
}
