package serversocket

import (
	"reflect"
	"unsafe"

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
	h EventHandler // a func from AddEventListener is a listenerFunc
}

// listenerFunc is a func from AddEventListener as an EventHandler. A func is
// pointer-shaped, so the conversion allocates nothing, and a listenerFunc is
// never found by handler identity: funcs are not comparable.
type listenerFunc func(Eventer)

func (f listenerFunc) HandleEvent(e Eventer) { f(e) }

// listenerTable holds every registration of a dispatcher in one flat slice,
// highest priority first and in order of addition within a priority, so
// each type's listeners come in AIR's order when the others are skipped. A
// dispatcher has a handful of registrations: one short slice costs far less
// memory per socket than a slice per type, and scanning it is faster than
// hashing. A published table is never modified: writers build a new one and
// swap it in (copy-on-write), so a dispatch works on a consistent snapshot
// without taking a lock.
type listenerTable []listenerSlot

type listenerSlot struct {
	typ      string
	priority int
	l        *Listener
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
	table  atomic.Pointer[listenerTable] // nil until the first listener; writers swap it by CAS
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
	l := &Listener{h: listenerFunc(fn)}
	d.update(func(t listenerTable) listenerTable { return t.with(typ, priority, l) })
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
	var l *Listener
	d.update(func(t listenerTable) listenerTable {
		if l = t.find(typ, h); l != nil {
			return nil
		}
		l = &Listener{h: h}
		return t.with(typ, priority, l)
	})
	return l
}

// RemoveEventListener removes the registration l. A nil l, or one already
// removed or from another dispatcher, is ignored. A dispatch already running
// still calls l; later ones do not. Callable on any goroutine.
func (d *EventDispatcher) RemoveEventListener(l *Listener) {
	if l == nil {
		return
	}
	d.update(func(t listenerTable) listenerTable { return t.without(l) })
}

// RemoveEventHandler removes the registration of the comparable handler h
// for typ, AIR's removeEventListener(type, listener). It does nothing if h is
// not registered for typ or not comparable (remove such a handler by its
// handle). Callable on any goroutine.
func (d *EventDispatcher) RemoveEventHandler(typ string, h EventHandler) {
	d.update(func(t listenerTable) listenerTable { return t.without(t.find(typ, h)) })
}

// HasEventListener reports whether any listener is registered for typ.
// Callable on any goroutine.
func (d *EventDispatcher) HasEventListener(typ string) bool {
	if t := d.table.Load(); t != nil {
		for i := range *t {
			if sameType((*t)[i].typ, typ) {
				return true
			}
		}
	}
	return false
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
	countEvent(d, ev.typ)
	target := d.target
	if target == nil {
		target = d
	}
	ev.target, ev.currentTarget = target, target
	ev.stopped, ev.stoppedImmediate, ev.defaultPrevented = false, false, false

	var t listenerTable
	if p := d.table.Load(); p != nil {
		t = *p
	}
	heard := false
	for i := range t {
		if !sameType(t[i].typ, ev.typ) {
			continue
		}
		heard = true
		if f, ok := t[i].l.h.(listenerFunc); ok {
			f(e) // a func listener without the method call around it
		} else {
			t[i].l.h.HandleEvent(e)
		}
		if ev.stoppedImmediate {
			break
		}
	}
	if !heard && (ev.typ == IOErrorType || ev.typ == SecurityErrorType) {
		reportUncaught(target, e)
	}
	return !ev.defaultPrevented
}

// sameType reports whether two event types are equal, comparing the
// strings' bytes only when they are not the same constant: a dispatch
// compares its type with every registration's, and types are nearly always
// the package's constants.
func sameType(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// update publishes change(current table) unless change returns nil (no
// change). Writers never block one another: one that lost the race to
// another writer builds its table again from the winner's.
func (d *EventDispatcher) update(change func(listenerTable) listenerTable) {
	for {
		old := d.table.Load()
		var t listenerTable
		if old != nil {
			t = *old
		}
		next := change(t)
		if next == nil || d.table.CompareAndSwap(old, &next) {
			return
		}
	}
}

// find returns the registration of the comparable handler h for typ, or nil.
func (t listenerTable) find(typ string, h EventHandler) *Listener {
	// Interface == panics on non-comparable dynamic types; like errors.Is,
	// check comparability first and treat such handlers as having no identity.
	if h == nil || !reflect.TypeOf(h).Comparable() {
		return nil
	}
	for _, s := range t {
		if sameType(s.typ, typ) && s.l.h == h {
			return s.l
		}
	}
	return nil
}

// with returns a new table with l added after every registration whose
// priority is at least priority.
func (t listenerTable) with(typ string, priority int, l *Listener) listenerTable {
	i := 0
	for i < len(t) && t[i].priority >= priority {
		i++
	}
	next := make(listenerTable, 0, len(t)+1)
	next = append(next, t[:i]...)
	next = append(next, listenerSlot{typ, priority, l})
	return append(next, t[i:]...)
}

// without returns a new table without l, or nil if l is not in t.
func (t listenerTable) without(l *Listener) listenerTable {
	for i, s := range t {
		if l != nil && s.l == l {
			next := make(listenerTable, 0, len(t)-1)
			next = append(next, t[:i]...)
			return append(next, t[i+1:]...)
		}
	}
	return nil
}
