package loop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// Listening sockets across engines (listener_file.go): adopting one that
// package net made, refusing what is not a listening stream socket, and
// handing a listener over from one engine to another while clients keep
// connecting, with not one connection refused, reset or left unserved.

// netListenerFile returns a duplicate of a listening socket made by
// package net, whose own descriptor is closed: only the file holds it.
func netListenerFile(t *testing.T, network, address string) *os.File {
	t.Helper()
	nl, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	var f *os.File
	switch l := nl.(type) {
	case *net.TCPListener:
		f, err = l.File()
	case *net.UnixListener:
		l.SetUnlinkOnClose(false) // the socket lives on in f
		f, err = l.File()
	}
	nl.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFileListenerAdopts(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			address := "127.0.0.1:0"
			if network == "unix" {
				address = filepath.Join(t.TempDir(), "s.sock")
			}
			f := netListenerFile(t, network, address)
			e := newEngine(t, Config{Loops: 2})
			ln, err := e.FileListener(f)
			if err != nil {
				t.Fatalf("FileListener: %v", err)
			}
			f.Close() // the listener has its own descriptor
			if err := ln.Serve(echo(), 0); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			addr := ln.Addr().String()
			if network == "tcp" {
				if a, ok := ln.Addr().(*net.TCPAddr); !ok || a.Port == 0 {
					t.Fatalf("Addr() = %v", ln.Addr())
				}
				// The engine holds the port as its own.
				if _, err := e.Bind("tcp", addr); !errors.Is(err, unix.EADDRINUSE) {
					t.Fatalf("Bind of the adopted port: %v, want EADDRINUSE", err)
				}
			} else if addr != address {
				t.Fatalf("Addr() = %q, want %q", addr, address)
			}
			for i := range 4 {
				echoOnce(t, dialClient(t, network, addr), fmt.Sprintf("adopted %d", i))
			}
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			if network == "unix" {
				// Adopted: the file is not this engine's to remove.
				if _, err := os.Stat(address); err != nil {
					t.Fatalf("socket file after Close: %v", err)
				}
			}
		})
	}
}

func TestFileListenerRefuses(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	// Bound, not listening.
	bound, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0) // no SOCK_CLOEXEC on darwin
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(bound)
	if err := unix.Bind(bound, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	notListening := os.NewFile(uintptr(bound), "bound")
	defer notListening.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	plain, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	a, b := netListenerFile(t, "tcp", "127.0.0.1:0"), netListenerFile(t, "tcp", "127.0.0.1:0")

	warmNet(t)
	before := testutil.OpenFDs(t)
	for _, tc := range []struct {
		name  string
		files []*os.File
		want  string
	}{
		{"none", nil, "no file"},
		{"bound only", []*os.File{notListening}, "not listening"},
		{"udp", []*os.File{udp}, "not a stream socket"},
		{"regular file", []*os.File{plain}, "not a socket"},
		{"two addresses", []*os.File{a, b}, "one listener has one address"},
	} {
		ln, err := e.FileListener(tc.files...)
		if err == nil {
			ln.Close()
			t.Errorf("%s: FileListener succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: FileListener: %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	if after := testutil.OpenFDs(t); after != before {
		t.Errorf("%d descriptors open before the refusals, %d after", before, after)
	}
}

// churn is clients that each connect, echo one message (checked), and
// close, over and over, until stopped.
type churn struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []error
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
}

func startChurn(network, addr string, clients int) *churn {
	ch := &churn{stop: make(chan struct{})}
	for i := range clients {
		ch.wg.Add(1)
		go func() {
			defer ch.wg.Done()
			for n := uint64(0); ; n++ {
				select {
				case <-ch.stop:
					return
				default:
				}
				if err := echoRound(network, addr, pattern(100+i, uint64(i)<<32|n)); err != nil {
					ch.failed.Add(1)
					ch.mu.Lock()
					if len(ch.errs) < 5 {
						ch.errs = append(ch.errs, err)
					}
					ch.mu.Unlock()
					continue
				}
				ch.ok.Add(1)
			}
		}()
	}
	return ch
}

// echoRound connects, sends msg, reads it back and closes.
func echoRound(network, addr string, msg []byte) error {
	nc, err := net.DialTimeout(network, addr, waitTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioDeadline))
	if _, err := nc.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil {
		return err
	}
	if d := diff(got, msg); d != "" {
		return errors.New(d)
	}
	return nil
}

// end stops the clients and returns what they saw; it may be called again.
func (ch *churn) end() (ok, failed int64, errs []error) {
	ch.stopOnce.Do(func() { close(ch.stop) })
	ch.wg.Wait()
	return ch.ok.Load(), ch.failed.Load(), ch.errs
}

// TestFileListenerHandOver: a listener passes from engine to engine (2
// loops, then 3, then 1: as many sockets as loops, fewer, more) while
// clients connect without pause. Each old engine closes its listener once
// the next serves, lets its connections end, and shuts down. Every
// connection is served: none refused (the sockets never close), none
// reset (nothing queued is dropped; on io_uring the old engine's accept is
// cancelled without ending the socket's listening state), every byte
// echoed. Over tcp and unix.
func TestFileListenerHandOver(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			address := "127.0.0.1:0"
			if network == "unix" {
				address = filepath.Join(t.TempDir(), "s.sock")
			}
			loops := []int{2, 3, 1}
			hs := make([]*counting, len(loops))
			engines := make([]*Engine, len(loops))
			for i, n := range loops {
				hs[i] = newCounting()
				engines[i] = newEngine(t, Config{Loops: n})
			}
			ln := listen(t, engines[0], network, address, hs[0])
			addr := ln.Addr().String()
			ch := startChurn(network, addr, 4)
			defer ch.end()
			const each = 100 // connections each engine serves before it hands over
			hs[0].await(t, "the first engine's connections", func() bool { return hs[0].opened.Load() >= each })
			for i := 1; i < len(engines); i++ {
				files, err := ln.Files()
				if err != nil {
					t.Fatalf("Files: %v", err)
				}
				next, err := engines[i].FileListener(files...)
				for _, f := range files {
					f.Close()
				}
				if err != nil {
					t.Fatalf("FileListener: %v", err)
				}
				if err := next.Serve(hs[i], 0); err != nil {
					t.Fatalf("Serve: %v", err)
				}
				// Both serve now; the old one's close must lose nothing
				// of what it holds. (Which of them the kernel wakes is
				// its business: on epoll both, on io_uring the accept
				// armed first, until it ends.)
				if err := ln.Close(); err != nil {
					t.Fatalf("Close of the old listener: %v", err)
				}
				old := hs[i-1]
				old.await(t, fmt.Sprintf("engine %d's connections to end", i-1), func() bool { return old.open.Load() == 0 })
				if err := engines[i-1].Close(); err != nil {
					t.Fatal(err)
				}
				if network == "unix" {
					if _, err := os.Stat(address); err != nil {
						t.Fatalf("socket file after the old listener closed: %v", err)
					}
				}
				hs[i].await(t, fmt.Sprintf("engine %d's connections", i), func() bool { return hs[i].opened.Load() >= each })
				ln = next
			}
			ok, failed, errs := ch.end()
			var served int64
			for i, h := range hs {
				served += h.opened.Load()
				t.Logf("engine %d (%d loops) served %d connections", i, loops[i], h.opened.Load())
			}
			t.Logf("%d clients' rounds ok, %d failed", ok, failed)
			if failed != 0 {
				t.Errorf("%d connections failed across the hand-overs; first: %v", failed, errs)
			}
			if served < ok {
				t.Errorf("the engines served %d connections, the clients completed %d", served, ok)
			}
		})
	}
}
