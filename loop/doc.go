// Package loop is airsock's reactor: an Engine runs N event loops, each a
// goroutine with its own poller (epoll or kqueue, from package poller),
// and every connection lives on exactly one loop, which runs all of its
// Handler callbacks in order. Listeners, outbound dials, a cross-goroutine
// task queue, timers, backpressure and graceful shutdown are here too.
// Package serversocket builds the AIR API on top; this package knows
// nothing of AIR.
//
// # The life of one message
//
//  1. The loop sleeps in poller.Wait (eventloop.go: run) until a socket is
//     readable, a timer is due, or another goroutine queued a task.
//  2. For each ready descriptor it finds the Conn by index in its fd table:
//     no map, no lock.
//  3. Conn.ready (conn_io.go) first drains pending output if the socket was
//     waiting to be writable, then reads once into the loop's shared 64 KiB
//     read buffer.
//  4. OnData sees those bytes in place through Peek/Next/Discard. Only what
//     it leaves unconsumed is copied into the connection's own ring buffer
//     and offered again, in front of the next bytes.
//  5. Write copies the reply into the loop's output stage (or, if the socket
//     is backed up, the connection's ring); nothing is sent yet. A reply of
//     8 KiB or more is instead sent at once, with what is staged, in one
//     writev from the caller's memory.
//  6. When OnData returns the loop flushes: one write(2) for the stage, or
//     one writev(2) over the ring's two halves. Whatever the kernel does not
//     take stays in the ring, and only then is write interest registered.
//  7. When the socket drains, the poller reports it writable, and the loop
//     sends the rest and drops write interest.
//
// Steady-state echo thus costs one read and one write per message, a share
// of one epoll_wait (after a busy batch the loop polls instead of sleeping),
// no epoll_ctl, no allocation and no lock.
//
// # Goroutines
//
// A Handler's callbacks, and every Conn method not marked otherwise, run on
// the connection's loop goroutine. Conn.Close, Conn.AsyncWrite, Conn.Run and
// the Engine's methods are safe from any goroutine: they go through the
// loop's task queue, which costs one lock per batch and wakes a sleeping
// loop at most once per batch.
//
// # Backends
//
// Handlers never see readiness, only data in hand, so a completion-based
// backend (io_uring) can sit beside the readiness pollers: it would complete
// reads into the same buffers and call the same read path, with no change
// to Handler, Conn or the packages above.
//
// # Limits
//
// Config bounds what a peer can make the loop hold: unconsumed input per
// connection (MaxInbound, with room for larger frames reserved from an
// engine-wide InboundBudget by Conn.ReserveInbound, and InboundTimeout for a
// handler that makes no progress), pending output (WriteHighWater and
// WriteLowWater: Conn.Writable tells a handler to stop executing pipelined
// requests, reading pauses, and OnData is called again at the low mark), the
// cross-goroutine queue (AsyncQueueBytes), open connections (MaxConns), and
// time (IdleTimeout, WriteTimeout, dial timeouts). Memory a burst leaves
// idle is returned to the OS when the loops go quiet (ScavengeAbove). Accept
// errors from exhausted descriptors or memory back off and retry; they never
// stop the engine. docs/limits.md gives every default and the worst case.
package loop
