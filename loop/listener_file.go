package loop

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Listening sockets that cross a process boundary: FileListener adopts
// sockets another process made and passed down (a server handing over to
// its successor, systemd's socket activation), and Files hands this
// engine's to such a successor. The kernel keeps a socket listening as long
// as any process holds a descriptor of it, so a hand-over that passes the
// descriptors never closes the socket, and no connection queued in it is
// lost: whichever process accepts next takes it.
//
// Such a socket is shared: this engine's Close only lets go of it
// (Listener.shared), and its descriptors are duplicates, never the
// caller's own, so that the caller may close its os.File at once. The
// duplicates are made with F_DUPFD_CLOEXEC through the file's SyscallConn,
// never os.File.Fd, which would put the socket (every process's
// descriptor of it: the mode is the socket's, not the descriptor's) in
// blocking mode under a loop that accepts on it.

// FileListener makes a Listener of already listening stream sockets made
// elsewhere: TCP (IPv4 or IPv6) or unix, all bound to one address, such as
// the descriptors a parent process or systemd passed down (Files makes
// them). It duplicates each descriptor (close-on-exec, non-blocking), so
// the caller closes files when it likes. Serve starts accepting: each
// socket on a loop of its own while there are as many loops as sockets
// (more sockets than loops share the loops; with fewer, the connections
// are spread over every loop as with one socket). Other processes may go
// on accepting on the same sockets; Close only lets go of them. A socket
// that is not listening, not a stream, or of another family or address is
// refused and nothing is adopted. Safe from any goroutine.
func (e *Engine) FileListener(files ...*os.File) (*Listener, error) {
	if len(files) == 0 {
		return nil, errors.New("loop: FileListener: no file")
	}
	e.lifeMu.RLock()
	defer e.lifeMu.RUnlock()
	if e.closed.Load() {
		return nil, ErrClosed
	}
	ln := &Listener{engine: e, guard: -1}
	ln.shared.Store(true)
	var first unix.Sockaddr
	for _, f := range files {
		fd, sa, err := adoptFile(f)
		if err == nil && first != nil && !sameAddr(first, sa) {
			unix.Close(fd)
			err = fmt.Errorf("loop: FileListener: %s is bound to %v, %s to %v: one listener has one address",
				files[0].Name(), toAddr(first), f.Name(), toAddr(sa))
		}
		if err != nil {
			ln.closeFDs()
			return nil, err
		}
		if first == nil {
			first = sa
			ln.addr = toAddr(sa)
			ln.local = sockAddrOf(sa)
			ln.network = "tcp"
			if u, ok := sa.(*unix.SockaddrUnix); ok {
				ln.network, ln.path = "unix", u.Name
			}
		}
		ln.fds = append(ln.fds, &listenFD{ln: ln, fd: fd})
	}
	// Serve listens again, which only sets the backlog of a socket that
	// listens already.
	e.mu.Lock()
	defer e.mu.Unlock()
	port := portOf(first)
	if port != 0 && e.ports[port] {
		ln.closeFDs()
		return nil, os.NewSyscallError("bind", unix.EADDRINUSE)
	}
	if port != 0 {
		e.ports[port] = true
	}
	e.listeners[ln] = struct{}{}
	return ln, nil
}

// adoptFile duplicates f's descriptor after checking that it is a listening
// stream socket of a family the loop serves, and returns the duplicate,
// non-blocking and close-on-exec, with its local address.
func adoptFile(f *os.File) (int, unix.Sockaddr, error) {
	fail := func(err error) (int, unix.Sockaddr, error) {
		return -1, nil, fmt.Errorf("loop: FileListener: %s: %w", f.Name(), err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fail(err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return fail(err)
	}
	if derr != nil {
		return fail(os.NewSyscallError("fcntl", derr))
	}
	sa, err := checkListening(fd)
	if err == nil {
		err = os.NewSyscallError("setnonblock", unix.SetNonblock(fd, true))
	}
	if err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return fd, sa, nil
}

// checkListening returns fd's local address if fd is a listening stream
// socket of AF_INET, AF_INET6 or AF_UNIX.
func checkListening(fd int) (unix.Sockaddr, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("not a socket: %w", os.NewSyscallError("getsockopt", err))
	}
	if typ != unix.SOCK_STREAM {
		return nil, errors.New("not a stream socket")
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, os.NewSyscallError("getsockname", err)
	}
	switch sa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6, *unix.SockaddrUnix:
	default:
		return nil, errors.New("not a TCP or unix socket")
	}
	if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || on == 0 {
		return nil, fmt.Errorf("not listening (SO_ACCEPTCONN %d, %v)", on, err)
	}
	return sa, nil
}

// sameAddr reports whether two local addresses are the same.
func sameAddr(a, b unix.Sockaddr) bool {
	x, y := toAddr(a), toAddr(b)
	return x != nil && y != nil && x.Network() == y.Network() && x.String() == y.String()
}

// Files returns duplicates of the listener's sockets, for a process that
// is to accept on them too (os/exec's ExtraFiles; FileListener adopts
// them there): one per descriptor, so every socket of a per-loop group.
// The caller closes them once passed. From then on the sockets are shared:
// Close lets go of them without ending their listening state (or removing
// a unix socket's file), even if the successor never came. The listener
// must be serving. Safe from any goroutine.
func (ln *Listener) Files() ([]*os.File, error) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed {
		return nil, ErrClosed
	}
	if !ln.listening {
		return nil, errors.New("loop: Files: the listener is not serving")
	}
	ln.shared.Store(true)
	files := make([]*os.File, 0, len(ln.fds))
	for i, lf := range ln.fds {
		lf.mu.Lock()
		fd, err := -1, error(ErrClosed)
		if !lf.closed {
			fd, err = unix.FcntlInt(uintptr(lf.fd), unix.F_DUPFD_CLOEXEC, 0)
			err = os.NewSyscallError("fcntl", err)
		}
		lf.mu.Unlock()
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("%s[%d]", listenerName(ln.addr), i)))
	}
	return files, nil
}

// listenerName names a listener's files after its address.
func listenerName(a net.Addr) string {
	if a == nil {
		return "listener"
	}
	return a.Network() + ":" + a.String()
}
