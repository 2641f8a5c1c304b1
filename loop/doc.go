// Package loop is airsock's reactor: an Engine runs N event loops, each a
// goroutine with its own backend (epoll or kqueue from package poller, or
// io_uring from package uring),
// and every connection lives on exactly one loop, which runs all of its
// Handler callbacks in order. Listeners, outbound dials, a cross-goroutine
// task queue, timers, backpressure and graceful shutdown are here too.
// Package serversocket builds an event-dispatching socket API on top; this
// package knows nothing of it.
//
// # The life of one message
//
// Three files hold the whole steady-state path, each read top-down:
// eventloop.go (the loop), conn_io.go (a connection's I/O, in call order)
// and sys_linux.go (sys_bsd.go on the BSDs: the only code that reads,
// writes or accepts).
//
//  1. eventloop.go: run waits on the loop's backend (readiness: epoll or
//     kqueue through package poller) until a socket is ready, a timer is
//     due, or another goroutine queued a task, then finds each ready
//     descriptor's Conn by index in the loop's fd table: no map, no lock.
//  2. conn_io.go: ready first sends pending output if the socket was
//     waiting for room, then read makes one read (sys_linux.go: sysReadv)
//     into the loop's shared 64 KiB read buffer, or, behind leftovers, into
//     the free halves of the connection's ring.
//  3. callData runs OnData, which sees those bytes in place through Peek,
//     Next or Discard; keepLeftovers copies only what it left unconsumed
//     into the connection's ring, to be offered again in front of the next
//     bytes.
//  4. Write (queueOutput) copies the reply into the loop's output stage
//     (or into the connection's ring, if output is already queued there or
//     the stage holds another connection's bytes); nothing is sent yet. A reply of 8 KiB or more is instead sent at once, with what
//     is staged, in one writev from the caller's memory.
//  5. When OnData returns, flush sends: one write(2) for the stage, or one
//     writev(2) over the ring's two halves (sys_linux.go: sysWritev).
//     Whatever the kernel does not take stays in the ring, and only then
//     does afterWrite ask the backend to report writability; onWritable
//     sends the rest when it comes, and the interest is dropped again.
//
// Steady-state echo thus costs one read and one write per message, a share
// of one epoll_wait (after a busy batch the loop polls instead of sleeping),
// no epoll_ctl, no allocation and no lock. Off that path: backpressure.go
// (Writable, inbound reservations and their watchdog), close.go (the end of
// a connection), accept.go, dial.go and listener.go (making connections),
// sock.go (the socket helpers), timeouts.go and timer.go, taskqueue.go.
//
// # Datagrams
//
// ListenPacket and DialPacket put datagram sockets (udp, unixgram) on the
// same loops, under the same goroutine rules (packet.go, packet_io.go,
// packet_send.go). The backend only reports a socket ready (io_uring with
// a multishot poll on the socket in its ring: uring_packet_linux.go); the
// loop then reads one batch of up to Config.PacketBatch datagrams with one
// recvmmsg (sys_mmsg_linux.go; a recvmsg each on the BSDs) into a per-loop
// mapped batch, hands each to OnPacket in place, and sends the replies
// staged meanwhile with one sendmmsg per socket when the batch ends. A
// loaded socket thus costs three syscalls per batch, not two per datagram.
// On Linux the kernel's UDP segmentation also does its per-datagram work
// once per run (packet_offload_linux.go; Config.PacketNoOffload): replies
// of one batch that go to one peer with one size leave as one segmented
// buffer (GSO), and a sender's segmented run arrives as one buffer (GRO)
// that the loop cuts into its datagrams before OnPacket.
//
// # TLS
//
// ListenTLS (Listener.ServeTLS) and DialOptions.TLS put the standard
// crypto/tls on the same loops (tls.go, tls_wire.go, tls_io.go): each
// handshake runs on a short-lived goroutine that the loop feeds (crypto/tls
// cannot resume a handshake after a read that would block), then records
// are decrypted inline on the loop and OnData sees plaintext through the
// same Peek, Next, Discard and Read, within the same input limits; Write
// encrypts into the connection's output. OnOpen runs once the handshake is
// done (a HandshakeVerifier may refuse it first); a failed or timed-out
// handshake (Config.TLSHandshakeTimeout) closes without callbacks; Close
// and CloseWrite send close_notify. An idle established connection holds
// its tls.Conn and no goroutine.
//
// # PROXY protocol
//
// Config.ProxyProtocol (proxy.go) reads a PROXY protocol header (HAProxy's,
// v1 or v2, parsed by package proxyproto) at the start of each accepted
// connection, before OnOpen and before a TLS handshake, from trusted
// networks only; RemoteAddr and LocalAddr then give the client and the
// address it reached, and Conn.ProxyHeader the TLVs.
//
// # Metrics
//
// Engine.ReadMetrics (metrics.go) reads each loop's counters and gauges:
// connections open, accepted, dialled, closed by reason (ReasonOf), bytes,
// callbacks, reads, writes, waits, syscalls, paused connections, queued
// tasks, accept back-offs, panics, PROXY headers, busy time. Each loop
// writes its own with plain atomic stores (metrics_count.go), so reading
// them takes no lock and counting costs the per-message path next to
// nothing; package promexport exports them to Prometheus.
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
// backend.go names the seam: the interface through which a loop waits for
// its sockets and moves their bytes, with its contract. Config.Backend
// picks one per engine (backend_choice.go; docs/backends.md says which
// "auto" takes and why):
//
//   - readiness (eventloop.go), over epoll or kqueue: the path above.
//   - completion (uring_linux.go), over io_uring, Linux 6.17 and later:
//     each loop owns a ring on its own OS thread and makes one
//     io_uring_enter per turn, which submits the turn's sends and recv
//     re-arms and reaps what completed. Step 2 becomes a multishot recv
//     into a per-loop provided buffer ring, whose bytes OnData sees in
//     place; step 5 copies the reply into the connection's send queue and
//     submits a SEND that the same enter carries, so a request/response
//     echo costs a fraction of one syscall per message. TCP listeners
//     accept by multishot accept (uring_accept_linux.go); unix listeners,
//     those of an engine with MaxConns, and connects in progress stay on an
//     epoll instance that the ring polls.
//
// Handlers never see readiness, only data in hand, so both run the same
// Handler, Conn and packages above unchanged, and the package's tests run
// on each (main_test.go).
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
