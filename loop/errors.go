package loop

import "errors"

var (
	// ErrClosed is returned by operations on a closed connection, listener or engine.
	ErrClosed = errors.New("loop: closed")
	// ErrShutdown is the close reason of connections ended by Engine.Shutdown.
	ErrShutdown = errors.New("loop: engine shut down")
	// ErrQueueFull is returned by AsyncWrite when the loop's cross-goroutine
	// queue holds its limit of bytes; the write was not queued.
	ErrQueueFull = errors.New("loop: async write queue full")
	// ErrInboundBudget is returned by Conn.ReserveInbound when the engine's
	// InboundBudget cannot cover the room asked for at this time.
	ErrInboundBudget = errors.New("loop: inbound budget exhausted")
	// ErrInboundStalled is the close reason of a connection whose input sat
	// at its inbound limit for Config.InboundTimeout, the handler consuming
	// nothing and reserving no room for the frame it waited for.
	ErrInboundStalled = errors.New("loop: inbound limit reached and the handler made no progress")
)

// timeoutError is returned when a dial, idle, or write timer expires. It
// satisfies net.Error with Timeout() true, as the net package's errors do.
type timeoutError struct{ op string }

func (e *timeoutError) Error() string   { return "loop: " + e.op + " timeout" }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var (
	// ErrDialTimeout is the error of a dial whose timeout expired.
	ErrDialTimeout error = &timeoutError{"dial"}
	// ErrIdleTimeout is the close reason of a connection idle for longer than Config.IdleTimeout.
	ErrIdleTimeout error = &timeoutError{"idle"}
	// ErrWriteTimeout is the close reason of a connection whose pending output made no progress for Config.WriteTimeout.
	ErrWriteTimeout error = &timeoutError{"write"}
	// ErrHandshakeTimeout is the error of a TLS handshake that took longer than Config.TLSHandshakeTimeout.
	ErrHandshakeTimeout error = &timeoutError{"tls handshake"}
)
