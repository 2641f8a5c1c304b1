package serversocket

import (
	"errors"
	"net"

	"github.com/airsock/airsock/loop"
)

// A ServerSocket over a listener made elsewhere: an airsock extension for
// a server that inherits its listening sockets from another process
// (loop.Engine.FileListener) and hands them on (loop.Listener.Files), as
// a zero-downtime restart does. AIR has no such thing.

// BindListener binds the socket to ln, a TCP listener of the socket's
// engine that is not serving yet (what loop.Engine.FileListener returns),
// instead of binding an address: Listen then serves it and LocalAddress
// and LocalPort report its address. Errors: IOError #2002 if the socket is
// already bound or closed, ArgumentError if ln is nil or not TCP.
// Callable on any goroutine.
func (s *ServerSocket) BindListener(ln *loop.Listener) error {
	if ln == nil {
		return errInvalidParameter(errors.New("no listener"))
	}
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return errInvalidParameter(errors.New("a ServerSocket serves TCP, not " + ln.Addr().Network()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.bound {
		return errInvalidSocket(errors.New("socket already bound or closed"))
	}
	s.ln, s.bound, s.addr = ln, true, a.AddrPort()
	return nil
}

// Listener returns the loop listener the socket is bound to (nil before
// Bind or BindListener), for its Files. Callable on any goroutine.
func (s *ServerSocket) Listener() *loop.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln
}
