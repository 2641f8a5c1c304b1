package proxyproto

import (
	"bytes"
	"testing"
)

func TestTLVsAll(t *testing.T) {
	tlvs := AppendTLV(nil, TypeNoop, nil)
	tlvs = AppendTLV(tlvs, TypeALPN, []byte("h2"))
	tlvs = AppendTLV(tlvs, TypeALPN, []byte("second")) // Lookup gives the first
	tlvs = AppendTLV(tlvs, 0xf0, []byte{9})

	type kv struct {
		k TLVType
		v string
	}
	var got []kv
	for k, v := range TLVs(tlvs).All() {
		got = append(got, kv{k, string(v)})
	}
	want := []kv{{TypeNoop, ""}, {TypeALPN, "h2"}, {TypeALPN, "second"}, {0xf0, "\x09"}}
	if len(got) != len(want) {
		t.Fatalf("All() = %v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("All() = %v, want %v", got, want)
		}
	}
	for k := range TLVs(tlvs).All() { // stopping early is honoured
		if k != TypeNoop {
			t.Fatal("range did not stop")
		}
		break
	}
	if v, ok := TLVs(tlvs).ALPN(); !ok || string(v) != "h2" {
		t.Fatalf("ALPN() = %q, %v", v, ok)
	}
	// A value is capped: appending to it cannot overwrite the next TLV.
	v, _ := TLVs(tlvs).ALPN()
	_ = append(v, "XXXX"...)
	if v2, _ := TLVs(tlvs).Lookup(0xf0); !bytes.Equal(v2, []byte{9}) {
		t.Fatal("appending to a value overwrote the next TLV")
	}
	for _, f := range []func() bool{
		func() bool { _, ok := TLVs(tlvs).Authority(); return ok },
		func() bool { _, ok := TLVs(tlvs).UniqueID(); return ok },
		func() bool { _, ok := TLVs(tlvs).NetNS(); return ok },
		func() bool { _, ok := TLVs(tlvs).CRC32C(); return ok },
		func() bool { _, ok := TLVs(tlvs).SSL(); return ok },
		func() bool { _, ok := TLVs(nil).Lookup(TypeNoop); return ok },
	} {
		if f() {
			t.Fatal("a helper found a TLV that is not there")
		}
	}
}

// On bytes no Header holds, the walkers stop at the first bad TLV rather
// than read past it.
func TestTLVsMalformed(t *testing.T) {
	bad := TLVs{byte(TypeALPN), 0, 2, 'h', '2', byte(TypeAuthority), 0, 9, 'x'}
	n := 0
	for range bad.All() {
		n++
	}
	if n != 1 {
		t.Fatalf("All() yielded %d TLVs, want 1", n)
	}
	if _, ok := bad.Authority(); ok {
		t.Fatal("Authority() of a cut TLV")
	}
	if _, ok := (TLVs{byte(TypeSSL), 0, 4, 1, 0, 0, 0}).SSL(); ok {
		t.Fatal("SSL() of a 4-byte value")
	}
	for range (TLVs{1, 0}).All() {
		t.Fatal("All() of 2 bytes")
	}
}

func TestSSLTLV(t *testing.T) {
	sub := AppendTLV(nil, SubtypeSSLVersion, []byte("TLSv1.3"))
	sub = AppendTLV(sub, SubtypeSSLCN, []byte("Ünïcode CN"))
	sub = AppendTLV(sub, SubtypeSSLCipher, []byte("TLS_AES_128_GCM_SHA256"))
	sub = AppendTLV(sub, SubtypeSSLSigAlg, []byte("ECDSA-SHA256"))
	sub = AppendTLV(sub, SubtypeSSLKeyAlg, []byte("EC256"))
	tlvs := AppendSSL(nil, SSL{Client: ClientSSL | ClientCertConn, Verify: 0x01020304, TLVs: sub})
	if !bytes.Equal(tlvs[:8], []byte{0x20, 0, byte(5 + len(sub)), 0x03, 1, 2, 3, 4}) {
		t.Fatalf("AppendSSL = %x", tlvs[:8])
	}
	h := Header{Version: 2, Command: Proxy, Transport: TCP4, Source: ap("1.1.1.1:1"), Destination: ap("2.2.2.2:2"), TLVs: tlvs}
	b, err := AppendV2(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, b, len(b))
	s, ok := got.TLVs.SSL()
	if !ok || s.Client != ClientSSL|ClientCertConn || s.Verify != 0x01020304 || !bytes.Equal(s.TLVs, sub) {
		t.Fatalf("SSL() = %+v, %v", s, ok)
	}
	for _, c := range []struct {
		get  func() (string, bool)
		want string
	}{
		{s.Version, "TLSv1.3"}, {s.CN, "Ünïcode CN"}, {s.Cipher, "TLS_AES_128_GCM_SHA256"},
		{s.SigAlg, "ECDSA-SHA256"}, {s.KeyAlg, "EC256"},
	} {
		if v, ok := c.get(); !ok || v != c.want {
			t.Errorf("got %q, %v, want %q", v, ok, c.want)
		}
	}
	if _, ok := (SSL{}).Version(); ok {
		t.Error("Version() of an empty SSL")
	}
}

// The Header owns its bytes: the caller may reuse its buffer.
func TestHeaderOwnsItsBytes(t *testing.T) {
	for _, h := range sampleHeaders(t) {
		if h.Version != 2 || h.TLVs == nil && h.SourcePath == "" && h.DestinationPath == "" {
			continue
		}
		b, err := AppendV2(nil, h)
		if err != nil {
			t.Fatal(err)
		}
		got := mustParse(t, b, len(b))
		for i := range b {
			b[i] = 0xff
		}
		if !equalHeader(got, h) {
			t.Fatalf("Header changed with the buffer: %+v", got)
		}
	}
	// No TLVs, no slice.
	b, _ := AppendV2(nil, Header{Command: Local})
	if h := mustParse(t, b, 16); h.TLVs != nil {
		t.Fatalf("TLVs = %v, want nil", h.TLVs)
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		Local: "LOCAL", Proxy: "PROXY", Command(7): "Command(7)",
		Unspec: "UNSPEC", TCP4: "TCP4", UDP4: "UDP4", TCP6: "TCP6", UDP6: "UDP6",
		UnixStream: "UNIX_STREAM", UnixDgram: "UNIX_DGRAM", Transport(0x13): "Transport(0x13)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
