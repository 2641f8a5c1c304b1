package loop

import (
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/poller"
)

// The seam where a backend plugs in.
//
// A backend is how one loop waits for its sockets and moves their bytes.
// The loop owns the connections, their buffers and every decision (what to
// read, when to pause, what to send, when to close); the backend only
// performs I/O and reports which descriptors progressed, as events that the
// loop serves by running each descriptor's fdHandler.ready.
//
// The contract, which every backend keeps:
//
//   - wait blocks until a watched descriptor progressed, wake was called,
//     or timeout passed (0: do not block; < 0: no timeout), and returns an
//     event for each descriptor that progressed, valid until the next wait.
//     Loop goroutine only.
//   - wake makes a wait in progress, or the next one, return soon; wakes
//     before that wait coalesce. Any goroutine.
//   - watch changes what is reported for a connection's fd from old to
//     want: Readable, input may be taken; Writable, output may move again.
//     want 0 stops reporting (a hang-up too: a paused connection must not
//     spin the loop), old 0 starts. Loop goroutine only.
//   - poll is watch for a descriptor on which the loop makes its own
//     syscalls (a listener, a connect in progress): plain readiness. Any
//     goroutine (a Listener is closed from its caller's).
//   - input returns fd's next input, at most len(buf) bytes, where the
//     backend has it: read into buf (readiness), or in the backend's own
//     memory (a completion buffer), valid until the next call of input or
//     wait. read takes
//     input for fd into a, then b (the free halves of a connection's
//     ring, behind leftovers); write hands a, then b, over
//     for sending, and the caller may reuse both on return. Both follow the
//     syscall convention of sys_linux.go: (0, nil) means nothing now (the
//     backend reports fd when there is), io.EOF the peer's end of stream,
//     and any other error is an *os.SyscallError. Loop goroutine only.
//   - failure returns the error that ended fd's sends in flight, if one
//     did (completion backends). Such a backend reports it to the loop
//     with an event of Mask Error alone, whatever is watched, which
//     readiness never produces. Loop goroutine only.
//   - canWrite reports whether a write now may take bytes, given whether
//     fd is watched for Writable: readiness, only while it is not (the
//     kernel was full); io_uring, while the send queue has room (its watch
//     may be for sends in flight). Loop goroutine only.
//   - held returns how many bytes write took for fd are still on their way
//     to the kernel (a completion backend's sends in flight), and how many
//     of them are over what stands for a socket buffer: those count as the
//     connection's pending output, for the marks. A half-close or a close
//     waits for all of them, watching Writable, which is reported when a
//     send completes. Loop goroutine only.
//   - closeFd closes a connection's descriptor, ending whatever the backend
//     has in flight on it; what completes for it later, once the number
//     may belong to a new connection, must not reach that one. Loop
//     goroutine only.
//   - listen starts (on) or stops taking connections on a listening
//     descriptor, and accept returns the next connection it took, with the
//     sysAccept convention (fd -1 and a nil error: none now; the backend
//     reports the listener's fd Readable when there is). readiness watches
//     the descriptor and calls accept4; io_uring keeps a multishot accept
//     armed and hands over what it accepted. Loop goroutine only.
//   - unlisten runs before a listening descriptor is closed, on any
//     goroutine, with lf.mu held; it returns a channel that is closed once
//     the backend holds the socket no more (an armed accept holds a
//     reference, so the port stays taken until it ends), or nil. forget
//     drops what the backend kept for it, on the loop goroutine, after.
//   - watchPacket is watch for a datagram socket, whose syscalls the loop
//     makes itself (recvmmsg, sendmmsg): plain readiness, changed on the
//     loop goroutine only; io_uring polls the socket in the ring.
//     packetAgain asks for fd to be reported readable again at the next
//     wait (its batch was full: a ring poll reports wake-ups, not levels);
//     closePacket stops watching (watched) such a socket and closes it
//     once the backend holds it no more, so that its port is free.
//   - pollApart reports that poll and watch are different mechanisms
//     (io_uring: epoll and the ring), so a descriptor moving from one to the
//     other must leave the first. Any goroutine.
//   - syscalls returns how many syscalls the backend made for its loop
//     (Metrics); any goroutine.
//   - bytesSent returns how many bytes of its connections' output the
//     kernel took (Metrics' BytesOut): what write returned for readiness,
//     what sends completed for io_uring, whose write only queues. Any
//     goroutine.
//   - trim gives back what the backend keeps for reuse beyond what a
//     light load needs, when the engine scavenges; freed memory the
//     collector must take is counted in the engine's freed. Loop
//     goroutine only.
//   - ownsThread reports that the loop goroutine must stay on one OS
//     thread; bind runs first on that goroutine, and close releases the
//     backend once its loop has stopped.
//
// readiness (eventloop.go) is the backend over epoll or kqueue: wait is
// poller.Wait, read and write are the syscalls themselves, held is
// always 0 (what write took is the kernel's).
//
// completion (uring_linux.go) is the backend over io_uring: wait submits
// what the turn prepared and reaps completions in one io_uring_enter; a
// connection's input arrives by multishot recv into a per-loop buffer ring,
// which input lends in place (read copies it); write copies into a per-connection send buffer
// that stays alive until its send completes. Listeners and connects in
// progress are watched by an epoll instance that the ring polls, so poll
// works from any goroutine. Above the seam nothing changes: the Handler
// sees data in hand, never readiness.
type backend interface {
	wait(timeout time.Duration) ([]poller.Event, error)
	wake() error
	watch(fd int, old, want poller.Mask) error
	poll(fd int, old, want poller.Mask) error
	input(fd int, buf []byte) ([]byte, error)
	read(fd int, a, b []byte) (int, error)
	write(fd int, a, b []byte) (int, error)
	listen(lf *listenFD, on bool) error
	accept(lf *listenFD) (fd, family int, peer sockAddr, err error)
	unlisten(lf *listenFD) <-chan struct{}
	forget(lf *listenFD)
	watchPacket(fd int, old, want poller.Mask) error
	packetAgain(fd int)
	closePacket(fd int, watched poller.Mask) error
	canWrite(fd int, watching bool) bool
	failure(fd int) error
	held(fd int) (all, over int)
	closeFd(fd int) error
	ownsThread() bool
	pollApart() bool
	bind() error
	close() error
	syscalls() uint64
	bytesSent() uint64
	trim()
}

// newBackend makes the backend called name for one loop; freed counts the
// memory it drops, for the scavenger (scavenge.go).
func newBackend(name string, freed *atomic.Int64) (backend, error) {
	if name == BackendIOUring {
		return newCompletion(freed)
	}
	return newReadiness()
}
