package serversocket

import (
	"fmt"
	"log/slog"
	"sync/atomic"
)

// uncaughtHandler holds the hook installed by SetUncaughtErrorHandler; nil
// means the default, logUncaught. Atomic because loops read it while an
// application may replace it.
var uncaughtHandler atomic.Pointer[func(target any, e Eventer)]

// SetUncaughtErrorHandler installs h as the fallback for error events
// (IOErrorType, SecurityErrorType) dispatched with no listener, AIR's
// uncaught error #2044. nil restores the default, which logs the error with
// slog.Default at level Error, so such an event is never silently lost. h
// runs on the dispatching loop goroutine with the dispatching object and the
// event; it must not keep e after it returns. The handler is process-wide.
// Callable on any goroutine.
func SetUncaughtErrorHandler(h func(target any, e Eventer)) {
	var p *func(target any, e Eventer)
	if h != nil {
		p = &h
	}
	uncaughtHandler.Store(p)
}

// reportUncaught hands an unheard error event to the installed handler or
// the default.
func reportUncaught(target any, e Eventer) {
	if h := uncaughtHandler.Load(); h != nil {
		(*h)(target, e)
		return
	}
	logUncaught(target, e)
}

// logUncaught logs e as AIR reports it:
// "Error #2044: Unhandled ioError:. text=Error #2031: Socket Error."
func logUncaught(target any, e Eventer) {
	var text string
	switch ev := e.(type) {
	case *IOErrorEvent:
		text = ev.Text
	case *SecurityErrorEvent:
		text = ev.Text
	}
	msg := format(IDUnhandledError, "Unhandled "+e.Type()+":. text="+text, nil)
	slog.Default().Error(msg, "target", describe(target), "event", e.String())
}

// describe names target for a log line: its String method if it has one,
// else its type (a whole socket struct would be noise).
func describe(target any) string {
	if s, ok := target.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", target)
}
