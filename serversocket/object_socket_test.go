package serversocket_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/airsock/airsock/amf"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// TestObjectEchoOverSocket: a socketData listener that loops ReadObject
// and WriteObject, as AIR code does, echoes objects a client sends in one
// write, three back to back, and one trickled a byte at a time behind an
// int the listener reads first with ReadInt; every object comes back
// equal.
func TestObjectEchoOverSocket(t *testing.T) {
	e := newEngine(t, loop.Config{})
	errs := newRecorder[string]()
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		needInt := true
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			if needInt {
				if s.BytesAvailable() < 4 {
					return
				}
				n, _ := s.ReadInt()
				s.WriteInt(n)
				needInt = false
			}
			for s.BytesAvailable() > 0 {
				v, err := s.ReadObject()
				if err != nil {
					if _, eof := errors.AsType[*serversocket.EOFError](err); !eof {
						errs.add(err.Error())
					}
					return
				}
				if err := s.WriteObject(v); err != nil {
					errs.add(err.Error())
				}
			}
		}, 0)
	})
	objects := []any{
		map[string]any{"user": "ada", "text": "hello", "to": []any{"bob", "eve"}},
		[]any{1, 2.5, "three", nil, true},
		&amf.ArrayCollection{map[string]any{"id": 1}, map[string]any{"id": 2}},
		&amf.Dictionary{Entries: []amf.Entry{{Key: 1, Value: "one"}}},
	}
	var first []byte
	first = binary.BigEndian.AppendUint32(first, 77)
	trickled, err := amf.Marshal(objects[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Write(first)
	for _, b := range trickled {
		c.Write([]byte{b})
	}
	var burst []byte
	for _, v := range objects[1:] {
		b, err := amf.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		burst = append(burst, b...)
	}
	c.Write(burst)

	if got := binary.BigEndian.Uint32(readN(t, c, 4)); got != 77 {
		t.Fatalf("the int came back as %d", got)
	}
	want := len(trickled) + len(burst)
	echoed := readN(t, c, want)
	d := amf.NewDecoder()
	for i, v := range objects {
		got, n, err := d.Decode(echoed)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Fatalf("object %d came back as %#v, %v", i, got, err)
		}
		echoed = echoed[n:]
	}
	if got := errs.snapshot(); len(got) != 0 {
		t.Errorf("listener errors: %q", got)
	}
	c.CloseWrite()
	if rest, _ := io.ReadAll(c); len(rest) != 0 {
		t.Errorf("%d bytes more than the echoes", len(rest))
	}
}

// TestReadObjectLargerThanInput: an object larger than the input the
// socket may hold (MaxInbound 4 KiB here) is a RangeError wrapping amf's
// MaxInbound LimitError once the input is full, not an EOFError for ever
// (the rest cannot come while reading is paused); after ReserveInbound the
// same object is read whole.
func TestReadObjectLargerThanInput(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1, MaxInbound: 4 << 10, ReadBufferSize: 4 << 10})
	results := newRecorder[string]()
	var reserved bool
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			v, err := s.ReadObject()
			var le *amf.LimitError
			switch {
			case err == nil:
				results.add(fmt.Sprintf("object of %d items", len(v.([]any))))
			case errors.As(err, &le) && !reserved:
				results.add("RangeError " + le.Limit)
				reserved = true
				if err := s.ReserveInbound(64 << 10); err != nil {
					results.add("ReserveInbound: " + err.Error())
				}
				if v, err := s.ReadObject(); !errors.Is(err, io.ErrUnexpectedEOF) { // an EOFError: more can come now
					results.add(fmt.Sprintf("after reserving: %v, %v", v, err))
				}
			}
		}, 0)
	})
	items := make([]any, 10000)
	b, err := amf.Marshal(items) // 10 KB of nulls
	if err != nil {
		t.Fatal(err)
	}
	c.Write(b)
	got := results.waitLen(t, 2, "the RangeError, then the object")
	if strings.Join(got, "|") != "RangeError MaxInbound|object of 10000 items" {
		t.Errorf("results %q", got)
	}
}
