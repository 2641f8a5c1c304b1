package serversocket_test

import (
	"io"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// TestMetricsCountSocketsAndEvents: three clients that each send a
// message, get it back and close move the counters by what they did: three
// sockets opened and closed; three connect events (the server's), data
// events, and three close events; an application's own event type counts
// as "other".
func TestMetricsCountSocketsAndEvents(t *testing.T) {
	var before serversocket.Metrics
	serversocket.ReadMetrics(&before)
	e := newEngine(t, loop.Config{})
	closed := make(chan struct{}, 3)
	srv := startServer(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.Peek(s.BytesAvailable())
			s.WriteBytes(b, 0, len(b))
			s.Discard(len(b))
			s.Flush()
		}, 0)
		s.AddEventListener(serversocket.Close, func(serversocket.Eventer) { closed <- struct{}{} }, 0)
	})
	for range 3 {
		c := dial(t, hostPort(srv))
		c.Write([]byte("ping"))
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for range 3 {
		testutil.Recv(t, closed, "a close event")
	}
	srv.DispatchEvent(serversocket.NewEvent("myOwn", false, false))
	var after serversocket.Metrics
	serversocket.ReadMetrics(&after)
	delta := func(typ string) uint64 {
		for i, name := range serversocket.EventTypes {
			if name == typ {
				return after.Events[i] - before.Events[i]
			}
		}
		t.Fatalf("no counter for %q", typ)
		return 0
	}
	if d := after.SocketsOpened - before.SocketsOpened; d != 3 {
		t.Errorf("%d sockets opened, want 3", d)
	}
	if d := after.SocketsClosed - before.SocketsClosed; d != 3 {
		t.Errorf("%d sockets closed, want 3", d)
	}
	if delta(serversocket.Connect) != 3 || delta(serversocket.SocketData) < 3 || delta(serversocket.Close) != 3 || delta("other") != 1 {
		t.Errorf("events: %v -> %v", before.Events, after.Events)
	}
}
