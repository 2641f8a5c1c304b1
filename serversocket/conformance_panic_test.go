package serversocket_test

// A panicking listener costs only its own connection.

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

func TestSocketListenerPanicClosesOnlyItsSocket(t *testing.T) {
	var logs testutil.SyncBuffer
	e := newEngine(t, loop.Config{Loops: 2, Logger: bufferLogger(&logs)})
	srv := startServer(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.ReadBytes(nil, 0, 0)
			if strings.HasPrefix(string(b), "panic") {
				panic("listener boom")
			}
			s.WriteBytes(b, 0, 0)
		}, 0)
	})
	// Several healthy clients, so that some share the failing one's loop.
	var good []*net.TCPConn
	for range 4 {
		c := dial(t, hostPort(srv))
		echo(t, c, "hello")
		good = append(good, c)
	}
	bad := dial(t, hostPort(srv))
	echo(t, bad, "fine so far")
	if _, err := bad.Write([]byte("panic now")); err != nil {
		t.Fatal(err)
	}
	n, err := bad.Read(make([]byte, 16))
	if n != 0 || (err != io.EOF && !errors.Is(err, unix.ECONNRESET)) {
		t.Errorf("panicking socket's client read %d bytes, %v; want EOF or a reset", n, err)
	}
	for _, c := range good {
		echo(t, c, "still here")
	}
	if l := logs.String(); !strings.Contains(l, "listener boom") || !strings.Contains(l, "panic") {
		t.Errorf("the panic was not reported to the engine's logger; log:\n%s", l)
	}
}
