package serversocket_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// Regression tests for defects found in review.

// AIR's "accept one client, then stop listening": Close from a Connect
// listener must not deadlock the loop.
func TestServerSocketCloseInConnectListener(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	closed := make(chan error, 1)
	srvc := make(chan *serversocket.ServerSocket, 1)
	srv := startServer(t, e, func(*serversocket.Socket) { closed <- (<-srvc).Close() })
	srvc <- srv
	nc, err := net.Dial("tcp", hostPort(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close in a Connect listener: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close in a Connect listener did not return")
	}
}

// Output written before Close is sent even when the connection's backlog is
// past the write high-water mark (where AsyncWrite refuses).
func TestSocketCloseSendsOutputPastHighWater(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1, WriteHighWater: 64 << 10})
	socks := make(chan *serversocket.Socket, 1)
	srv := startServer(t, e, func(s *serversocket.Socket) { socks <- s })
	nc, err := net.Dial("tcp", hostPort(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s := <-socks
	backedUp := make(chan struct{}, 1)
	s.AddEventListener(serversocket.OutputProgress, func(e serversocket.Eventer) {
		if e.(*serversocket.OutputProgressEvent).BytesPending > 64<<10 {
			select {
			case backedUp <- struct{}{}:
			default:
			}
		}
	}, 0)
	big := bytes.Repeat([]byte("x"), 32<<20) // more than the kernel buffers: the peer is not reading
	s.WriteBytes(big, 0, 0)
	s.Flush()
	select {
	case <-backedUp:
	case <-time.After(10 * time.Second):
		t.Fatal("the output never backed up past the high-water mark")
	}
	s.WriteUTFBytes("TAIL")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil || len(b) != len(big)+4 || !bytes.HasSuffix(b, []byte("TAIL")) {
		t.Fatalf("received %d bytes (%v), want %d ending in TAIL", len(b), err, len(big)+4)
	}
}

// Writes to a peer that never reads stop at MaxBytesPending with an IOError
// that wraps loop.ErrQueueFull; nothing grows without bound.
func TestSocketWritesBoundedByMaxBytesPending(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	socks := make(chan *serversocket.Socket, 1)
	srv := startServer(t, e, func(s *serversocket.Socket) { socks <- s })
	nc, err := net.Dial("tcp", hostPort(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s := <-socks
	const limit = 4 << 20
	s.SetMaxBytesPending(limit)
	chunk := make([]byte, 256<<10)
	written := 0
	for written < 1<<30 { // the kernel absorbs some; the bound stops the rest
		err = s.WriteBytes(chunk, 0, 0)
		if err != nil {
			break
		}
		written += len(chunk)
		s.Flush()
	}
	if _, ok := errors.AsType[*serversocket.IOError](err); !ok || !errors.Is(err, loop.ErrQueueFull) {
		t.Fatalf("after %d bytes: err %v, want an IOError wrapping loop.ErrQueueFull", written, err)
	}
	// The write that crosses the bound is taken whole; the next is refused.
	if p := s.BytesPending(); p > limit+len(chunk) {
		t.Fatalf("BytesPending %d over the bound %d plus one write", p, limit)
	}
}
