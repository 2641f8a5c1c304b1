package serversocket_test

// Conformance of Socket's life cycle with AIR's flash.net.Socket: events and
// their order, local and remote close, flushing and output progress, over
// real loopback connections. Outbound connects are in
// conformance_connect_test.go.

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// The peer writes N bytes and closes: SocketData events deliver all N
// (their BytesLoaded summing to N), then exactly one Close follows.
func TestSocketRemoteCloseAfterData(t *testing.T) {
	const n = 300_000
	e := newEngine(t, loop.Config{})
	payload := pattern(n)
	var (
		order      []string // loop goroutine; read after the engine stops
		got        []byte
		loaded     int
		availClose = -1
	)
	closed := make(chan struct{}, 1)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(ev serversocket.Eventer) {
			pe := ev.(*serversocket.ProgressEvent)
			loaded += pe.BytesLoaded
			if pe.BytesTotal != 0 || pe.Target() != s {
				t.Errorf("SocketData event %v: want bytesTotal=0 and the socket as target", pe)
			}
			var err error
			if got, err = s.ReadBytes(got, len(got), 0); err != nil {
				t.Errorf("ReadBytes: %v", err)
			}
			order = append(order, "socketData")
		}, 0)
		s.AddEventListener(serversocket.Close, func(serversocket.Eventer) {
			order = append(order, "close")
			availClose = s.BytesAvailable()
			select {
			case closed <- struct{}{}:
			default:
			}
		}, 0)
	})
	for off := 0; off < n; off += 7000 {
		if _, err := c.Write(payload[off:min(off+7000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	testutil.Recv(t, closed, "the Close event")
	e.Close() // barrier: no event after this, and the listeners' writes are visible

	if loaded != n || !bytes.Equal(got, payload) {
		t.Errorf("BytesLoaded sum %d, read %d bytes (equal: %v); want %d", loaded, len(got), bytes.Equal(got, payload), n)
	}
	if availClose != 0 {
		t.Errorf("BytesAvailable in the Close listener = %d, want 0", availClose)
	}
	if len(order) < 2 || order[len(order)-1] != "close" || strings.Count(strings.Join(order, " "), "close") != 1 {
		t.Errorf("event order %v: want socketData events, then exactly one close", order)
	}
}

// A local Close sends what was written before it, dispatches no Close
// event, and leaves a socket whose reads and writes fail with IOError #2002.
func TestSocketLocalClose(t *testing.T) {
	e := newEngine(t, loop.Config{})
	var closeEvents atomic.Int32
	readErr := make(chan string, 1)
	s, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.Close, func(serversocket.Eventer) { closeEvents.Add(1) }, 0)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			// The client's byte is still unread when the listener closes.
			if err := s.Close(); err != nil {
				t.Errorf("Close in a listener: %v", err)
			}
			_, err := s.ReadUnsignedByte()
			readErr <- errKind(err)
		}, 0)
	})
	if err := s.WriteUTFBytes("written before close"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.Recv(t, readErr, "the read after Close"); got != "IOError 2002" {
		t.Errorf("ReadUnsignedByte after Close = %s, want IOError 2002", got)
	}
	if got := readToEOF(t, c); string(got) != "written before close" {
		t.Errorf("peer received %q, want the bytes written before Close", got)
	}
	if s.Connected() {
		t.Error("Connected() = true after Close")
	}
	if got := errKind(s.WriteBytes([]byte("late"), 0, 0)); got != "IOError 2002" {
		t.Errorf("WriteBytes after Close = %s, want IOError 2002", got)
	}
	if got := errKind(s.WriteInt(1)); got != "IOError 2002" {
		t.Errorf("WriteInt after Close = %s, want IOError 2002", got)
	}
	if got := errKind(s.Flush()); got != "IOError 2002" {
		t.Errorf("Flush after Close = %s, want IOError 2002", got)
	}
	if got := errKind(s.Close()); got != "IOError 2002" {
		t.Errorf("second Close = %s, want IOError 2002", got)
	}
	if s.RemotePort() != 0 || s.LocalAddress() != "" {
		t.Errorf("after Close: RemotePort=%d LocalAddress=%q, want 0 \"\"", s.RemotePort(), s.LocalAddress())
	}
	e.Close()
	if n := closeEvents.Load(); n != 0 {
		t.Errorf("local Close dispatched %d Close events, want 0", n)
	}
}

// Every read of a closed socket is an IOError #2002 (AIR checks the
// connection before anything else), whatever its length.
func TestSocketReadsAfterLocalCloseAreIOErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	reads := []struct {
		name string
		read func(s *serversocket.Socket) error
	}{
		{"ReadUnsignedByte", func(s *serversocket.Socket) error { _, err := s.ReadUnsignedByte(); return err }},
		{"ReadInt", func(s *serversocket.Socket) error { _, err := s.ReadInt(); return err }},
		{"ReadUTF", func(s *serversocket.Socket) error { _, err := s.ReadUTF(); return err }},
		{"ReadUTFBytes(3)", func(s *serversocket.Socket) error { _, err := s.ReadUTFBytes(3); return err }},
		{"ReadUTFBytes(0)", func(s *serversocket.Socket) error { _, err := s.ReadUTFBytes(0); return err }},
		{"ReadBytes(all)", func(s *serversocket.Socket) error { _, err := s.ReadBytes(nil, 0, 0); return err }},
		{"ReadBytes(4)", func(s *serversocket.Socket) error { _, err := s.ReadBytes(nil, 0, 4); return err }},
		{"ReadMultiByte(0)", func(s *serversocket.Socket) error { _, err := s.ReadMultiByte(0, "shift_jis"); return err }},
	}
	results := make(chan []string, 1)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			s.Close()
			var got []string
			for _, r := range reads {
				got = append(got, errKind(r.read(s)))
			}
			results <- got
		}, 0)
	})
	c.Write([]byte("unread"))
	got := testutil.Recv(t, results, "the reads after Close")
	for i, r := range reads {
		if got[i] != "IOError 2002" {
			t.Errorf("%s after Close = %s, want IOError 2002", r.name, got[i])
		}
	}
}

// Flush from a goroutine of the application's sends at once: the peer gets
// the bytes though the socket sees no further event.
func TestSocketFlushFromAnotherGoroutine(t *testing.T) {
	e := newEngine(t, loop.Config{})
	s, c := acceptOne(t, e, nil)
	if err := s.WriteUTFBytes("flushed "); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteInt(-2); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, c, 12); string(got) != "flushed \xff\xff\xff\xfe" {
		t.Errorf("peer received % x", got)
	}
}

// BytesPending counts output the kernel has not taken; it returns to 0
// once everything is sent, with or without an OutputProgress listener.
func TestSocketBytesPendingDrains(t *testing.T) {
	const n = 4 << 20
	e := newEngine(t, loop.Config{})
	pending := make(chan int, 1)
	s, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			s.Discard(-1)
			pending <- s.BytesPending()
		}, 0)
	})
	payload := pattern(n)
	if err := s.WriteBytes(payload, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, c, n); !bytes.Equal(got, payload) {
		t.Fatal("payload corrupted")
	}
	// All bytes reached the client, so the loop has finished writing; the
	// byte sent now is handled by that loop after it.
	c.Write([]byte{0})
	if got := testutil.Recv(t, pending, "BytesPending from a listener"); got != 0 {
		t.Errorf("BytesPending after everything was received = %d, want 0", got)
	}
}

// outputProgress is one OutputProgress event's numbers.
type outputProgress struct{ pending, total int }

func TestSocketOutputProgressEndsAtZero(t *testing.T) {
	const n = 4 << 20
	e := newEngine(t, loop.Config{})
	progress := newRecorder[outputProgress]()
	payload := pattern(n)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.OutputProgress, func(ev serversocket.Eventer) {
			op := ev.(*serversocket.OutputProgressEvent)
			progress.add(outputProgress{op.BytesPending, op.BytesTotal})
		}, 0)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			s.Discard(-1)
			if err := s.WriteBytes(payload, 0, 0); err != nil {
				t.Errorf("WriteBytes: %v", err)
			}
		}, 0)
	})
	c.Write([]byte("go"))
	if got := readN(t, c, n); !bytes.Equal(got, payload) {
		t.Fatal("payload corrupted")
	}
	events := progress.waitFor(t, "an OutputProgress event with BytesPending 0", func(ev []outputProgress) bool {
		return len(ev) > 0 && ev[len(ev)-1].pending == 0
	})
	for i, ev := range events {
		if ev.total != n || ev.pending < 0 || (i > 0 && ev.pending > events[i-1].pending) {
			t.Errorf("OutputProgress events %v: want BytesTotal %d and BytesPending never rising", events, n)
			break
		}
	}
}

// An 8 MiB payload written from a listener arrives whole.
func TestSocketLargeWriteFromListener(t *testing.T) {
	const n = 8 << 20
	e := newEngine(t, loop.Config{})
	payload := pattern(n)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		if err := s.WriteBytes(payload, 0, 0); err != nil {
			t.Errorf("WriteBytes: %v", err)
		}
	})
	if got := readN(t, c, n); !bytes.Equal(got, payload) {
		t.Fatal("8 MiB payload corrupted")
	}
}
