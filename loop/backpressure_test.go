package loop

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// Back-pressure a handler can see: Writable and the call back at the low
// mark, room reserved for large frames, and the watchdog for a handler
// that makes no progress at the inbound limit.

// pipelinedBig answers each 1-byte request with a reply of replySize bytes,
// stopping when Writable is false. It records the most output it ever had
// pending after a reply (loop goroutine only).
type pipelinedBig struct {
	replySize int
	reply     []byte
	mostOut   atomic.Int64
	calls     atomic.Int64
}

func (h *pipelinedBig) OnOpen(*Conn)         {}
func (h *pipelinedBig) OnClose(*Conn, error) {}
func (h *pipelinedBig) OnData(c *Conn) {
	h.calls.Add(1)
	for c.InboundBuffered() > 0 {
		if !c.Writable() {
			return
		}
		c.Discard(1)
		c.Write(h.reply)
		if n := int64(c.OutboundBuffered()); n > h.mostOut.Load() {
			h.mostOut.Store(n)
		}
	}
}

// TestWritableResumes: one write of 60,000 pipelined requests, each
// answered with 4 KiB (234 MiB in all), is executed only as fast as the
// client reads: pending output never goes past the high mark plus one
// reply, and the client gets every reply although it sends nothing more.
// (Before Writable and the call back at the low mark, one OnData queued
// all 234 MiB.)
func TestWritableResumes(t *testing.T) {
	const hw, lw, replySize, requests = 64 << 10, 32 << 10, 4 << 10, 60_000
	e := newEngine(t, Config{Loops: 1, WriteHighWater: hw, WriteLowWater: lw})
	h := &pipelinedBig{replySize: replySize, reply: pattern(replySize, 5)}
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := nc.Write(make([]byte, requests)); err != nil {
		t.Fatal(err)
	}
	got := 0
	buf := make([]byte, 256<<10)
	for got < requests*replySize {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", got, requests*replySize, err)
		}
		got += n
	}
	if most := h.mostOut.Load(); most > hw+replySize {
		t.Errorf("pending output reached %d bytes, over the high mark + one reply (%d)", most, hw+replySize)
	}
	if h.calls.Load() < 2 {
		t.Errorf("OnData ran %d times: never called back at the low mark", h.calls.Load())
	}
	t.Logf("%d MiB of replies; most pending %d KiB; OnData calls %d", got>>20, h.mostOut.Load()>>10, h.calls.Load())
}

// framedServer answers each length-prefixed frame (4-byte big-endian
// length, then the body) with the body's length, once the frame is whole,
// reserving room for frames larger than MaxInbound; a refused reservation
// closes the connection with its error.
func framedServer(refused chan<- error) Funcs {
	return Funcs{
		Data: func(c *Conn) {
			for {
				hdr, err := c.Peek(4)
				if err != nil {
					return
				}
				n := int(binary.BigEndian.Uint32(hdr))
				if _, err := c.Next(4 + n); err != nil {
					if err := c.ReserveInbound(4 + n); err != nil {
						refused <- err
						c.Close()
					}
					return
				}
				var ack [4]byte
				binary.BigEndian.PutUint32(ack[:], uint32(n))
				c.Write(ack[:])
			}
		},
	}
}

// sendHeader announces a frame of n bytes and sends none of it.
func sendHeader(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(n))
	if _, err := nc.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
}

func sendFrame(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	frame := make([]byte, 4+n)
	binary.BigEndian.PutUint32(frame, uint32(n))
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
}

func readAck(t *testing.T, nc net.Conn) int {
	t.Helper()
	var ack [4]byte
	if _, err := io.ReadFull(nc, ack[:]); err != nil {
		t.Fatalf("ack: %v", err)
	}
	return int(binary.BigEndian.Uint32(ack[:]))
}

// TestReserveInbound: a 5 MiB frame behind a 64 KiB MaxInbound is
// received whole once its room is reserved, the connection goes on with
// small frames, and the reservation went back to the budget. (Before,
// the connection hung at the limit for good.)
func TestReserveInbound(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 64 << 10, InboundBudget: 8 << 20})
	refused := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", framedServer(refused))
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	for _, n := range []int{5 << 20, 10, 5 << 20, 0} {
		sendFrame(t, nc, n)
		if got := readAck(t, nc); got != n {
			t.Fatalf("ack %d, want %d", got, n)
		}
	}
	if r := e.reserved.Load(); r != 0 {
		t.Fatalf("%d bytes still reserved after the frames were consumed", r)
	}
}

// TestReserveInboundBudget: a frame the engine's budget cannot hold gets
// ErrInboundBudget, and only its connection is closed; another client is
// served meanwhile.
func TestReserveInboundBudget(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 64 << 10, InboundBudget: 1 << 20})
	refused := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", framedServer(refused))
	big := dialClient(t, "tcp", ln.Addr().String())
	big.SetDeadline(time.Now().Add(30 * time.Second))
	sendHeader(t, big, 4<<20)
	if err := testutil.Recv(t, refused, "the reservation's refusal"); !errors.Is(err, ErrInboundBudget) {
		t.Fatalf("ReserveInbound: %v, want ErrInboundBudget", err)
	}
	if _, err := io.ReadAll(big); err != nil {
		t.Fatalf("refused connection: %v, want EOF", err)
	}
	small := dialClient(t, "tcp", ln.Addr().String())
	small.SetDeadline(time.Now().Add(30 * time.Second))
	sendFrame(t, small, 512<<10)
	if got := readAck(t, small); got != 512<<10 {
		t.Fatalf("ack %d", got)
	}
}

// TestInboundStalled: a handler that waits for more than MaxInbound and
// reserves nothing has its connection closed with ErrInboundStalled after
// InboundTimeout, instead of holding it forever.
func TestInboundStalled(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 16 << 10, ReadBufferSize: 16 << 10,
		InboundTimeout: 200 * time.Millisecond, Logger: quiet})
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data:  func(*Conn) {}, // waits for a frame it never asks room for
		Close: func(_ *Conn, err error) { closed <- err },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	go nc.Write(make([]byte, 1<<20)) // blocks once the server stops reading; ends when nc closes
	if err := testutil.Recv(t, closed, "the stalled connection's close"); !errors.Is(err, ErrInboundStalled) {
		t.Fatalf("OnClose reason %v, want ErrInboundStalled", err)
	}
}

// TestScavengeAfterBurst: once a large frame's array is freed and the loop
// goes idle, the engine scavenges (collects and returns memory to the
// OS); with ScavengeAbove negative it never does.
func TestScavengeAfterBurst(t *testing.T) {
	for _, above := range []int64{1 << 20, -1} {
		e := newEngine(t, Config{Loops: 1, MaxInbound: 64 << 10, ScavengeAbove: above})
		ln := listen(t, e, "tcp", "127.0.0.1:0", framedServer(make(chan error, 1)))
		nc := dialClient(t, "tcp", ln.Addr().String())
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		sendFrame(t, nc, 5<<20) // an exact-size 5 MiB array, garbage once consumed
		readAck(t, nc)
		if above < 0 {
			sendFrame(t, nc, 1) // a turn of the loop after the burst
			readAck(t, nc)
			if e.scavenged.Load() != 0 {
				t.Fatal("scavenged with ScavengeAbove < 0")
			}
			// The exact-size array, which the pool does not keep, was counted
			// when it was released (before the ack went out).
			if f := e.freed.Load(); f < 5<<20 {
				t.Fatalf("freed counts %d bytes after a 5 MiB frame's array was released", f)
			}
			continue
		}
		deadline := time.Now().Add(30 * time.Second)
		for e.scavenged.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no scavenge within 30 s; freed %d bytes", e.freed.Load())
			}
			time.Sleep(10 * time.Millisecond) // polling an engine counter; no event marks the scavenge
		}
	}
}

// TestReservationWatchdog: a client that announces a large frame, gets its
// room reserved and then sends nothing is closed with ErrInboundStalled
// after InboundTimeout, and the budget is whole again.
func TestReservationWatchdog(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 64 << 10, InboundTimeout: 200 * time.Millisecond, Logger: quiet})
	closed := make(chan error, 1)
	h := framedServer(make(chan error, 1))
	h.Close = func(_ *Conn, err error) { closed <- err }
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	nc := dialClient(t, "tcp", ln.Addr().String())
	sendHeader(t, nc, 100<<20)
	if err := testutil.Recv(t, closed, "the silent reserver's close"); !errors.Is(err, ErrInboundStalled) {
		t.Fatalf("OnClose reason %v, want ErrInboundStalled", err)
	}
	for deadline := time.Now().Add(30 * time.Second); e.reserved.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still reserved after the close", e.reserved.Load())
		}
		time.Sleep(time.Millisecond) // polling an engine counter set on the loop just after OnClose
	}
}
