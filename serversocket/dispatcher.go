package serversocket

import (
	"reflect"
	"sync"
	"sync/atomic"
)

// EventHandler is the interface form of a listener. Unlike a func, a
// comparable handler (a pointer, typically) has an identity, so adding the
// same handler for the same type again is a no-op, as in AIR.
type EventHandler interface {
	// HandleEvent is called on the dispatching goroutine with the event; it
	// must not keep e after it returns (events are reused).
	HandleEvent(e Eventer)
}

// Listener is the handle of one registration, returned by AddEventListener
// and AddEventHandler and given back to RemoveEventListener. Its fields are
// fixed at registration; it is safe to share between goroutines.
type Listener struct {
	typ      string
	priority int
	fn       func(Eventer) // set by AddEventListener
	handler  EventHandler  // set by AddEventHandler
}

// call runs the listener with e.
func (l *Listener) call(e Eventer) {
	if l.fn != nil {
		l.fn(e)
		return
	}
	l.handler.HandleEvent(e)
}

// listenerTable holds each event type's listeners, highest priority first
// and in order of addition within a priority. It is a short slice rather
// than a map: a socket listens for a handful of types, a scan of them is
// faster than hashing, and it costs far less memory per socket. A
// published table and its slices are never modified: writers build a new
// one (copy-on-write), so a dispatch works on a consistent snapshot without
// taking a lock.
type listenerTable []listenerEntry

type listenerEntry struct {
	typ  string
	list []*Listener
}

// EventDispatcher is AIR's flash.events.EventDispatcher: it keeps listeners
// per event type and calls them when an event is dispatched. ServerSocket and
// Socket embed it; the zero value is ready to use and reports itself as the
// events' target.
//
// Goroutines: DispatchEvent runs on the goroutine that owns the dispatcher
// (a socket's loop goroutine), and listeners run there. Add, Remove, Has and
// WillTrigger may be called from any goroutine, also from listeners during a
// dispatch. A dispatch uses the listeners registered when it starts: one
// added during it does not run in it, one removed during it still runs in it
// and in no later dispatch.
//
// An EventDispatcher must not be copied after first use.
type EventDispatcher struct {
	mu     sync.Mutex                    // serialises writers of table
	table  atomic.Pointer[listenerTable] // nil until the first listener
	target any                           // what events report as Target; nil means d
}

// NewEventDispatcher returns a dispatcher whose events report target as
// their Target, as AIR's EventDispatcher(target) constructor does; nil means
// the dispatcher itself. Callable on any goroutine.
func NewEventDispatcher(target any) *EventDispatcher {
	return &EventDispatcher{target: target}
}

// AddEventListener registers fn for events of type typ and returns the
// handle that removes it. Higher priorities run first; equal priorities run
// in the order they were added. Go funcs have no identity, so every call is
// a new registration: adding the same func twice makes it run twice (use
// AddEventHandler for AIR's add-once behaviour). A nil fn panics. Callable on
// any goroutine.
func (d *EventDispatcher) AddEventListener(typ string, fn func(Eventer), priority int) *Listener {
	if fn == nil {
		panic("serversocket: AddEventListener with a nil listener")
	}
	l := &Listener{typ: typ, priority: priority, fn: fn}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.insertLocked(l)
	return l
}

// AddEventHandler registers h for events of type typ, like AddEventListener.
// If h is comparable and already registered for typ, nothing changes (the
// first registration keeps its priority) and the existing handle is
// returned, as AIR ignores a repeated addEventListener. A handler whose
// dynamic type is not comparable is a new registration each time. A nil h
// panics. Callable on any goroutine.
func (d *EventDispatcher) AddEventHandler(typ string, h EventHandler, priority int) *Listener {
	if h == nil {
		panic("serversocket: AddEventHandler with a nil handler")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if l := d.findLocked(typ, h); l != nil {
		return l
	}
	l := &Listener{typ: typ, priority: priority, handler: h}
	d.insertLocked(l)
	return l
}

// RemoveEventListener removes the registration l. A nil l, or one already
// removed or from another dispatcher, is ignored. A dispatch already running
// still calls l; later ones do not. Callable on any goroutine.
func (d *EventDispatcher) RemoveEventListener(l *Listener) {
	if l == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeLocked(l)
}

// RemoveEventHandler removes the registration of the comparable handler h
// for typ, AIR's removeEventListener(type, listener). It does nothing if h is
// not registered for typ or not comparable (remove such a handler by its
// handle). Callable on any goroutine.
func (d *EventDispatcher) RemoveEventHandler(typ string, h EventHandler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l := d.findLocked(typ, h); l != nil {
		d.removeLocked(l)
	}
}

// HasEventListener reports whether any listener is registered for typ.
// Callable on any goroutine.
func (d *EventDispatcher) HasEventListener(typ string) bool {
	return len(d.listeners(typ)) > 0
}

// WillTrigger reports whether dispatching an event of type typ would call a
// listener. Sockets are not in a display list, so it equals
// HasEventListener. Callable on any goroutine.
func (d *EventDispatcher) WillTrigger(typ string) bool {
	return d.HasEventListener(typ)
}

// DispatchEvent sends e to the listeners registered for e.Type() and reports
// whether its default action may go ahead: false only if e is cancelable and
// a listener called PreventDefault. It sets e's Target and CurrentTarget and
// clears its stop and default-prevented flags first, so one event value can
// be dispatched again and again; dispatching e from inside one of its own
// listeners resets that state for the outer dispatch too. An IOErrorType or
// SecurityErrorType event with no listener goes to the uncaught-error
// handler (SetUncaughtErrorHandler) instead of vanishing.
//
// A panicking listener is not recovered: the panic goes to the caller, and
// the remaining listeners do not run. (For a socket the caller is its loop,
// which recovers, logs the panic and closes just that socket.) DispatchEvent allocates
// nothing. Call it on the goroutine that owns d.
func (d *EventDispatcher) DispatchEvent(e Eventer) bool {
	ev := e.base()
	target := d.target
	if target == nil {
		target = d
	}
	ev.target, ev.currentTarget = target, target
	ev.stopped, ev.stoppedImmediate, ev.defaultPrevented = false, false, false

	list := d.listeners(ev.typ)
	if len(list) == 0 && (ev.typ == IOErrorType || ev.typ == SecurityErrorType) {
		reportUncaught(target, e)
	}
	for _, l := range list {
		l.call(e)
		if ev.stoppedImmediate {
			break
		}
	}
	return !ev.defaultPrevented
}

// listeners returns the current snapshot for typ. Callers must not modify it.
func (d *EventDispatcher) listeners(typ string) []*Listener {
	t := d.table.Load()
	if t == nil {
		return nil
	}
	for i := range *t {
		if (*t)[i].typ == typ {
			return (*t)[i].list
		}
	}
	return nil
}

// findLocked returns the registration of the comparable handler h for typ,
// or nil. d.mu must be held.
func (d *EventDispatcher) findLocked(typ string, h EventHandler) *Listener {
	// Interface == panics on non-comparable dynamic types; like errors.Is,
	// check comparability first and treat such handlers as having no identity.
	if h == nil || !reflect.TypeOf(h).Comparable() {
		return nil
	}
	for _, l := range d.listeners(typ) {
		if l.handler == h {
			return l
		}
	}
	return nil
}

// insertLocked publishes a table with l added after every listener of the
// same type whose priority is at least l's. d.mu must be held.
func (d *EventDispatcher) insertLocked(l *Listener) {
	old := d.listeners(l.typ)
	i := 0
	for i < len(old) && old[i].priority >= l.priority {
		i++
	}
	list := make([]*Listener, 0, len(old)+1)
	list = append(list, old[:i]...)
	list = append(list, l)
	list = append(list, old[i:]...)
	d.publishLocked(l.typ, list)
}

// removeLocked publishes a table without l, if l is registered. d.mu must
// be held.
func (d *EventDispatcher) removeLocked(l *Listener) {
	old := d.listeners(l.typ)
	for i, x := range old {
		if x == l {
			list := make([]*Listener, 0, len(old)-1)
			list = append(list, old[:i]...)
			list = append(list, old[i+1:]...)
			d.publishLocked(l.typ, list)
			return
		}
	}
}

// publishLocked stores a new table in which typ maps to list (or is absent
// if list is empty) and every other type keeps its slice. d.mu must be held.
func (d *EventDispatcher) publishLocked(typ string, list []*Listener) {
	var old listenerTable
	if t := d.table.Load(); t != nil {
		old = *t
	}
	next := make(listenerTable, 0, len(old)+1)
	for _, e := range old {
		if e.typ != typ {
			next = append(next, e)
		}
	}
	if len(list) > 0 {
		next = append(next, listenerEntry{typ, list})
	}
	d.table.Store(&next)
}
