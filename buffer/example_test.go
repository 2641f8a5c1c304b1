package buffer_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/airsock/airsock/buffer"
	"golang.org/x/sys/unix"
)

// A loop reads what the peer sent into a connection's inbound ring and takes
// out whole length-prefixed frames, keeping a partial frame for later.
func ExampleRing() {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	unix.SetNonblock(fds[0], true)
	unix.Write(fds[1], []byte("\x05hello\x05wor"))

	var in buffer.Ring
	in.Init(nil, 64<<10) // Default pool, at most 64 KiB unconsumed
	defer in.Reset()
	// On a readiness event: one read, then as many whole frames as arrived.
	n, err := in.ReadFd(fds[0])
	switch {
	case errors.Is(err, unix.EAGAIN): // spurious wake-up: nothing to read
	case err == io.EOF:
		fmt.Println("peer closed")
	case err != nil:
		fmt.Println(err)
	}
	fmt.Println("read", n, "bytes")
	for in.Len() > 0 {
		head, _ := in.Peek(1)
		frame, err := in.Next(1 + int(head[0]))
		if err != nil { // io.ErrShortBuffer: wait for the rest
			break
		}
		fmt.Printf("frame %q\n", frame[1:])
	}
	fmt.Println("kept", in.Len(), "bytes in", in.Cap())
	in.Release() // no-op: a partial frame is still held
	in.Discard(-1)
	in.Release() // empty: the array goes back to the pool
	fmt.Println("holding", in.Cap())
	// Output:
	// read 10 bytes
	// frame "hello"
	// kept 4 bytes in 512
	// holding 0
}

// Pool sizes round up to a power of two, never below MinSize.
func ExamplePool() {
	b := buffer.Default.Get(1000)
	fmt.Println(len(b), cap(b))
	buffer.Default.Put(b)
	// Output: 1024 1024
}
