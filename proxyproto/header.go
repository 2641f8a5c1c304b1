package proxyproto

import (
	"net/netip"
	"strconv"
)

// Command says whether the header's addresses describe a relayed
// connection. It is a plain value, safe for any goroutine.
type Command uint8

const (
	// Local: the proxy opened the connection itself (a health check, say),
	// or a v1 sender said UNKNOWN. The receiver uses the socket's own
	// addresses and ignores the header's.
	Local Command = 0x0
	// Proxy: the connection is relayed; Source and Destination are the
	// original client's and server's addresses.
	Proxy Command = 0x1
)

// String returns "LOCAL", "PROXY" or the number. Safe for any goroutine.
func (c Command) String() string {
	switch c {
	case Local:
		return "LOCAL"
	case Proxy:
		return "PROXY"
	}
	return "Command(" + strconv.Itoa(int(c)) + ")"
}

// Transport is the address family and socket type of the relayed
// connection. Its values are v2's family-and-protocol byte, so the
// high nibble is the family and the low one the protocol. It is a plain
// value, safe for any goroutine.
type Transport uint8

// The seven combinations the specification defines.
const (
	Unspec     Transport = 0x00 // unknown or unsupported; no addresses (in v2, all bytes after the prefix are TLVs)
	TCP4       Transport = 0x11 // TCP over IPv4
	UDP4       Transport = 0x12 // UDP over IPv4
	TCP6       Transport = 0x21 // TCP over IPv6
	UDP6       Transport = 0x22 // UDP over IPv6
	UnixStream Transport = 0x31 // AF_UNIX, SOCK_STREAM
	UnixDgram  Transport = 0x32 // AF_UNIX, SOCK_DGRAM
)

// String returns the name of t ("TCP4", "UNIX_STREAM"...) or its number.
// Safe for any goroutine.
func (t Transport) String() string {
	switch t {
	case Unspec:
		return "UNSPEC"
	case TCP4:
		return "TCP4"
	case UDP4:
		return "UDP4"
	case TCP6:
		return "TCP6"
	case UDP6:
		return "UDP6"
	case UnixStream:
		return "UNIX_STREAM"
	case UnixDgram:
		return "UNIX_DGRAM"
	}
	return "Transport(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// addrLen is the size of t's v2 address block, and whether t is one of
// the seven combinations. Both nibbles are checked together on purpose:
// the specification lists only these bytes, so 0x10 (IPv4 with no
// protocol) is as invalid as 0x13.
func (t Transport) addrLen() (int, bool) {
	switch t {
	case Unspec:
		return 0, true
	case TCP4, UDP4:
		return 12, true
	case TCP6, UDP6:
		return 36, true
	case UnixStream, UnixDgram:
		return 2 * unixPathLen, true
	}
	return 0, false
}

// unixPathLen is the size of each AF_UNIX address in a v2 header
// (sun_path of Linux's sockaddr_un).
const unixPathLen = 108

// Header is one parsed PROXY protocol header. It owns all its memory (Parse
// copies what it keeps out of the caller's buffer), so it may outlive the
// buffer and be read from any goroutine; it is a plain value to copy.
//
// Which fields are set follows Transport: Source and Destination for the
// four IP transports (ports included; zero AddrPort otherwise), SourcePath
// and DestinationPath for the two UNIX ones, neither for Unspec. A LOCAL v2
// header may still carry addresses: the specification says to ignore them.
type Header struct {
	// Version is 1 (text) or 2 (binary): the format parsed. The Append
	// functions ignore it; each writes its own.
	Version int
	// Command is Proxy or Local. A v1 "PROXY UNKNOWN" line parses as Local
	// with Transport Unspec: the specification asks the receiver to use
	// the real connection's addresses, as it does for a v2 LOCAL.
	Command Command
	// Transport is the family and protocol. v1 gives only TCP4, TCP6 and
	// (for UNKNOWN) Unspec.
	Transport Transport

	// Source and Destination are the original client and server (IP
	// transports only). IPv6 transports hold 16-byte addresses, an
	// IPv4-mapped one included; IPv4 transports hold 4-byte ones.
	Source, Destination netip.AddrPort

	// SourcePath and DestinationPath are the AF_UNIX addresses: v2's
	// 108-byte fields with their trailing NUL bytes cut. A filesystem path
	// therefore reads as itself, and a Linux abstract name keeps its
	// leading NUL (it loses trailing NULs of its own, which the fixed-size
	// field cannot tell from padding).
	SourcePath, DestinationPath string

	// TLVs is v2's raw type-length-value area after the address block, a
	// copy owned by the Header (nil when empty, so a header without TLVs
	// costs no allocation). Parse has validated it; walk it with its
	// methods. To send TLVs, build it with AppendTLV and AppendSSL.
	TLVs TLVs
}
