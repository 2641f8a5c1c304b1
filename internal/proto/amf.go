package proto

import (
	"errors"
	"fmt"
	"sync"

	"github.com/airsock/airsock/amf"
)

// AMFEcho is the amf-echo protocol: each AMF 3 value a client sends is
// decoded and encoded again (package amf), so the load generator measures
// objects per second through the codec. A value's end is found with an
// amf.Scanner kept by the session while the value is partial, so a
// trickled value costs time linear in its length; a malformed one closes
// the connection. A value longer than a bounded stream's input (64 KiB on
// our backends) gets more room reserved as it arrives, up to MaxAMFValue;
// a longer one, or one the engine's budget has no room for, fails its
// connection at once. Its zero value is ready; any goroutine may call
// NewSession.
type AMFEcho struct{}

// NewSession returns a connection's session; any goroutine.
func (AMFEcho) NewSession() Session { return &amfSession{} }

// amfSession holds a scan only while a value is partial; the codecs are
// pooled, so an idle connection holds nothing.
type amfSession struct {
	scan *amf.Scanner
}

// The decoder reuses its maps: each value is encoded again before the next
// is decoded.
var amfCodecs = sync.Pool{New: func() any {
	c := &amfCodec{dec: amf.NewDecoder(), enc: amf.NewEncoder()}
	c.dec.SetReuse(true)
	return c
}}

type amfCodec struct {
	dec *amf.Decoder
	enc *amf.Encoder
	out []byte
}

var amfScanners = sync.Pool{New: func() any { return new(amf.Scanner) }}

// Serve echoes every complete value buffered, while the stream is
// Writable. A value that arrived whole is decoded at once; only one that
// did not is scanned, by a Scanner that keeps its place, so that its pieces
// cost time linear in its length (one decode that found it partial, then
// the scan, then the decode of the whole).
func (s *amfSession) Serve(st Stream) error {
	for st.InboundBuffered() > 0 && st.Writable() {
		b, err := st.Peek(0)
		if err != nil {
			return err
		}
		if s.scan == nil {
			if done, err := echoValue(st, b); err != nil || done {
				if err != nil {
					return err
				}
				continue
			}
			s.scan = amfScanners.Get().(*amf.Scanner)
		}
		n, err := s.scan.Scan(b)
		switch {
		case errors.Is(err, amf.ErrTruncated):
			return roomFor(st) // the rest comes later; the scan goes on from here
		case errors.Is(err, amf.ErrUnscannable):
			n = len(b) // the decoder finds the end
		case err != nil:
			return fmt.Errorf("amf-echo: %w", err)
		}
		s.scan.Reset()
		amfScanners.Put(s.scan)
		s.scan = nil
		if done, err := echoValue(st, b[:n]); err != nil {
			return err
		} else if !done {
			return roomFor(st) // a value the scanner cannot measure, not all in yet
		}
	}
	return nil
}

// MaxAMFValue is the longest value amf-echo takes on a stream with a
// bounded input.
const MaxAMFValue = 16 << 20

// roomFor is Serve's answer to a value not all in. On a bounded stream
// whose input is full the rest cannot arrive, so it reserves twice the
// room (the value costs reservations logarithmic in its length), up to
// MaxAMFValue; past that, or with no room in the budget, the value fails.
func roomFor(st Stream) error {
	r, ok := st.(InboundReserver)
	if !ok {
		return nil
	}
	have := st.InboundBuffered()
	if have < r.InboundLimit() {
		return nil
	}
	if have >= MaxAMFValue {
		return fmt.Errorf("amf-echo: a value longer than MaxAMFValue (%d bytes)", MaxAMFValue)
	}
	if err := r.ReserveInbound(min(2*have, MaxAMFValue)); err != nil {
		return fmt.Errorf("amf-echo: no room for a value longer than %d bytes: %w (%w)", have, ErrNoRoom, err)
	}
	return nil
}

// echoValue decodes the value b starts with, writes it encoded again and
// consumes it; done is false when b holds only part of it.
func echoValue(st Stream, b []byte) (done bool, err error) {
	c := amfCodecs.Get().(*amfCodec)
	defer amfCodecs.Put(c)
	v, n, err := c.dec.Decode(b)
	if errors.Is(err, amf.ErrTruncated) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("amf-echo: %w", err)
	}
	if c.out, err = c.enc.Encode(c.out[:0], v); err != nil {
		return false, fmt.Errorf("amf-echo: %w", err)
	}
	if _, err := st.Write(c.out); err != nil {
		return false, err
	}
	if cap(c.out) > 64<<10 {
		c.out = nil
	}
	_, err = st.Discard(n)
	return err == nil, err
}

// amfClient sends objects {body: a ByteArray of Size patterned bytes,
// conn, seq} and expects each back byte for byte: the server's encoder
// writes the decoded object as this one does (members sorted, integers
// within 29 bits as integers), so a reply is checked as an echo is.
type amfClient struct {
	replies
	size    int
	verify  bool
	scratch []byte
}

// NewAMFClient returns the amf-echo codec for one connection (Size is the
// body's length, at least 1). Any goroutine; the codec belongs to its
// connection's.
func NewAMFClient(cfg ClientConfig) (Client, error) {
	if cfg.Size < 1 {
		return nil, errors.New("proto: amf-echo needs a body size of at least 1")
	}
	return &amfClient{replies: replies{conn: cfg.Conn}, size: cfg.Size, verify: cfg.Verify}, nil
}

func (c *amfClient) AppendRequest(dst []byte, seq uint64) []byte {
	c.pending.push(seq)
	return appendAMFRequest(dst, c.conn, seq, c.size)
}

func (c *amfClient) ParseReply(buf []byte) (int, bool, error) {
	if c.pending.n == 0 {
		return c.unsolicited(buf)
	}
	seq := c.pending.front()
	c.scratch = appendAMFRequest(c.scratch[:0], c.conn, seq, c.size)
	want := c.scratch
	if len(buf) < len(want) {
		return 0, false, nil
	}
	if c.verify {
		for i := range want {
			if buf[i] != want[i] {
				return c.mismatch(seq, buf, i, fmt.Sprintf("%#02x", want[i]))
			}
		}
	}
	return c.done(len(want))
}

// appendAMFRequest appends request seq of connection conn as AMF 3: an
// anonymous dynamic object with the members body, conn and seq, in the
// order the amf encoder sorts them.
func appendAMFRequest(dst []byte, conn, seq uint64, size int) []byte {
	dst = append(dst, 0x0a, 0x0b, 0x01) // object, inline dynamic traits, class ""
	dst = append(dst, 0x09, 'b', 'o', 'd', 'y', 0x0c)
	dst = appendU29(dst, uint32(size)<<1|1)
	dst = AppendPattern(dst, conn, seq, size)
	dst = append(dst, 0x09, 'c', 'o', 'n', 'n')
	dst = appendAMFNumber(dst, conn)
	dst = append(dst, 0x07, 's', 'e', 'q')
	dst = appendAMFNumber(dst, seq)
	return append(dst, 0x01)
}

// appendAMFNumber appends n as the amf encoder does: an integer within
// 29 bits, else a double.
func appendAMFNumber(dst []byte, n uint64) []byte {
	if n < 1<<28 {
		return appendU29(append(dst, 0x04), uint32(n))
	}
	b, _ := amf.Marshal(n) // rare: past 268 million requests on one connection
	return append(dst, b...)
}

// appendU29 appends AMF 3's variable-length integer (below 2^29).
func appendU29(dst []byte, v uint32) []byte {
	switch {
	case v < 1<<7:
		return append(dst, byte(v))
	case v < 1<<14:
		return append(dst, byte(v>>7)|0x80, byte(v&0x7f))
	case v < 1<<21:
		return append(dst, byte(v>>14)|0x80, byte(v>>7)|0x80, byte(v&0x7f))
	}
	return append(dst, byte(v>>22)|0x80, byte(v>>15)|0x80, byte(v>>8)|0x80, byte(v))
}
