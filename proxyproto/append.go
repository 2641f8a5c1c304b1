package proxyproto

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// AppendV1 appends h as a v1 line and returns the extended slice. Version
// and TLVs are ignored. It never fails: what v1 cannot express (a Local
// command, a transport other than TCP4 and TCP6, an address missing or of
// the other family) it writes as "PROXY UNKNOWN\r\n", as the
// specification asks. A TCP4 header takes IPv4 or IPv4-mapped addresses;
// a TCP6 one takes any, writing IPv4 ones in their mapped form, in hex
// groups only ("::ffff:c000:201") since that is the specification's
// grammar. Zones are dropped. It is safe to call from any goroutine.
func AppendV1(dst []byte, h Header) []byte {
	if h.Command == Proxy {
		s, d := h.Source.Addr().Unmap(), h.Destination.Addr().Unmap()
		switch {
		case h.Transport == TCP4 && s.Is4() && d.Is4():
			dst = append(dst, "PROXY TCP4 "...)
			dst = s.AppendTo(dst)
			dst = append(dst, ' ')
			dst = d.AppendTo(dst)
			return appendV1Ports(dst, h)
		case h.Transport == TCP6 && s.IsValid() && d.IsValid():
			dst = append(dst, "PROXY TCP6 "...)
			dst = appendIPv6(dst, h.Source.Addr())
			dst = append(dst, ' ')
			dst = appendIPv6(dst, h.Destination.Addr())
			return appendV1Ports(dst, h)
		}
	}
	return append(dst, "PROXY UNKNOWN\r\n"...)
}

func appendV1Ports(dst []byte, h Header) []byte {
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(h.Source.Port()), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(h.Destination.Port()), 10)
	return append(dst, "\r\n"...)
}

// appendIPv6 writes a as IPv6 text. netip writes an IPv4-mapped address
// with a dotted tail, which the specification's grammar does not have, so
// that case is written here in hex groups.
func appendIPv6(dst []byte, a netip.Addr) []byte {
	a = netip.AddrFrom16(a.As16()) // IPv4 to mapped, zone dropped
	if !a.Is4In6() {
		return a.AppendTo(dst)
	}
	b := a.As16()
	dst = append(dst, "::ffff:"...)
	dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(b[12:])), 16)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(b[14:])), 16)
}

// AppendV2 appends h as a v2 header and returns the extended slice, or dst
// unchanged and an error if h cannot be encoded: a command other than
// Local and Proxy, an undefined transport, addresses not of the
// transport's family (IPv4 transports take IPv4 or IPv4-mapped addresses,
// IPv6 ones any, IPv4 written mapped), a UNIX path over 108 bytes,
// malformed TLVs, or more than 65535 bytes after the prefix. Version is
// ignored. An IP transport needs valid addresses even with Local; use
// Unspec for a health check.
//
// If h.TLVs holds a CRC32C TLV, its value is replaced by the checksum of
// the header written, so a sender adds one with four zero bytes
// (AppendTLV(tlvs, TypeCRC32C, make([]byte, 4))) and need not compute
// it. It is safe to call from any goroutine.
func AppendV2(dst []byte, h Header) ([]byte, error) {
	if h.Command != Local && h.Command != Proxy {
		return dst, errors.New("proxyproto: AppendV2: command is neither Local nor Proxy")
	}
	addrLen, ok := h.Transport.addrLen()
	if !ok {
		return dst, errors.New("proxyproto: AppendV2: undefined transport " + h.Transport.String())
	}
	crcAt, _, msg := checkTLVs(h.TLVs)
	if msg != "" {
		return dst, errors.New("proxyproto: AppendV2: " + msg)
	}
	l := addrLen + len(h.TLVs)
	if l > maxV2Field {
		return dst, errors.New("proxyproto: AppendV2: addresses and TLVs exceed 65535 bytes")
	}
	src, dstA := h.Source.Addr(), h.Destination.Addr()
	switch h.Transport {
	case TCP4, UDP4:
		src, dstA = src.Unmap(), dstA.Unmap()
		if !src.Is4() || !dstA.Is4() {
			return dst, errors.New("proxyproto: AppendV2: " + h.Transport.String() + " needs IPv4 source and destination addresses")
		}
	case TCP6, UDP6:
		if !src.IsValid() || !dstA.IsValid() {
			return dst, errors.New("proxyproto: AppendV2: " + h.Transport.String() + " needs source and destination addresses")
		}
	case UnixStream, UnixDgram:
		if len(h.SourcePath) > unixPathLen || len(h.DestinationPath) > unixPathLen {
			return dst, errors.New("proxyproto: AppendV2: UNIX path longer than 108 bytes")
		}
	}

	start := len(dst)
	dst = append(dst, v2Signature...)
	dst = append(dst, 0x20|byte(h.Command), byte(h.Transport), byte(l>>8), byte(l))
	switch h.Transport {
	case TCP4, UDP4:
		s, d := src.As4(), dstA.As4()
		dst = append(append(dst, s[:]...), d[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.Source.Port())
		dst = binary.BigEndian.AppendUint16(dst, h.Destination.Port())
	case TCP6, UDP6:
		s, d := src.As16(), dstA.As16()
		dst = append(append(dst, s[:]...), d[:]...)
		dst = binary.BigEndian.AppendUint16(dst, h.Source.Port())
		dst = binary.BigEndian.AppendUint16(dst, h.Destination.Port())
	case UnixStream, UnixDgram:
		var pad [unixPathLen]byte
		dst = append(append(dst, h.SourcePath...), pad[len(h.SourcePath):]...)
		dst = append(append(dst, h.DestinationPath...), pad[len(h.DestinationPath):]...)
	}
	dst = append(dst, h.TLVs...)
	if crcAt >= 0 {
		at := v2PrefixLen + addrLen + crcAt // within the header
		hdr := dst[start:]
		binary.BigEndian.PutUint32(hdr[at:], checksum(hdr, at))
	}
	return dst, nil
}

// AppendTLV appends one TLV to dst, for building Header.TLVs (or an SSL's
// sub-TLVs). A value over 65535 bytes cannot be encoded and panics, a
// programming error like an index out of range. It is safe to call from
// any goroutine.
func AppendTLV(dst []byte, typ TLVType, value []byte) []byte {
	if len(value) > maxV2Field {
		panic("proxyproto: AppendTLV: value longer than 65535 bytes")
	}
	dst = append(dst, byte(typ))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}

// AppendSSL appends s as an SSL TLV (type 0x20) to dst; build s.TLVs with
// AppendTLV and the Subtype* types. Like AppendTLV it panics if the value
// would exceed 65535 bytes. It is safe to call from any goroutine.
func AppendSSL(dst []byte, s SSL) []byte {
	if sslFixedLen+len(s.TLVs) > maxV2Field {
		panic("proxyproto: AppendSSL: value longer than 65535 bytes")
	}
	dst = append(dst, byte(TypeSSL))
	dst = binary.BigEndian.AppendUint16(dst, uint16(sslFixedLen+len(s.TLVs)))
	dst = append(dst, s.Client)
	dst = binary.BigEndian.AppendUint32(dst, s.Verify)
	return append(dst, s.TLVs...)
}
