package serversocket_test

// Socket's writes, Flush and Close from goroutines of the application's,
// concurrently with each other and with the loop (run these under -race).

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"sync"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
)

// frame builds message seq of writer w: u32 body length, then the body:
// writer, u32 seq, and a payload whose bytes depend on both.
func frame(w, seq int) []byte {
	n := (seq*37 + w*11) % 1500
	b := binary.BigEndian.AppendUint32(nil, uint32(5+n))
	b = append(b, byte(w))
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	for i := range n {
		b = append(b, byte(w*31+seq+i))
	}
	return b
}

// Eight goroutines write framed messages on one socket with WriteBytes and
// Flush: every message arrives whole, each writer's in its order.
func TestSocketConcurrentWriters(t *testing.T) {
	const writers, perWriter = 8, 250
	e := newEngine(t, loop.Config{})
	s, c := acceptOne(t, e, nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for seq := range perWriter {
				if err := s.WriteBytes(frame(w, seq), 0, 0); err != nil {
					t.Errorf("writer %d: WriteBytes: %v", w, err)
					return
				}
				if err := s.Flush(); err != nil {
					t.Errorf("writer %d: Flush: %v", w, err)
					return
				}
			}
		})
	}
	next := make([]int, writers) // the seq expected next from each writer
	for range writers * perWriter {
		head := readN(t, c, 4)
		body := readN(t, c, int(binary.BigEndian.Uint32(head)))
		w, seq := int(body[0]), int(binary.BigEndian.Uint32(body[1:5]))
		if w >= writers || seq != next[w] || !bytes.Equal(append(head, body...), frame(w, seq)) {
			t.Fatalf("message from writer %d seq %d (expected seq %v) is not whole and in order", w, seq, next)
		}
		next[w]++
	}
	wg.Wait()
}

// Close on one goroutine while another writes and the loop sends: every
// write that succeeded reaches the peer, in order, then EOF; writes after
// Close fail with IOError #2002.
func TestSocketCloseWhileWriting(t *testing.T) {
	const chunk, maxChunks, closeAfter = 16 << 10, 2048, 64
	e := newEngine(t, loop.Config{})
	s, c := acceptOne(t, e, nil)
	stream := pattern(chunk * (maxChunks + 1))

	received := make(chan []byte, 1)
	go func() { // the peer reads while the loop writes
		b, err := io.ReadAll(c)
		if err != nil {
			t.Errorf("peer read: %v after %d bytes", err, len(b))
		}
		received <- b
	}()
	started := make(chan struct{})
	type outcome struct {
		wrote int
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() { done <- o }()
		for i := range maxChunks {
			if i == closeAfter {
				close(started)
			}
			if o.err = s.WriteBytes(stream, o.wrote, chunk); o.err != nil {
				return
			}
			o.wrote += chunk
			s.Flush() // may fail once Close has run; the bytes above are in
		}
		t.Log("the writer finished before Close; the close raced with the loop's sending only")
	}()
	testutil.Recv(t, started, "the writer to get going")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	o := testutil.Recv(t, done, "the writer")
	if o.err != nil && errKind(o.err) != "IOError 2002" {
		t.Errorf("write after Close = %v, want IOError 2002", o.err)
	}
	got := testutil.Recv(t, received, "the peer's EOF")
	if len(got) != o.wrote || !bytes.Equal(got, stream[:o.wrote]) {
		t.Errorf("peer received %d bytes (in order: %v), want the %d written before Close",
			len(got), bytes.Equal(got, stream[:min(len(got), len(stream))]), o.wrote)
	}
	if s.Connected() {
		t.Error("Connected() after Close")
	}
}

// Socket's doc promises its writes are safe from any goroutine; this holds
// for WriteBytes (above) but must hold for the typed writes too. Under
// -race this test reports the data race on DataOutput's scratch array;
// without -race it checks that every value arrives intact.
func TestSocketConcurrentTypedWrites(t *testing.T) {
	const writers, perWriter = 4, 200
	e := newEngine(t, loop.Config{})
	s, c := acceptOne(t, e, nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// One 8-byte value per call, so no interleaving can split it.
				v := uint64(w)<<56 | uint64(i)<<8 | 0xA5
				if err := s.WriteDouble(math.Float64frombits(v)); err != nil {
					t.Errorf("WriteDouble: %v", err)
					return
				}
			}
			s.Flush()
		})
	}
	next := make([]int, writers)
	for range writers * perWriter {
		v := binary.BigEndian.Uint64(readN(t, c, 8))
		w, i := int(v>>56), int(v>>8&0xffff)
		if v&0xff != 0xA5 || v>>24&0xffffffff != 0 || w >= writers || i != next[w] {
			t.Fatalf("value %#016x is torn or out of order (expected seq %v)", v, next)
		}
		next[w]++
	}
	wg.Wait()
}
