package proto

// The cold review of the AMF work (helper-25): each test failed against
// the code it was written for, and states the behaviour that is right
// (the fixes came after, in the commit that added these files).

import (
	"testing"

	"github.com/airsock/airsock/amf"
)

// reviewExt is an externalizable class other than Flex's collections:
// the Scanner cannot measure it (ErrUnscannable), the Decoder reads it.
type reviewExt struct{ N int32 }

func (x *reviewExt) WriteExternal(out amf.DataOutput) error { out.WriteInt(x.N); return nil }
func (x *reviewExt) ReadExternal(in amf.DataInput) error {
	n, err := in.ReadInt()
	x.N = n
	return err
}

// countingStream is a memStream that counts Peeks, and stops being
// Writable after many, so that a Serve that never returns is cut short.
type countingStream struct {
	memStream
	peeks int
}

func (c *countingStream) Peek(n int) ([]byte, error) { c.peeks++; return c.memStream.Peek(n) }
func (c *countingStream) Writable() bool             { return c.peeks < 1000 && c.memStream.Writable() }

// TestReviewAMFEchoSpinsOnPartialExternalizable: Serve (amf.go:42-67) on
// ErrUnscannable decodes the whole buffer; echoValue returns nil on the
// Decoder's ErrTruncated without consuming anything, and Serve's loop,
// whose condition (InboundBuffered() > 0 && Writable()) is still true,
// scans and decodes the same bytes again, forever: the loop goroutine
// spins at 100% CPU and serves nobody else. A client sending the first
// bytes of an object of a registered externalizable class (any program
// that registers one in amf.DefaultRegistry, which amf-echo uses) hangs
// the loop. Right: Serve returns (nil) to wait for more input, after one
// attempt. The stream here stops being Writable after 1,000 Peeks to end
// the spin.
func TestReviewAMFEchoSpinsOnPartialExternalizable(t *testing.T) {
	if err := amf.RegisterClassAlias("review.proto.Ext", reviewExt{}); err != nil {
		t.Fatal(err)
	}
	whole, err := amf.Marshal(&reviewExt{N: 7})
	if err != nil {
		t.Fatal(err)
	}
	m := &countingStream{}
	m.feed(whole[:len(whole)-2]) // the class and half the body
	sess := AMFEcho{}.NewSession()
	if err := sess.Serve(m); err != nil {
		t.Fatal(err)
	}
	if m.peeks > 2 {
		t.Errorf("Serve over a partial externalizable object peeked %d times (cut at 1000): it loops without consuming", m.peeks)
	}
	m.peeks = 0
	m.feed(whole[len(whole)-2:])
	if err := sess.Serve(m); err != nil {
		t.Fatal(err)
	}
	if got := m.takeOut(); string(got) != string(whole) {
		t.Errorf("echo %x, want %x", got, whole)
	}
}
