package loop

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The syscall convention of sys_linux.go and sys_bsd.go, which the whole
// I/O path relies on: (0, nil) for would-block, io.EOF at the end of the
// stream, *os.SyscallError naming the call for anything else.

// nonblockingPair returns a connected pair of non-blocking stream sockets,
// closed at the end of the test unless the test closes them first.
func nonblockingPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fds[0], fds[1]
}

func TestSysReadvConvention(t *testing.T) {
	a, b := nonblockingPair(t)
	buf := make([]byte, 8)
	if n, err := sysReadv(a, buf, nil); n != 0 || err != nil {
		t.Fatalf("read with nothing to read = %d, %v; want 0, nil (would block)", n, err)
	}
	if _, err := sysWritev(b, []byte("hello, "), []byte("world")); err != nil {
		t.Fatal(err)
	}
	head, tail := make([]byte, 5), make([]byte, 20)
	n, err := sysReadv(a, head, tail)
	if err != nil || n != 12 || string(head) != "hello" || string(tail[:n-5]) != ", world" {
		t.Fatalf("readv = %d, %v, %q + %q; want 12 bytes split over both", n, err, head, tail[:max(n-5, 0)])
	}
	unix.Shutdown(b, unix.SHUT_WR)
	if n, err := sysReadv(a, buf, nil); n != 0 || err != io.EOF {
		t.Fatalf("read at the peer's FIN = %d, %v; want 0, io.EOF", n, err)
	}
	unix.Close(a)
	_, err = sysReadv(a, buf, buf)
	var se *os.SyscallError
	if !errors.As(err, &se) || !errors.Is(err, unix.EBADF) {
		t.Fatalf("readv on a closed descriptor: %v; want an *os.SyscallError wrapping EBADF", err)
	}
}

func TestSysWritevConvention(t *testing.T) {
	a, b := nonblockingPair(t)
	if n, err := sysWritev(a, nil, nil); n != 0 || err != nil {
		t.Fatalf("write of nothing = %d, %v; want 0, nil", n, err)
	}
	if n, err := sysWritev(a, nil, []byte("x")); n != 1 || err != nil {
		t.Fatalf("write of only b = %d, %v; want 1, nil", n, err)
	}
	// Fill the socket: the last write takes what fits, the next would block.
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if i == 10_000 {
			t.Fatal("the socket never filled")
		}
		n, err := sysWritev(a, chunk, chunk)
		if err != nil {
			t.Fatalf("writev while filling: %v", err)
		}
		if n == 0 {
			break // would block: (0, nil)
		}
	}
	unix.Close(b)
	_, err := sysWritev(a, chunk, nil)
	var se *os.SyscallError
	if !errors.As(err, &se) || !errors.Is(err, unix.EPIPE) {
		t.Fatalf("write to a closed peer: %v; want an *os.SyscallError wrapping EPIPE", err)
	}
}

func TestSysAcceptConvention(t *testing.T) {
	lfd, err := sysSocket(unix.AF_INET, unix.SOCK_STREAM)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := bindTo(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := listenOn(lfd, 8); err != nil {
		t.Fatal(err)
	}
	if fd, _, _, err := sysAccept(lfd); fd != -1 || err != nil {
		t.Fatalf("accept with none pending = %d, %v; want -1, nil", fd, err)
	}
	nc, err := net.Dial("tcp4", sockName(lfd).String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i := 0; ; i++ { // the connection is queued once Dial returns; bound the retries anyway
		fd, family, peer, err := sysAccept(lfd)
		if err != nil || (fd < 0 && i == 1000) {
			t.Fatalf("accept = %d, %v", fd, err)
		}
		if fd < 0 {
			continue
		}
		unix.Close(fd)
		if family != unix.AF_INET || peer.tcp().String() != nc.LocalAddr().String() {
			t.Fatalf("accepted family %d, peer %v; want AF_INET, %v", family, peer.tcp(), nc.LocalAddr())
		}
		return
	}
}
