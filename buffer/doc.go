// Package buffer holds the byte storage of airsock's event loop: Pool, a
// size-classed pool of power-of-two byte slices, and Ring, a growable byte
// FIFO that package loop embeds in every connection for the inbound bytes
// the handler has not consumed yet and the outbound bytes the kernel has not
// accepted yet. It imports nothing else from airsock.
//
// A Ring takes its array from a Pool only when it has bytes to hold and gives
// it back (Release) once drained, so an idle connection holds no buffer
// memory. It grows in the pool's power-of-two sizes but never past its
// limit: the last step is to an array of exactly the limit. ReadFd and WriteFd move bytes between a Ring and a descriptor with
// one read(2)/readv(2) or write(2)/writev(2) over both halves of the ring,
// without allocating.
//
// A connection's loop goroutine uses its rings like this:
//
//	var in buffer.Ring // zero value: Default pool, no limit
//	in.Init(nil, 1<<20) // at most 1 MiB of unconsumed input
//	n, err := in.ReadFd(fd)
//	switch {
//	case errors.Is(err, unix.EAGAIN): // drained the socket; wait for readiness
//	case err == io.EOF:               // peer closed
//	case errors.Is(err, buffer.ErrLimit): // handler is not keeping up
//	}
//	if frame, err := in.Next(4); err == nil { ... } // whole frame, one slice
//	in.Release() // hands the array back if everything was consumed
//
// Pool is safe for concurrent use; a Ring belongs to one goroutine.
package buffer
