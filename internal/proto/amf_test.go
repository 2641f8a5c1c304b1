package proto

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/airsock/airsock/amf"
)

// TestAMFRequestIsWhatTheEncoderWrites: the client's hand-made request is
// an object {body, conn, seq} that decodes to those values and that the amf
// encoder writes again byte for byte, so the echo's reply can be checked as
// bytes; seq past 29 bits goes as a double on both sides.
func TestAMFRequestIsWhatTheEncoderWrites(t *testing.T) {
	for _, seq := range []uint64{0, 5, 1<<28 - 1, 1 << 28, 1 << 40} {
		req := appendAMFRequest(nil, 3, seq, 100)
		v, err := amf.Unmarshal(req)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		m := v.(map[string]any)
		if !bytes.Equal(m["body"].([]byte), AppendPattern(nil, 3, seq, 100)) || m["conn"] != 3 {
			t.Errorf("seq %d: decoded %v", seq, m)
		}
		again, err := amf.Marshal(v)
		if err != nil || !bytes.Equal(again, req) {
			t.Errorf("seq %d: re-encoded %x, %v; want %x", seq, again, err, req)
		}
	}
}

// TestAMFEchoSession: values of every kind come back as the encoder writes
// them, fed whole, a byte at a time (the session's scan keeps its place)
// and several at once; a malformed value is an error that closes.
func TestAMFEchoSession(t *testing.T) {
	values := []any{map[string]any{"a": 1, "b": []any{"x", 2.5}}, []any{nil, true}, "text", &amf.ArrayCollection{1}}
	var all []byte
	for _, v := range values {
		b, err := amf.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for _, chunk := range []int{len(all), 1, 3} {
		m := &memStream{}
		sess := AMFEcho{}.NewSession()
		for off := 0; off < len(all); off += chunk {
			m.feed(all[off:min(len(all), off+chunk)])
			if err := sess.Serve(m); err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
		}
		out := m.takeOut()
		d := amf.NewDecoder()
		for i, v := range values {
			got, n, err := d.Decode(out)
			if err != nil || !reflect.DeepEqual(got, v) {
				t.Fatalf("chunk %d, value %d: %#v, %v", chunk, i, got, err)
			}
			out = out[n:]
		}
		if len(out) != 0 || m.InboundBuffered() != 0 {
			t.Errorf("chunk %d: %d bytes more out, %d left in", chunk, len(out), m.InboundBuffered())
		}
	}
	m := &memStream{}
	m.feed([]byte{0x12})
	var se *amf.SyntaxError
	if err := (AMFEcho{}).NewSession().Serve(m); !errors.As(err, &se) {
		t.Errorf("a malformed value: %v, want amf's SyntaxError", err)
	}
}

// TestAMFEchoValueLongerThanInput: on a bounded stream, a value longer than
// its input arrives with room reserved twice over each time the input is
// full, and echoes whole; past MaxAMFValue, or with the budget refusing
// room, it fails as soon as the input is full, instead of waiting for an
// inbound timeout.
func TestAMFEchoValueLongerThanInput(t *testing.T) {
	value := func(n int) []byte {
		b, err := amf.Marshal(map[string]any{"body": bytes.Repeat([]byte{7}, n)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// serve feeds v in pieces, each no more than the room the stream has,
	// and returns the first error.
	serve := func(m *memStream, v []byte) error {
		sess := AMFEcho{}.NewSession()
		for off := 0; off < len(v); {
			n := min(len(v)-off, 48<<10, m.InboundLimit()-m.InboundBuffered())
			if n <= 0 {
				return errors.New("test: the stream is full and Serve reserved nothing")
			}
			m.feed(v[off : off+n])
			off += n
			if err := sess.Serve(m); err != nil {
				return err
			}
		}
		return nil
	}

	big := value(300 << 10)
	m := &memStream{}
	if err := serve(m, big); err != nil {
		t.Fatalf("a %d-byte value: %v", len(big), err)
	}
	if !bytes.Equal(m.takeOut(), big) || m.InboundBuffered() != 0 {
		t.Fatalf("a %d-byte value did not come back whole", len(big))
	}
	if m.reserved < len(big) || m.reserved > 2*len(big) {
		t.Errorf("reserved %d bytes for a %d-byte value", m.reserved, len(big))
	}

	m = &memStream{reserveMax: 100 << 10}
	if err := serve(m, big); !errors.Is(err, ErrNoRoom) || !errors.Is(err, errNoRoomTest) {
		t.Errorf("no room past 100 KiB: %v, want ErrNoRoom wrapping the stream's error", err)
	}

	m = &memStream{limit: MaxAMFValue}
	err := serve(m, value(MaxAMFValue))
	if err == nil || !strings.Contains(err.Error(), "MaxAMFValue") || m.InboundBuffered() < MaxAMFValue {
		t.Errorf("a value past MaxAMFValue: %v with %d bytes in", err, m.InboundBuffered())
	}
}

// TestAMFEchoTrickledIsLinear: a value of many members sent a byte at a
// time is decoded once it has arrived and tried once before, not at every
// byte: the session's allocations stay within a few whole decodes (a
// decode at each byte would make some 2,000 times as many).
func TestAMFEchoTrickledIsLinear(t *testing.T) {
	obj := map[string]any{}
	for i := range 200 {
		obj[fmt.Sprintf("member%03d", i)] = fmt.Sprintf("value%03d", i)
	}
	v, err := amf.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	whole := testing.AllocsPerRun(10, func() {
		m := &memStream{}
		m.feed(v)
		if err := (AMFEcho{}).NewSession().Serve(m); err != nil || !bytes.Equal(m.out, v) {
			t.Fatalf("whole: %v", err)
		}
	})
	trickled := testing.AllocsPerRun(2, func() {
		m := &memStream{in: make([]byte, 0, len(v))}
		sess := AMFEcho{}.NewSession()
		for i := range v {
			m.feed(v[i : i+1])
			if err := sess.Serve(m); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(m.out, v) {
			t.Fatal("trickled: no echo")
		}
	})
	if trickled > 4*whole {
		t.Errorf("%d bytes a byte at a time: %.0f allocations, a whole value %.0f", len(v), trickled, whole)
	}
}
