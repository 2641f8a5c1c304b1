package backend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// TestHandOver: on every backend that can, a second server starts on the
// first one's listening sockets (Config.Inherit from ListenerFiles); once
// the first stops accepting, a connection it had goes on being served and
// a new one reaches the second.
func TestHandOver(t *testing.T) {
	for _, b := range InheritNames() {
		t.Run(b, func(t *testing.T) {
			first := start(t, b, "echo")
			kept := dial(t, first)
			testutil.EchoRoundTrips(t, kept, 1)
			files, err := ListenerFiles(first)
			if err != nil {
				t.Fatalf("ListenerFiles: %v", err)
			}
			srv, _ := proto.NewServer("echo", proto.Config{})
			second := startConfig(t, b, Config{Addr: "ignored:0", Loops: 1, Proto: srv, Inherit: files})
			for _, f := range files {
				f.Close()
			}
			if second.Addr().String() != first.Addr().String() {
				t.Fatalf("second server on %v, want the first's %v", second.Addr(), first.Addr())
			}
			if err := StopAccepting(first); err != nil {
				t.Fatalf("StopAccepting: %v", err)
			}
			testutil.EchoRoundTrips(t, kept, 1) // still served by the first
			testutil.EchoRoundTrips(t, dial(t, first), 1)
			if st := second.Stats(); st.Accepted != 1 {
				t.Fatalf("second server accepted %d connections, want the new one", st.Accepted)
			}
			if st := first.Stats(); st.Accepted != 1 || st.Open != 1 {
				t.Fatalf("first server: %+v, want the one connection it had, open", st)
			}
		})
	}
}

// TestHandOverRefused: the peers neither adopt sockets nor hand theirs on.
func TestHandOverRefused(t *testing.T) {
	s := start(t, "net", "echo")
	if _, err := ListenerFiles(s); !errors.Is(err, ErrNoHandOver) {
		t.Errorf("ListenerFiles(net): %v, want ErrNoHandOver", err)
	}
	if err := StopAccepting(s); !errors.Is(err, ErrNoHandOver) {
		t.Errorf("StopAccepting(net): %v, want ErrNoHandOver", err)
	}
	srv, _ := proto.NewServer("echo", proto.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	files, err := ListenerFiles(start(t, "loop", "echo"))
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].Close()
	var nie *NoInheritError
	for _, b := range []string{"net", "gnet"} {
		if _, err := Start(ctx, b, Config{Addr: "127.0.0.1:0", Proto: srv, Inherit: files}); !errors.As(err, &nie) {
			t.Errorf("Start(%s, Inherit): %v, want a NoInheritError", b, err)
		}
	}
}
