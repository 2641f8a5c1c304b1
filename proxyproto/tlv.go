package proxyproto

import (
	"encoding/binary"
	"iter"
)

// TLVType is the type byte of a v2 TLV. It is a plain value, safe for any
// goroutine.
type TLVType uint8

// The TLV types the specification registers. Types 0xE0-0xEF are left to
// applications, 0xF0-0xF7 to experiments, 0xF8-0xFF to the future; Parse
// accepts any type and checks the contents of only those below.
const (
	TypeALPN      TLVType = 0x01 // the negotiated application protocol (RFC 7301 bytes)
	TypeAuthority TLVType = 0x02 // host name the client asked for (TLS SNI), UTF-8
	TypeCRC32C    TLVType = 0x03 // CRC32C of the whole header; 4 bytes, verified by Parse
	TypeNoop      TLVType = 0x04 // padding, to be ignored
	TypeUniqueID  TLVType = 0x05 // opaque connection ID, at most 128 bytes
	TypeSSL       TLVType = 0x20 // TLS facts about the client connection; see SSL
	TypeNetNS     TLVType = 0x30 // network namespace name, US-ASCII

	// Sub-TLV types inside a TypeSSL value.
	SubtypeSSLVersion TLVType = 0x21 // TLS version, e.g. "TLSv1.3"
	SubtypeSSLCN      TLVType = 0x22 // client certificate's Common Name, UTF-8
	SubtypeSSLCipher  TLVType = 0x23 // cipher name, e.g. "ECDHE-RSA-AES128-GCM-SHA256"
	SubtypeSSLSigAlg  TLVType = 0x24 // server certificate's signature algorithm, e.g. "RSA-SHA256"
	SubtypeSSLKeyAlg  TLVType = 0x25 // server certificate's key algorithm, e.g. "RSA2048"
)

// maxUniqueID is UNIQUE_ID's bound in the specification.
const maxUniqueID = 128

// TLVs is a sequence of encoded TLVs: a type byte, a 2-byte big-endian
// length, the value. Its methods only read it and are safe for any
// goroutine; the values they return alias it (capped, so appending to one
// cannot overwrite the next). On malformed bytes, which a parsed Header
// never holds, they stop at the first bad TLV.
type TLVs []byte

// All yields each TLV's type and value in order, NOOPs included.
func (t TLVs) All() iter.Seq2[TLVType, []byte] {
	return func(yield func(TLVType, []byte) bool) {
		for len(t) >= 3 {
			end := 3 + int(binary.BigEndian.Uint16(t[1:]))
			if end > len(t) {
				return
			}
			if !yield(TLVType(t[0]), t[3:end:end]) {
				return
			}
			t = t[end:]
		}
	}
}

// Lookup returns the value of the first TLV of type typ.
func (t TLVs) Lookup(typ TLVType) ([]byte, bool) {
	for k, v := range t.All() {
		if k == typ {
			return v, true
		}
	}
	return nil, false
}

// ALPN returns the ALPN TLV's value.
func (t TLVs) ALPN() ([]byte, bool) { return t.Lookup(TypeALPN) }

// Authority returns the AUTHORITY TLV's host name.
func (t TLVs) Authority() (string, bool) { return t.text(TypeAuthority) }

// UniqueID returns the UNIQUE_ID TLV's value.
func (t TLVs) UniqueID() ([]byte, bool) { return t.Lookup(TypeUniqueID) }

// NetNS returns the NETNS TLV's namespace name.
func (t TLVs) NetNS() (string, bool) { return t.text(TypeNetNS) }

// CRC32C returns the CRC32C TLV's checksum. Parse has already checked it
// against the header, so a caller needs it only to log it.
func (t TLVs) CRC32C() (uint32, bool) {
	v, ok := t.Lookup(TypeCRC32C)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// text returns a TLV's value as a string (a copy: the only helpers that
// allocate are these, and only when called).
func (t TLVs) text(typ TLVType) (string, bool) {
	v, ok := t.Lookup(typ)
	return string(v), ok
}

// checkTLVs validates a v2 TLV area: every length inside it, CRC32C of 4
// bytes and at most once (there is one checksum field to zero), UNIQUE_ID
// of at most 128 bytes, SSL with its 5 fixed bytes and sound sub-TLVs. It
// returns the offset of the CRC32C value (-1 if none), or the offset and
// description of the first fault.
func checkTLVs(t []byte) (crcAt, at int, msg string) {
	crcAt = -1
	for i := 0; i < len(t); {
		v, end, msg := tlvBounds(t, i)
		if msg != "" {
			return crcAt, i, msg
		}
		switch TLVType(t[i]) {
		case TypeCRC32C:
			if end-v != 4 {
				return crcAt, i, "CRC32C TLV is not 4 bytes long"
			}
			if crcAt >= 0 {
				return crcAt, i, "more than one CRC32C TLV"
			}
			crcAt = v
		case TypeUniqueID:
			if end-v > maxUniqueID {
				return crcAt, i, "UNIQUE_ID TLV is longer than 128 bytes"
			}
		case TypeSSL:
			if end-v < sslFixedLen {
				return crcAt, i, "SSL TLV is shorter than its client and verify fields"
			}
			sub := t[v+sslFixedLen : end]
			for j := 0; j < len(sub); {
				_, e, msg := tlvBounds(sub, j)
				if msg != "" {
					return crcAt, v + sslFixedLen + j, "SSL sub-" + msg
				}
				j = e
			}
		}
		i = end
	}
	return crcAt, 0, ""
}

// tlvBounds returns where the value of the TLV at t[i:] starts and ends.
func tlvBounds(t []byte, i int) (v, end int, msg string) {
	if len(t)-i < 3 {
		return 0, 0, "TLV is cut short: fewer than 3 bytes left for its type and length"
	}
	v = i + 3
	end = v + int(binary.BigEndian.Uint16(t[i+1:]))
	if end > len(t) {
		return 0, 0, "TLV length runs past the end of the header"
	}
	return v, end, ""
}
