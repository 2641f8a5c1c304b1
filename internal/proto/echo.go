package proto

// Echo is the echo protocol: every received byte is written back, with no
// framing. Its zero value is ready; Serve may be called from any goroutine
// that owns the stream.
type Echo struct{}

// Serve writes back every buffered byte and discards it.
func (Echo) Serve(s Stream) error {
	n := s.InboundBuffered()
	if n == 0 {
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
// nothing is sent. Its zero value is ready; Serve may be called from any
// goroutine that owns the stream.
type Discard struct{}

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
