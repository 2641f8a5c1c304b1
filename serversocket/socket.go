package serversocket

// Socket is AIR's flash.net.Socket: one TCP connection that dispatches
// events (EventDispatcher), reads its input (DataInput) and buffers its
// output (DataOutput). ServerSocket hands accepted sockets to Connect
// listeners in a ServerSocketConnectEvent. A Socket is used through its
// pointer and must not be copied.
//
// This file holds the parts that need no connection; the wiring to package
// loop (connect, close, flush, the addresses and the event dispatch from the
// loop) is built on top of it. Whoever creates a Socket points its embedded
// dispatcher at it (s.EventDispatcher.target = s), so that its events report
// the Socket as their Target.
type Socket struct {
	EventDispatcher
	DataInput
	DataOutput
}

// Endian returns the byte order of the socket's reads and writes, BigEndian
// unless SetEndian changed it. Call it on the socket's loop goroutine.
func (s *Socket) Endian() string { return s.DataInput.Endian() }

// SetEndian sets the byte order of both the socket's reads and writes to
// BigEndian or LittleEndian; any other value is an ArgumentError #2008 and
// changes nothing. Call it on the socket's loop goroutine.
func (s *Socket) SetEndian(endian string) error {
	if err := s.DataInput.SetEndian(endian); err != nil {
		return err
	}
	return s.DataOutput.SetEndian(endian)
}
