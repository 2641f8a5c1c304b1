// Package buffer holds the byte storage of airsock's event loop: Pool, a
// size-classed pool of power-of-two byte slices, and Ring, a growable byte
// FIFO that package loop embeds in every connection for the inbound bytes
// the handler has not consumed yet and the outbound bytes the kernel has not
// accepted yet. It is memory only: it makes no system calls, and it imports
// nothing else from airsock.
//
// A Ring takes its array from a Pool only when it has bytes to hold and gives
// it back (Release) once drained, so an idle connection holds no buffer
// memory. It grows in the pool's power-of-two sizes but never past its
// limit: the last step is to an array of exactly the limit.
//
// Whoever does the I/O moves bytes in place, without an intermediate copy
// or an allocation. A reader fills a ring through Free, which returns its
// free space as one slice, or two where it wraps around the array's end,
// reads into them (one readv(2) takes both) and calls Commit with the
// count. A writer drains one through Peek, which returns the readable bytes
// the same way, writes them (one writev(2)) and calls Discard with the count
// taken.
//
// A connection's loop goroutine uses its rings like this, read and write
// being its system calls:
//
//	var in, out buffer.Ring // zero value: Default pool, no limit
//	in.Init(nil, 1<<20)     // at most 1 MiB of unconsumed input
//	a, b := in.Free(-1)     // empty only at the limit: the handler is not keeping up
//	n, err := read(a, b)
//	in.Commit(n)
//	if frame, err := in.Next(4); err == nil { ... } // whole frame, one slice
//	in.Release() // hands the array back if everything was consumed
//
//	head, tail := out.Peek(-1)
//	n, err = write(head, tail)
//	out.Discard(n) // the rest stays for the next writability event
//
// Pool is safe for concurrent use; a Ring belongs to one goroutine.
package buffer
