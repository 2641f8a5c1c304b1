package serversocket_test

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// BindListener: a ServerSocket serves a listening socket inherited as a
// file (loop.Engine.FileListener), reports its address, and hands it on
// with Listener().Files(); it refuses a second bind and a unix listener.
func TestBindListener(t *testing.T) {
	e := newEngine(t, loop.Config{})
	nl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := nl.(*net.TCPListener).File()
	nl.Close()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := e.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatalf("FileListener: %v", err)
	}
	srv := serversocket.NewOn(e)
	if srv.Listener() != nil {
		t.Fatal("Listener() before a bind is not nil")
	}
	srv.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		s := ev.(*serversocket.ServerSocketConnectEvent).Socket
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.ReadBytes(nil, 0, 0)
			s.WriteBytes(b, 0, 0)
		}, 0)
	}, 0)
	if err := srv.BindListener(ln); err != nil {
		t.Fatalf("BindListener: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.BindListener(ln); err == nil {
		t.Error("a second BindListener succeeded")
	}
	if err := srv.Listen(0); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	want := nl.Addr().(*net.TCPAddr)
	if srv.LocalAddress() != "127.0.0.1" || srv.LocalPort() != want.Port {
		t.Fatalf("bound to %s:%d, want %v", srv.LocalAddress(), srv.LocalPort(), want)
	}
	echo(t, dial(t, net.JoinHostPort(srv.LocalAddress(), strconv.Itoa(srv.LocalPort()))), "inherited")
	files, err := srv.Listener().Files()
	if err != nil || len(files) != 1 {
		t.Fatalf("Files: %d, %v", len(files), err)
	}
	files[0].Close()

	// A unix listener is no ServerSocket's.
	ul, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	uf, err := ul.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer uf.Close()
	uln, err := e.FileListener(uf)
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	var ae *serversocket.ArgumentError
	if err := serversocket.NewOn(e).BindListener(uln); !errors.As(err, &ae) {
		t.Errorf("BindListener of a unix listener: %v, want an ArgumentError", err)
	}
}
