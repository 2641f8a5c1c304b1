package serversocket_test

// EventDispatcher rules on a live socket: priority order, the snapshot a
// dispatch works on, StopImmediatePropagation, and the uncaught-error hook.

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// Three SocketData dispatches, one per byte the client sends. Each
// dispatch's first listener writes an acknowledgement, which leaves only
// when the dispatch turn ends: once the client has it, the dispatch is over.
//
//	1st: ack(1000) B(10) A(0) C(0) D(-5); B adds E(100), A removes D
//	2nd: ack E B A C         (E added last time runs now; D is gone)
//	3rd: ack E               (E stops immediate propagation)
func TestSocketDispatchOrderAndSnapshot(t *testing.T) {
	e := newEngine(t, loop.Config{})
	var mu sync.Mutex
	var calls []string
	var problems []string
	record := func(name string) {
		mu.Lock()
		calls = append(calls, name)
		mu.Unlock()
	}
	s, c := acceptOne(t, e, func(s *serversocket.Socket) {
		dispatches := 0
		var d *serversocket.Listener
		eCalls := 0
		s.AddEventListener(serversocket.SocketData, func(ev serversocket.Eventer) {
			dispatches++
			record("ack")
			pe := ev.(*serversocket.ProgressEvent)
			if pe.Target() != s || pe.CurrentTarget() != s || pe.BytesLoaded != 1 {
				mu.Lock()
				problems = append(problems, pe.String())
				mu.Unlock()
			}
			s.Discard(-1)
			s.WriteByte(byte('0' + dispatches))
		}, 1000)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			record("B")
			if dispatches == 1 {
				s.AddEventListener(serversocket.SocketData, func(ev serversocket.Eventer) {
					eCalls++
					record("E")
					if eCalls == 2 {
						ev.StopImmediatePropagation()
					}
				}, 100)
			}
		}, 10)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			record("A")
			if dispatches == 1 {
				s.RemoveEventListener(d)
			}
		}, 0)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) { record("C") }, 0)
		d = s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) { record("D") }, -5)
	})
	want := [][]string{
		{"ack", "B", "A", "C", "D"},
		{"ack", "E", "B", "A", "C"},
		{"ack", "E"},
	}
	for i, w := range want {
		mu.Lock()
		calls = nil
		mu.Unlock()
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if ack := readN(t, c, 1); ack[0] != byte('1'+i) {
			t.Fatalf("dispatch %d acknowledged as %q", i+1, ack)
		}
		mu.Lock()
		got := slices.Clone(calls)
		mu.Unlock()
		if !slices.Equal(got, w) {
			t.Errorf("dispatch %d ran %v, want %v", i+1, got, w)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("SocketData events with the wrong target or BytesLoaded: %v", problems)
	}
	if !s.HasEventListener(serversocket.SocketData) || !s.WillTrigger(serversocket.SocketData) || s.HasEventListener(serversocket.OutputProgress) {
		t.Error("HasEventListener/WillTrigger disagree with the registrations")
	}
}

// countingHandler is a comparable EventHandler: AIR ignores adding it twice.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countingHandler) HandleEvent(serversocket.Eventer) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
}

func TestSocketHandlerAddedTwiceRunsOnce(t *testing.T) {
	e := newEngine(t, loop.Config{})
	h := &countingHandler{}
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventHandler(serversocket.SocketData, h, 0)
		s.AddEventHandler(serversocket.SocketData, h, 5)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.ReadBytes(nil, 0, 0)
			s.WriteBytes(b, 0, 0)
		}, -1)
	})
	echo(t, c, "once")
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != 1 {
		t.Errorf("handler added twice ran %d times for one dispatch, want 1", h.n)
	}
}

// A failed Connect with no IOErrorType listener reaches the uncaught-error
// hook: AIR's error #2044 is never silent.
func TestSocketUncaughtConnectError(t *testing.T) {
	type uncaught struct {
		target  any
		typ     string
		errorID int
		text    string
	}
	got := make(chan uncaught, 1)
	serversocket.SetUncaughtErrorHandler(func(target any, ev serversocket.Eventer) {
		u := uncaught{target: target, typ: ev.Type()}
		if ie, ok := ev.(*serversocket.IOErrorEvent); ok {
			u.errorID, u.text = ie.ErrorID, ie.Text
		}
		select {
		case got <- u:
		default:
		}
	})
	// Registered before the engine, so it runs after the engine has stopped.
	t.Cleanup(func() { serversocket.SetUncaughtErrorHandler(nil) })
	e := newEngine(t, loop.Config{})
	s := serversocket.NewSocketOn(e)
	port := testutil.FreePort(t)
	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	u := testutil.Recv(t, got, "the uncaught ioError")
	if u.target != s || u.typ != serversocket.IOErrorType || u.errorID != serversocket.IDSocketError ||
		!strings.Contains(u.text, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))) {
		t.Errorf("uncaught event: target is socket %v, type %q, errorID %d, text %q", u.target == s, u.typ, u.errorID, u.text)
	}
}
