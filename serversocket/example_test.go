package serversocket_test

import (
	"fmt"

	"github.com/airsock/airsock/serversocket"
)

// Listeners run by priority, then in the order they were added; the handle
// AddEventListener returns removes one.
func ExampleEventDispatcher() {
	var d serversocket.EventDispatcher
	d.AddEventListener(serversocket.Close, func(e serversocket.Eventer) {
		fmt.Println("then:", e)
	}, 0)
	d.AddEventListener(serversocket.Close, func(e serversocket.Eventer) {
		fmt.Println("first:", e.Type())
	}, 10)
	extra := d.AddEventListener(serversocket.Close, func(serversocket.Eventer) {
		fmt.Println("removed before dispatch")
	}, 0)
	d.RemoveEventListener(extra)

	d.DispatchEvent(serversocket.NewEvent(serversocket.Close, false, false))
	// Output:
	// first: close
	// then: [Event type="close" bubbles=false cancelable=false]
}

// An ioError with no listener is reported to the uncaught-error handler
// instead of vanishing.
func ExampleSetUncaughtErrorHandler() {
	serversocket.SetUncaughtErrorHandler(func(target any, e serversocket.Eventer) {
		fmt.Println("uncaught:", e)
	})
	defer serversocket.SetUncaughtErrorHandler(nil) // back to the default logger

	var d serversocket.EventDispatcher
	d.DispatchEvent(serversocket.NewIOErrorEvent(serversocket.IOErrorType, false, false,
		"Error #2031: Socket Error.", serversocket.IDSocketError))
	// Output:
	// uncaught: [IOErrorEvent type="ioError" bubbles=false cancelable=false text="Error #2031: Socket Error." errorID=2031]
}
