package serversocket

import (
	"testing"
)

func TestEventTypeConstants(t *testing.T) {
	got := []string{Connect, Close, SocketData, OutputProgress, IOErrorType, SecurityErrorType}
	want := []string{"connect", "close", "socketData", "outputProgress", "ioError", "securityError"}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("constant %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestEventStrings(t *testing.T) {
	cases := []struct {
		e    Eventer
		want string
	}{
		{NewEvent(Close, false, false), `[Event type="close" bubbles=false cancelable=false]`},
		{NewEvent("custom", true, true), `[Event type="custom" bubbles=true cancelable=true]`},
		{NewProgressEvent(SocketData, false, false, 5, 0),
			`[ProgressEvent type="socketData" bubbles=false cancelable=false bytesLoaded=5 bytesTotal=0]`},
		{NewOutputProgressEvent(OutputProgress, false, false, 0, 10),
			`[OutputProgressEvent type="outputProgress" bubbles=false cancelable=false bytesPending=0 bytesTotal=10]`},
		{NewIOErrorEvent(IOErrorType, false, false, "Error #2031: Socket Error.", IDSocketError),
			`[IOErrorEvent type="ioError" bubbles=false cancelable=false text="Error #2031: Socket Error." errorID=2031]`},
		{NewSecurityErrorEvent(SecurityErrorType, false, false, "denied", 2048),
			`[SecurityErrorEvent type="securityError" bubbles=false cancelable=false text="denied" errorID=2048]`},
		{NewServerSocketConnectEvent(Connect, false, false, &Socket{}),
			`[ServerSocketConnectEvent type="connect" bubbles=false cancelable=false socket=[object Socket]]`},
		{NewServerSocketConnectEvent(Connect, false, false, nil),
			`[ServerSocketConnectEvent type="connect" bubbles=false cancelable=false socket=null]`},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.want {
			t.Errorf("String() = %s\nwant       %s", got, c.want)
		}
	}
}

func TestEventAccessors(t *testing.T) {
	e := NewEvent("x", true, false)
	if e.Type() != "x" || !e.Bubbles() || e.Cancelable() || e.Target() != nil || e.CurrentTarget() != nil {
		t.Fatalf("fresh event: %+v", e)
	}
}

func TestPreventDefaultOnlyWhenCancelable(t *testing.T) {
	e := NewEvent("x", false, false)
	e.PreventDefault()
	if e.IsDefaultPrevented() {
		t.Error("PreventDefault took effect on a non-cancelable event")
	}
	c := NewEvent("x", false, true)
	c.PreventDefault()
	if !c.IsDefaultPrevented() {
		t.Error("PreventDefault had no effect on a cancelable event")
	}
}

func TestInitResetsDispatchState(t *testing.T) {
	var d EventDispatcher
	d.AddEventListener("a", func(e Eventer) { e.PreventDefault(); e.StopImmediatePropagation() }, 0)
	e := NewEvent("a", false, true)
	d.DispatchEvent(e)
	e.Init("b", true, false)
	if e.Type() != "b" || !e.Bubbles() || e.Cancelable() || e.Target() != nil || e.IsDefaultPrevented() ||
		e.stopped || e.stoppedImmediate {
		t.Fatalf("Init left state behind: %+v", e)
	}
}

// TestClone checks that each event type clones its own fields, to a new
// value of the same type without the dispatch state.
func TestClone(t *testing.T) {
	sock := &Socket{}
	events := []Eventer{
		NewEvent("e", true, true),
		NewProgressEvent(SocketData, false, true, 7, 9),
		NewOutputProgressEvent(OutputProgress, false, true, 3, 11),
		NewIOErrorEvent(IOErrorType, false, true, "io text", 2031),
		NewSecurityErrorEvent(SecurityErrorType, false, true, "sec text", 2048),
		NewServerSocketConnectEvent(Connect, false, true, sock),
	}
	var d EventDispatcher
	for _, e := range events {
		d.AddEventListener(e.Type(), func(e Eventer) { e.PreventDefault() }, 0)
	}
	for _, e := range events {
		d.DispatchEvent(e)
		if !e.IsDefaultPrevented() || e.Target() == nil {
			t.Fatalf("%s: dispatch did not set state", e)
		}
		c := e.Clone()
		if c == e {
			t.Errorf("%s: Clone returned the same value", e)
		}
		if c.String() != e.String() {
			t.Errorf("clone %s differs from %s", c, e)
		}
		if c.Target() != nil || c.CurrentTarget() != nil || c.IsDefaultPrevented() {
			t.Errorf("%s: clone kept dispatch state", e)
		}
		if c.Bubbles() != e.Bubbles() || c.Cancelable() != e.Cancelable() {
			t.Errorf("%s: clone changed flags", e)
		}
	}
	if c := events[5].Clone().(*ServerSocketConnectEvent); c.Socket != sock {
		t.Error("connect event clone lost its socket")
	}
	if _, ok := events[1].Clone().(*ProgressEvent); !ok {
		t.Error("ProgressEvent clone has the wrong type")
	}
}

// appEvent is an application-defined event type: embedding Event is all it
// takes to be dispatchable.
type appEvent struct {
	Event
	Payload string
}

func TestCustomEventType(t *testing.T) {
	var d EventDispatcher
	var got string
	d.AddEventListener("app", func(e Eventer) { got = e.(*appEvent).Payload }, 0)
	e := &appEvent{Payload: "hello"}
	e.Init("app", false, false)
	d.DispatchEvent(e)
	if got != "hello" {
		t.Fatalf("listener saw payload %q", got)
	}
	if e.String() != `[Event type="app" bubbles=false cancelable=false]` {
		t.Errorf("promoted String = %s", e.String())
	}
}
