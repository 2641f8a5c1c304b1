package proto

// Echo is the echo protocol: every received byte is written back, with no
// framing. Its zero value is ready and is its own Session: it keeps no
// state, so one value serves every connection from any goroutine.
type Echo struct{}

// NewSession returns Echo itself; any goroutine may call it.
func (Echo) NewSession() Session { return Echo{} }

// Serve writes back every buffered byte and discards it. While the stream
// is not Writable it leaves the bytes buffered, to be echoed when the
// output has drained: so output stays within the high mark plus one read.
func (Echo) Serve(s Stream) error {
	n := s.InboundBuffered()
	if n == 0 || !s.Writable() {
		return nil
	}
	p, err := s.Peek(n)
	if err != nil {
		return err
	}
	if _, err := s.Write(p); err != nil {
		return err
	}
	_, err = s.Discard(n)
	return err
}

// Discard is the discard protocol: every received byte is dropped and
// nothing is sent. Its zero value is ready and is its own Session, for
// every connection and any goroutine.
type Discard struct{}

// NewSession returns Discard itself; any goroutine may call it.
func (Discard) NewSession() Session { return Discard{} }

// Serve drops every buffered byte.
func (Discard) Serve(s Stream) error {
	// Discard(0) would mean "all" too, but naming the count keeps this
	// independent of how a Stream reads n <= 0.
	if n := s.InboundBuffered(); n > 0 {
		_, err := s.Discard(n)
		return err
	}
	return nil
}
