package proxyproto

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// v2Signature starts every v2 header. Its NUL and CRLFs make it invalid
// in HTTP, TLS, SMTP and the rest, and unlike "PROXY".
const v2Signature = "\r\n\r\n\x00\r\nQUIT\n"

// v2PrefixLen is the fixed part of a v2 header: signature, version and
// command, family and protocol, length.
const v2PrefixLen = 16

// castagnoli is CRC32C's table (hardware-assisted where the CPU has it).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func v2Fail(at int, msg string) (Header, int, error) {
	return Header{}, 0, syntaxErr(2, at, msg)
}

// parseV2 checks each byte of the 16-byte prefix as soon as it is there,
// then waits for the whole announced length before reading addresses and
// TLVs.
func parseV2(b []byte, maxLen int) (Header, int, error) {
	for i := 0; i < len(v2Signature); i++ {
		if i == len(b) {
			return Header{}, 0, ErrTruncated
		}
		if b[i] != v2Signature[i] {
			return v2Fail(i, "not the v2 signature")
		}
	}
	if len(b) < 13 {
		return Header{}, 0, ErrTruncated
	}
	if b[12]>>4 != 2 {
		return v2Fail(12, "version is not 2")
	}
	cmd := Command(b[12] & 0xf)
	if cmd != Local && cmd != Proxy {
		return v2Fail(12, "command is neither LOCAL (0) nor PROXY (1)")
	}
	if len(b) < 14 {
		return Header{}, 0, ErrTruncated
	}
	tr := Transport(b[13])
	addrLen, ok := tr.addrLen()
	if !ok {
		return v2Fail(13, "family and protocol byte is not one the specification defines")
	}
	if len(b) < v2PrefixLen {
		return Header{}, 0, ErrTruncated
	}
	l := int(binary.BigEndian.Uint16(b[14:]))
	if l > maxLen {
		return Header{}, 0, &SyntaxError{Version: 2, Offset: 14, Msg: "length is over the parser's maximum", Err: ErrTooLong}
	}
	if l < addrLen {
		return v2Fail(14, "length is shorter than the "+tr.String()+" address block")
	}
	n := v2PrefixLen + l
	if len(b) < n {
		return Header{}, 0, ErrTruncated
	}

	h := Header{Version: 2, Command: cmd, Transport: tr}
	a := b[v2PrefixLen:]
	switch tr {
	case TCP4, UDP4:
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:]))
	case TCP6, UDP6:
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:]))
	case UnixStream, UnixDgram:
		h.SourcePath, h.DestinationPath = unixPaths(a[:unixPathLen], a[unixPathLen:2*unixPathLen])
	}

	tlvs := b[v2PrefixLen+addrLen : n]
	if len(tlvs) == 0 {
		return h, n, nil
	}
	crcAt, at, msg := checkTLVs(tlvs)
	if msg != "" {
		return v2Fail(v2PrefixLen+addrLen+at, msg)
	}
	if crcAt >= 0 {
		crcAt += v2PrefixLen + addrLen
		if binary.BigEndian.Uint32(b[crcAt:]) != checksum(b[:n], crcAt) {
			return Header{}, 0, &SyntaxError{Version: 2, Offset: crcAt, Msg: "CRC32C TLV does not match the header", Err: ErrChecksum}
		}
	}
	h.TLVs = append(TLVs(nil), tlvs...)
	return h, n, nil
}

// zeros stands in for the checksum field. It is a package variable, never
// written, because a local array passed to crc32.Update escapes to the
// heap (Update calls through a function pointer).
var zeros [4]byte

// checksum is the CRC32C of hdr with its 4 bytes at crcAt taken as zeros,
// as the specification computes it, without writing to hdr.
func checksum(hdr []byte, crcAt int) uint32 {
	c := crc32.Update(0, castagnoli, hdr[:crcAt])
	c = crc32.Update(c, castagnoli, zeros[:])
	return crc32.Update(c, castagnoli, hdr[crcAt+4:])
}

// unixPaths cuts the NUL padding off the end of both 108-byte fields and
// returns them as substrings of one string: one allocation for both.
func unixPaths(src, dst []byte) (string, string) {
	src, dst = trimNUL(src), trimNUL(dst)
	var buf [2 * unixPathLen]byte
	both := string(append(append(buf[:0], src...), dst...))
	return both[:len(src)], both[len(src):]
}

func trimNUL(p []byte) []byte {
	for len(p) > 0 && p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	return p
}
