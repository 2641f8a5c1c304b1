package proxyproto

import "net/netip"

// v1Prefix starts every v1 line.
const v1Prefix = "PROXY "

// MaxV1Length is the longest v1 line the specification allows, CRLF
// included ("PROXY UNKNOWN" with two full IPv6 addresses and ports).
const MaxV1Length = 107

// v1Scanner reads a v1 line byte by byte, so that a wrong byte is reported
// as soon as it arrives rather than once the CRLF does.
type v1Scanner struct {
	b []byte
	i int
}

func (s *v1Scanner) fail(at int, msg string) error { return syntaxErr(1, at, msg) }

// next returns the byte at s.i and moves past it. It fails with
// ErrTruncated when b ends there, and with a too-long error when the byte
// could not be part of a line of at most 107 bytes.
func (s *v1Scanner) next() (byte, error) {
	if s.i >= len(s.b) {
		return 0, ErrTruncated
	}
	c := s.b[s.i]
	if s.i > MaxV1Length-3 && !fitsV1(s.i, c) {
		return 0, tooLongV1(s.i)
	}
	s.i++
	return c, nil
}

// fitsV1 says whether byte c at index i leaves room for the rest of a
// line of at most 107 bytes: LF may be the 107th byte, CR the 106th,
// anything else the 105th at most.
func fitsV1(i int, c byte) bool {
	switch c {
	case '\n':
		return i <= MaxV1Length-1
	case '\r':
		return i <= MaxV1Length-2
	}
	return i <= MaxV1Length-3
}

func tooLongV1(at int) error {
	return &SyntaxError{Version: 1, Offset: at, Msg: "no CRLF within 107 bytes", Err: ErrTooLong}
}

// literal consumes exactly lit.
func (s *v1Scanner) literal(lit, msg string) error {
	for k := 0; k < len(lit); k++ {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c != lit[k] {
			return s.fail(s.i-1, msg)
		}
	}
	return nil
}

// field consumes bytes of class (a mask of charClass bits), at most max
// of them, up to the byte end, and returns them without end and with
// their offset. It is next's checks in one tight loop: the fields are
// most of a line.
func (s *v1Scanner) field(class uint8, max int, end byte, name string) ([]byte, int, error) {
	start := s.i
	for i := start; ; i++ {
		if i >= len(s.b) {
			return nil, start, ErrTruncated
		}
		c := s.b[i]
		switch {
		case i > MaxV1Length-3 && !fitsV1(i, c):
			return nil, start, tooLongV1(i)
		case c == end:
			s.i = i + 1
			return s.b[start:i], start, nil
		case c == '\n':
			return nil, start, s.fail(i, "LF without CR (the line must end with CRLF)")
		case charClass[c]&class == 0:
			return nil, start, s.fail(i, "unexpected byte in "+name)
		case i-start >= max:
			return nil, start, s.fail(start, name+" too long")
		}
	}
}

// The classes of the bytes v1's fields may hold.
const (
	classDigit = 1 << iota
	classHex   // a-f, A-F (digits are classDigit)
	classDot
	classColon

	classIPv4 = classDigit | classDot
	classIPv6 = classDigit | classHex | classColon | classDot // the dot for an IPv4 tail
)

var charClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = classDigit
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = classHex, classHex
	}
	t['.'], t[':'] = classDot, classColon
	return t
}()

// parseV1 parses "PROXY TCP4|TCP6 src dst sport dport\r\n" or
// "PROXY UNKNOWN[ anything]\r\n" with single spaces, as the
// specification's grammar has it.
func parseV1(b []byte) (Header, int, error) {
	s := v1Scanner{b: b}
	if err := s.literal(v1Prefix, `not "PROXY "`); err != nil {
		return Header{}, 0, err
	}
	c, err := s.next()
	if err != nil {
		return Header{}, 0, err
	}
	switch c {
	case 'U':
		return s.unknown()
	case 'T':
	default:
		return Header{}, 0, s.fail(s.i-1, "protocol is none of TCP4, TCP6, UNKNOWN")
	}
	if err := s.literal("CP", "protocol is none of TCP4, TCP6, UNKNOWN"); err != nil {
		return Header{}, 0, err
	}
	if c, err = s.next(); err != nil {
		return Header{}, 0, err
	}
	h := Header{Version: 1, Command: Proxy}
	addrClass, addrMax := uint8(classIPv4), 15
	switch c {
	case '4':
		h.Transport = TCP4
	case '6':
		h.Transport = TCP6
		addrClass, addrMax = classIPv6, 45 // 6 groups and an IPv4 tail
	default:
		return Header{}, 0, s.fail(s.i-1, "protocol is none of TCP4, TCP6, UNKNOWN")
	}
	if err := s.literal(" ", "no single space after the protocol"); err != nil {
		return Header{}, 0, err
	}

	var addrs [2]netip.Addr
	for k, name := range [2]string{"source address", "destination address"} {
		f, at, err := s.field(addrClass, addrMax, ' ', name)
		if err != nil {
			return Header{}, 0, err
		}
		if h.Transport == TCP4 {
			ip, ok := parseIPv4(f)
			if !ok {
				return Header{}, 0, s.fail(at, name+" is not a valid IPv4 address")
			}
			addrs[k] = netip.AddrFrom4(ip)
		} else {
			ip, ok := parseIPv6(f)
			if !ok {
				return Header{}, 0, s.fail(at, name+" is not a valid IPv6 address")
			}
			addrs[k] = netip.AddrFrom16(ip)
		}
	}
	var ports [2]uint16
	for k, end := range [2]byte{' ', '\r'} {
		name := [2]string{"source port", "destination port"}[k]
		f, at, err := s.field(classDigit, 5, end, name)
		if err != nil {
			return Header{}, 0, err
		}
		p, ok := parsePort(f)
		if !ok {
			return Header{}, 0, s.fail(at, name+" is not a decimal 0-65535 without heading zeros")
		}
		ports[k] = p
	}
	if err := s.literal("\n", "CR not followed by LF"); err != nil {
		return Header{}, 0, err
	}
	h.Source = netip.AddrPortFrom(addrs[0], ports[0])
	h.Destination = netip.AddrPortFrom(addrs[1], ports[1])
	return h, s.i, nil
}

// unknown finishes "PROXY UNKNOWN": the specification lets the sender put
// anything before the CRLF and the receiver ignore it. A lone CR or LF in
// there is still refused, since neither may end the line.
func (s *v1Scanner) unknown() (Header, int, error) {
	if err := s.literal("NKNOWN", "protocol is none of TCP4, TCP6, UNKNOWN"); err != nil {
		return Header{}, 0, err
	}
	c, err := s.next()
	if err != nil {
		return Header{}, 0, err
	}
	if c == ' ' {
		for c != '\r' {
			if c, err = s.next(); err != nil {
				return Header{}, 0, err
			}
			if c == '\n' {
				return Header{}, 0, s.fail(s.i-1, "LF without CR (the line must end with CRLF)")
			}
		}
	} else if c != '\r' {
		return Header{}, 0, s.fail(s.i-1, "UNKNOWN not followed by a space or CRLF")
	}
	if err := s.literal("\n", "CR not followed by LF"); err != nil {
		return Header{}, 0, err
	}
	return Header{Version: 1, Command: Local, Transport: Unspec}, s.i, nil
}
