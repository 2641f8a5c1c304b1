package loop

import (
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
//   - watch changes what is reported for fd from old to want: Readable,
//     input may be taken; Writable, output may move again. want 0 stops
//     reporting (a hang-up too: a paused connection must not spin the loop),
//     old 0 starts. Any goroutine (a Listener is closed from its caller's).
//   - read takes input for fd into a, then b; write hands a, then b, to the
//     kernel. Both follow the syscall convention of sys_linux.go: (0, nil)
//     means nothing now (report readiness later), io.EOF the peer's end of
//     stream, and any other error is an *os.SyscallError. Loop goroutine
//     only.
//   - close releases the backend once its loop has stopped.
//
// readiness (eventloop.go) is the backend over epoll or kqueue: wait is
// poller.Wait, read and write are the syscalls themselves.
//
// A completion backend (io_uring) fits the read side as it is: its wait
// submits and reaps in one io_uring_enter and returns an event for each
// descriptor whose receive completed, and its read hands over the bytes
// that completed. The write side is where it will change the seam: write
// here reports at once how much of a and b the kernel took, and the caller
// may reuse both on return (the stage, a Write's p), while a completion
// send needs its memory held until it completes. That backend will send
// from the connection's ring, whose bytes stay put until discarded, and
// report the progress with its events. Above the seam nothing changes: the
// Handler sees data in hand, never readiness.
type backend interface {
	wait(timeout time.Duration) ([]poller.Event, error)
	wake() error
	watch(fd int, old, want poller.Mask) error
	read(fd int, a, b []byte) (int, error)
	write(fd int, a, b []byte) (int, error)
	close() error
}
