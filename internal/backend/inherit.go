package backend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/airsock/airsock/loop"
)

// Listening sockets that outlive a process (Config.Inherit, ListenerFiles,
// StopAccepting): a server started with the sockets another process
// serves, and one that hands its own on and stops accepting without
// closing its connections. Only the backends on airsock's loop can
// (loop.Engine.FileListener and loop.Listener.Files); the peers refuse.

// InheritNames lists the backends that can serve inherited sockets and
// hand their own on. Safe from any goroutine.
func InheritNames() []string {
	return []string{"loop", "loop-uring", "serversocket", "serversocket-uring"}
}

// ErrNoHandOver is what ListenerFiles and StopAccepting return for a
// backend that cannot hand its sockets on or stop accepting alone.
var ErrNoHandOver = errors.New("this server cannot hand its listening sockets over (only TCP on loop, loop-uring, serversocket and serversocket-uring can)")

// NoInheritError is returned by Start for Config.Inherit on a backend that
// cannot adopt sockets.
type NoInheritError struct{ Name string }

func (e *NoInheritError) Error() string {
	return fmt.Sprintf("backend %s cannot serve inherited listening sockets (want one of %q)", e.Name, InheritNames())
}

// checkInherit refuses Config.Inherit where it cannot be served.
func checkInherit(name string, cfg Config) error {
	switch {
	case len(cfg.Inherit) == 0:
		return nil
	case !slices.Contains(InheritNames(), name):
		return &NoInheritError{Name: name}
	case cfg.UDP:
		return errors.New("inherited listening sockets are TCP or unix streams, not UDP")
	}
	return nil
}

// listenInherited adopts cfg.Inherit on e and serves it with h, over TLS if
// cfg.TLS is set.
func listenInherited(e *loop.Engine, files []*os.File, cfg *tls.Config, h loop.Handler) (*loop.Listener, error) {
	ln, err := e.FileListener(files...)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		err = ln.ServeTLS(h, 0, cfg)
	} else {
		err = ln.Serve(h, 0)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// handsOver is a server whose listener can be handed on: the backends of
// InheritNames.
type handsOver interface {
	listener() *loop.Listener
	stopAccepting() error
}

// ListenerFiles returns duplicates of s's listening sockets, for a
// successor process (loop.Listener.Files): the caller closes them once
// passed. ErrNoHandOver for the peers. Safe from any goroutine.
func ListenerFiles(s Server) ([]*os.File, error) {
	if h, ok := s.(handsOver); ok {
		return h.listener().Files()
	}
	return nil, ErrNoHandOver
}

// StopAccepting closes s's listener, taking what the kernel had queued for
// it first (loop.Listener.Close), while its connections live on until
// Shutdown; the port is the successor's (or free) when it returns.
// ErrNoHandOver for the peers. Safe from any goroutine.
func StopAccepting(s Server) error {
	if h, ok := s.(handsOver); ok {
		return h.stopAccepting()
	}
	return ErrNoHandOver
}
