package serversocket

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects the names of listeners in the order they ran.
type recorder struct{ calls []string }

func (r *recorder) fn(name string) func(Eventer) {
	return func(Eventer) { r.calls = append(r.calls, name) }
}

func (r *recorder) want(t *testing.T, want ...string) {
	t.Helper()
	if strings.Join(r.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("listeners ran %v, want %v", r.calls, want)
	}
	r.calls = r.calls[:0]
}

// handler is a comparable EventHandler.
type handler struct {
	name string
	r    *recorder
}

func (h *handler) HandleEvent(Eventer) { h.r.calls = append(h.r.calls, h.name) }

// handlerFunc is an EventHandler whose dynamic type is not comparable.
type handlerFunc func(Eventer)

func (f handlerFunc) HandleEvent(e Eventer) { f(e) }

func TestDispatchOrderByPriorityThenInsertion(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	d.AddEventListener("t", r.fn("a0"), 0)
	d.AddEventListener("t", r.fn("b5"), 5)
	d.AddEventListener("t", r.fn("c0"), 0)
	d.AddEventListener("t", r.fn("d-1"), -1)
	d.AddEventListener("t", r.fn("e5"), 5)
	d.AddEventHandler("t", &handler{"f10", r}, 10)
	d.AddEventListener("other", r.fn("never"), 100)
	if !d.DispatchEvent(NewEvent("t", false, false)) {
		t.Fatal("DispatchEvent returned false without PreventDefault")
	}
	r.want(t, "f10", "b5", "e5", "a0", "c0", "d-1")
}

func TestDuplicateFuncAddRunsTwice(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	fn := r.fn("x")
	l1 := d.AddEventListener("t", fn, 0)
	l2 := d.AddEventListener("t", fn, 0)
	if l1 == l2 {
		t.Fatal("two func registrations share a handle")
	}
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "x", "x")
	d.RemoveEventListener(l1)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "x")
}

func TestDuplicateHandlerAddIsNoOp(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	h := &handler{"h", r}
	l1 := d.AddEventHandler("t", h, 0)
	d.AddEventListener("t", r.fn("mid"), 5)
	l2 := d.AddEventHandler("t", h, 10) // ignored: the first priority stays
	if l1 != l2 {
		t.Fatal("re-adding a handler returned a new handle")
	}
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "mid", "h")

	// The same handler for another type is a separate registration.
	if d.AddEventHandler("u", h, 0) == l1 {
		t.Fatal("handle shared across types")
	}
	d.RemoveEventHandler("t", h)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "mid")
	d.DispatchEvent(NewEvent("u", false, false))
	r.want(t, "h")
}

func TestNonComparableHandlerHasNoIdentity(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	h := handlerFunc(r.fn("f"))
	l1 := d.AddEventHandler("t", h, 0)
	l2 := d.AddEventHandler("t", h, 0) // must not panic on ==
	if l1 == l2 {
		t.Fatal("non-comparable handler deduplicated")
	}
	d.RemoveEventHandler("t", h) // cannot be found by value: no-op
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "f", "f")
	d.RemoveEventListener(l1)
	d.RemoveEventListener(l2)
	if d.HasEventListener("t") {
		t.Fatal("handles did not remove the registrations")
	}
}

func TestRemoveIgnoresUnknownHandles(t *testing.T) {
	var d, other EventDispatcher
	r := &recorder{}
	l := d.AddEventListener("t", r.fn("x"), 0)
	foreign := other.AddEventListener("t", r.fn("y"), 0)
	d.RemoveEventListener(nil)
	d.RemoveEventListener(foreign)
	d.RemoveEventHandler("t", &handler{"z", r})
	d.RemoveEventHandler("t", nil)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "x")
	d.RemoveEventListener(l)
	d.RemoveEventListener(l)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t)
}

func TestHasEventListenerAndWillTrigger(t *testing.T) {
	var d EventDispatcher
	if d.HasEventListener("t") || d.WillTrigger("t") {
		t.Fatal("zero dispatcher reports listeners")
	}
	l := d.AddEventListener("t", func(Eventer) {}, 0)
	if !d.HasEventListener("t") || !d.WillTrigger("t") || d.HasEventListener("u") {
		t.Fatal("wrong after add")
	}
	d.RemoveEventListener(l)
	if d.HasEventListener("t") || d.WillTrigger("t") {
		t.Fatal("listener still reported after remove")
	}
	if t0 := d.table.Load(); t0 == nil || len(*t0) != 0 {
		t.Fatal("empty type left in the table")
	}
}

func TestNilListenerPanicsAtAdd(t *testing.T) {
	var d EventDispatcher
	for name, add := range map[string]func(){
		"func":    func() { d.AddEventListener("t", nil, 0) },
		"handler": func() { d.AddEventHandler("t", nil, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: nil listener accepted", name)
				}
			}()
			add()
		}()
	}
}

func TestListenerAddedDuringDispatchRunsNextTime(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	added := false
	d.AddEventListener("t", func(Eventer) {
		r.calls = append(r.calls, "adder")
		if !added {
			added = true
			d.AddEventListener("t", r.fn("late"), -1)
			d.AddEventListener("t", r.fn("late-high"), 100)
		}
	}, 0)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "adder")
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "late-high", "adder", "late")
}

func TestListenerRemovedDuringDispatchRunsOnceMore(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	var victim *Listener
	d.AddEventListener("t", func(Eventer) {
		r.calls = append(r.calls, "remover")
		d.RemoveEventListener(victim)
	}, 1)
	victim = d.AddEventListener("t", r.fn("victim"), 0)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "remover", "victim")
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "remover")
}

func TestListenerRemovingItself(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	var self *Listener
	self = d.AddEventListener("t", func(Eventer) {
		r.calls = append(r.calls, "once")
		d.RemoveEventListener(self)
	}, 0)
	d.AddEventListener("t", r.fn("after"), 0)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "once", "after")
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "after")
}

func TestStopImmediatePropagation(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	d.AddEventListener("t", r.fn("first"), 2)
	d.AddEventListener("t", func(e Eventer) {
		r.calls = append(r.calls, "stopper")
		e.StopImmediatePropagation()
	}, 1)
	d.AddEventListener("t", r.fn("skipped"), 0)
	if !d.DispatchEvent(NewEvent("t", false, true)) {
		t.Fatal("stopping propagation reported a prevented default")
	}
	r.want(t, "first", "stopper")
}

func TestStopPropagationKeepsCurrentTargetListeners(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	d.AddEventListener("t", func(e Eventer) {
		r.calls = append(r.calls, "stopper")
		e.StopPropagation()
	}, 1)
	d.AddEventListener("t", r.fn("still"), 0)
	d.DispatchEvent(NewEvent("t", false, false))
	r.want(t, "stopper", "still")
}

func TestDispatchReturnValue(t *testing.T) {
	var d EventDispatcher
	d.AddEventListener("t", func(e Eventer) { e.PreventDefault() }, 0)
	if d.DispatchEvent(NewEvent("t", false, true)) {
		t.Error("cancelable + PreventDefault returned true")
	}
	if !d.DispatchEvent(NewEvent("t", false, false)) {
		t.Error("non-cancelable + PreventDefault returned false")
	}
	if !d.DispatchEvent(NewEvent("nobody", false, true)) {
		t.Error("no listener returned false")
	}
}

func TestDispatchSetsTargets(t *testing.T) {
	var zero EventDispatcher
	var got []any
	zero.AddEventListener("t", func(e Eventer) { got = append(got, e.Target(), e.CurrentTarget()) }, 0)
	zero.DispatchEvent(NewEvent("t", false, false))
	if len(got) != 2 || got[0] != &zero || got[1] != &zero {
		t.Fatalf("zero dispatcher targets %v", got)
	}

	owner := &struct{ name string }{"owner"}
	d := NewEventDispatcher(owner)
	e := NewEvent("t", false, false)
	d.DispatchEvent(e)
	if e.Target() != owner || e.CurrentTarget() != owner {
		t.Fatalf("target %v, want the owner", e.Target())
	}

	// The socket layer points its embedded dispatcher at the Socket.
	s := &Socket{}
	s.EventDispatcher.target = s
	var seen *Socket
	s.AddEventListener(SocketData, func(e Eventer) { seen = e.Target().(*Socket) }, 0)
	s.DispatchEvent(NewProgressEvent(SocketData, false, false, 1, 0))
	if seen != s {
		t.Fatal("socket event target is not the socket")
	}
}

// TestEventReuse dispatches one value repeatedly, as sockets do: each
// dispatch starts with clear flags.
func TestEventReuse(t *testing.T) {
	var d EventDispatcher
	r := &recorder{}
	n := 0
	d.AddEventListener("t", func(e Eventer) {
		n++
		if n == 1 {
			e.PreventDefault()
			e.StopImmediatePropagation()
		}
	}, 1)
	d.AddEventListener("t", r.fn("second"), 0)
	e := NewEvent("t", false, true)
	if d.DispatchEvent(e) {
		t.Fatal("first dispatch: default not prevented")
	}
	r.want(t)
	if !d.DispatchEvent(e) {
		t.Fatal("second dispatch kept the prevented default")
	}
	r.want(t, "second")
}

func TestUncaughtErrorEventsReachHandler(t *testing.T) {
	type report struct {
		target any
		text   string
	}
	var got []report
	SetUncaughtErrorHandler(func(target any, e Eventer) {
		got = append(got, report{target, e.String()})
	})
	t.Cleanup(func() { SetUncaughtErrorHandler(nil) })

	owner := &struct{}{}
	d := NewEventDispatcher(owner)
	ioe := NewIOErrorEvent(IOErrorType, false, false, "Error #2031: Socket Error.", IDSocketError)
	sec := NewSecurityErrorEvent(SecurityErrorType, false, false, "denied", 2048)
	d.DispatchEvent(ioe)
	d.DispatchEvent(sec)
	d.DispatchEvent(NewEvent(Close, false, false)) // not an error event: no report
	if len(got) != 2 || got[0].target != owner || got[0].text != ioe.String() || got[1].text != sec.String() {
		t.Fatalf("reports %+v", got)
	}

	got = nil
	d.AddEventListener(IOErrorType, func(Eventer) {}, 0)
	d.DispatchEvent(ioe)
	if len(got) != 0 {
		t.Fatalf("handled ioError still reported: %+v", got)
	}
}

func TestUncaughtErrorDefaultLogs(t *testing.T) {
	SetUncaughtErrorHandler(nil)
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	var d EventDispatcher
	d.DispatchEvent(NewIOErrorEvent(IOErrorType, false, false, "Error #2031: Socket Error.", IDSocketError))
	out := buf.String()
	for _, want := range []string{"level=ERROR", `Error #2044: Unhandled ioError:. text=Error #2031: Socket Error.`,
		"target=*serversocket.EventDispatcher", "errorID=2031"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

var errListener = errors.New("listener failed")

func TestListenerPanicPropagatesFromDispatchEvent(t *testing.T) {
	var d EventDispatcher
	d.AddEventListener("t", func(Eventer) { panic(errListener) }, 0)
	defer func() {
		if v := recover(); v != errListener {
			t.Fatalf("recovered %v, want the listener's panic", v)
		}
	}()
	d.DispatchEvent(NewEvent("t", false, false))
	t.Fatal("DispatchEvent returned after a listener panic")
}

// TestConcurrentAddRemoveDuringDispatch runs writers on other goroutines
// while the owner dispatches; -race checks the copy-on-write discipline and
// every dispatch must see a consistent, ordered snapshot.
func TestConcurrentAddRemoveDuringDispatch(t *testing.T) {
	var d EventDispatcher
	var mu sync.Mutex
	counts := map[string]int{}
	d.AddEventListener("t", func(Eventer) { mu.Lock(); counts["fixed"]++; mu.Unlock() }, 0)

	const writers, rounds = 2, 200
	var wg sync.WaitGroup
	start := make(chan struct{}) // writers begin once dispatching has
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h := &handler{name: "h", r: &recorder{}}
			for i := range rounds {
				l := d.AddEventListener("t", func(Eventer) {}, w*10+i%3)
				d.AddEventHandler("t", h, i%5)
				d.RemoveEventListener(l)
				d.RemoveEventHandler("t", h)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	e := NewEvent("t", false, false)
	d.DispatchEvent(e)
	dispatches := 1
	close(start)
	deadline := time.After(10 * time.Second)
loop:
	for {
		select {
		case <-done:
			break loop
		case <-deadline:
			t.Fatal("writers did not finish")
		default:
		}
		snap := slotsOf(&d, "t")
		for i := 1; i < len(snap); i++ {
			if snap[i-1].priority < snap[i].priority {
				t.Fatalf("snapshot out of order at %d", i)
			}
		}
		d.DispatchEvent(e)
		dispatches++
	}
	mu.Lock()
	defer mu.Unlock()
	if counts["fixed"] != dispatches {
		t.Fatalf("fixed listener ran %d times in %d dispatches", counts["fixed"], dispatches)
	}
	if l := slotsOf(&d, "t"); len(l) != 1 {
		t.Fatalf("%d listeners left, want 1", len(l))
	}
}

func TestDispatchDoesNotAllocate(t *testing.T) {
	var d EventDispatcher
	n := 0
	d.AddEventListener(SocketData, func(e Eventer) { n += e.(*ProgressEvent).BytesLoaded }, 0)
	d.AddEventHandler(SocketData, &handler{name: "h", r: &recorder{calls: make([]string, 0, 1)}}, 1)
	e := NewProgressEvent(SocketData, false, false, 1, 0)
	h := slotsOf(&d, SocketData)[0].l.h.(*handler)
	allocs := testing.AllocsPerRun(100, func() {
		h.r.calls = h.r.calls[:0]
		d.DispatchEvent(e)
	})
	if allocs != 0 {
		t.Fatalf("dispatch allocates %.1f times", allocs)
	}
	if n == 0 {
		t.Fatal("listener never ran")
	}
}

func BenchmarkDispatchEvent(b *testing.B) {
	var d EventDispatcher
	n := 0
	for i := range 3 {
		d.AddEventListener(SocketData, func(e Eventer) { n += e.(*ProgressEvent).BytesLoaded }, i)
	}
	e := NewProgressEvent(SocketData, false, false, 1, 0)
	b.ReportAllocs()
	for b.Loop() {
		d.DispatchEvent(e)
	}
}

// slotsOf returns d's current registrations for typ, in dispatch order.
func slotsOf(d *EventDispatcher, typ string) []listenerSlot {
	var slots []listenerSlot
	if t := d.table.Load(); t != nil {
		for _, s := range *t {
			if s.typ == typ {
				slots = append(slots, s)
			}
		}
	}
	return slots
}
