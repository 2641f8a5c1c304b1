package buffer_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/airsock/airsock/buffer"
)

// A loop reads what the peer sent into a connection's inbound ring, takes
// out whole length-prefixed frames, keeping a partial frame for later, and
// writes replies out of the outbound ring. A bytes.Reader and a bytes.Buffer
// stand in for the socket.
func ExampleRing() {
	peer := bytes.NewReader([]byte("\x05hello\x05wor"))
	var sent bytes.Buffer

	var in, out buffer.Ring
	in.Init(nil, 64<<10) // Default pool, at most 64 KiB unconsumed
	out.Init(nil, 0)
	defer in.Reset()
	defer out.Reset()
	// On a readiness event: fill the free space (one readv into a, then b),
	// commit what arrived, then take as many whole frames as there are.
	a, b := in.Free(-1)
	n, err := peer.Read(a)
	if n == len(a) && len(b) > 0 {
		m, _ := peer.Read(b)
		n += m
	}
	in.Commit(n)
	if err == io.EOF {
		fmt.Println("peer closed")
	}
	fmt.Println("read", n, "bytes")
	for in.Len() > 0 {
		head, _ := in.Peek(1)
		frame, err := in.Next(1 + int(head[0]))
		if err != nil { // io.ErrShortBuffer: wait for the rest
			break
		}
		fmt.Fprintf(&out, "got %s;", frame[1:])
	}
	fmt.Println("kept", in.Len(), "bytes in", in.Cap())
	in.Release() // no-op: a partial frame is still held
	in.Discard(-1)
	in.Release() // empty: the array goes back to the pool
	fmt.Println("holding", in.Cap())
	// On writability: write the readable bytes (one writev of head, then
	// tail) and discard what was taken.
	head, tail := out.Peek(-1)
	n, _ = sent.Write(head)
	m, _ := sent.Write(tail)
	out.Discard(n + m)
	fmt.Printf("sent %q\n", sent.String())
	// Output:
	// read 10 bytes
	// kept 4 bytes in 512
	// holding 0
	// sent "got hello;"
}

// Pool sizes round up to a power of two, never below MinSize.
func ExamplePool() {
	b := buffer.Default.Get(1000)
	fmt.Println(len(b), cap(b))
	buffer.Default.Put(b)
	// Output: 1024 1024
}
