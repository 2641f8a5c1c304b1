package proto

import (
	"bytes"
	"testing"
)

func TestEcho(t *testing.T) {
	m := &memStream{}
	in := AppendPattern(nil, 1, 2, 1000)
	m.feed(in)
	if err := (Echo{}).Serve(m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.out, in) {
		t.Fatalf("echo wrote %d bytes, not the %d received", len(m.out), len(in))
	}
	if m.InboundBuffered() != 0 {
		t.Fatalf("echo left %d bytes buffered", m.InboundBuffered())
	}
	// Nothing buffered: nothing written.
	m.out = nil
	if err := (Echo{}).Serve(m); err != nil || len(m.out) != 0 {
		t.Fatalf("empty serve: err %v, wrote %q", err, m.out)
	}
}

func TestDiscard(t *testing.T) {
	m := &memStream{}
	m.feed([]byte("anything at all\r\n"))
	if err := (Discard{}).Serve(m); err != nil {
		t.Fatal(err)
	}
	if len(m.out) != 0 || m.InboundBuffered() != 0 {
		t.Fatalf("discard wrote %q and left %d bytes", m.out, m.InboundBuffered())
	}
}

func TestNewServerNames(t *testing.T) {
	for _, name := range Names() {
		if _, err := NewServer(name, Config{}); err != nil {
			t.Errorf("NewServer(%q): %v", name, err)
		}
		if _, err := NewClient(name, ClientConfig{Size: 16}); err != nil {
			t.Errorf("NewClient(%q): %v", name, err)
		}
	}
	if _, err := NewServer("nope", Config{}); err == nil {
		t.Error("NewServer of an unknown protocol did not fail")
	}
	if _, err := NewClient("nope", ClientConfig{}); err == nil {
		t.Error("NewClient of an unknown protocol did not fail")
	}
}

func TestPattern(t *testing.T) {
	for _, size := range []int{1, 7, 8, 9, 64, 1000} {
		p := AppendPattern([]byte("pre"), 3, 4, size)
		if len(p) != 3+size || string(p[:3]) != "pre" {
			t.Fatalf("size %d: appended %d bytes", size, len(p)-3)
		}
		p = p[3:]
		if i := PatternMismatch(p, 3, 4, 0); i != -1 {
			t.Fatalf("size %d: own pattern mismatches at %d", size, i)
		}
		// Any offset, any sub-slice.
		for off := 0; off < size; off += 3 {
			if i := PatternMismatch(p[off:], 3, 4, off); i != -1 {
				t.Fatalf("size %d off %d: mismatch at %d", size, off, i)
			}
		}
		for bad := 0; bad < size; bad += 5 {
			q := bytes.Clone(p)
			q[bad] ^= 0x40
			if i := PatternMismatch(q, 3, 4, 0); i != bad {
				t.Fatalf("size %d: flipped byte %d, found %d", size, bad, i)
			}
		}
	}
	a, b := AppendPattern(nil, 1, 1, 64), AppendPattern(nil, 2, 1, 64)
	c := AppendPattern(nil, 1, 2, 64)
	if bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("payloads of different (conn, seq) are equal")
	}
}
