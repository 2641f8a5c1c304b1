package proxyproto

import "encoding/binary"

// sslFixedLen is the client byte and the 4-byte verify field that start
// an SSL TLV's value.
const sslFixedLen = 5

// The bits of SSL.Client.
const (
	ClientSSL      = 0x01 // the client connected over TLS
	ClientCertConn = 0x02 // it sent a certificate on this connection
	ClientCertSess = 0x04 // it sent one at least once in this TLS session
)

// SSL is the value of an SSL TLV (type 0x20): what the proxy knows of the
// client's TLS connection. It is a plain value, safe for any goroutine.
type SSL struct {
	// Client holds the Client* bits.
	Client uint8
	// Verify is 0 if the client's certificate was verified, non-zero
	// otherwise (an OpenSSL verify result for haproxy).
	Verify uint32
	// TLVs are the sub-TLVs: version, CN, cipher, algorithms (the
	// Subtype* types). Its methods walk them like top-level TLVs.
	TLVs TLVs
}

// SSL returns the SSL TLV, decoded. Its sub-TLVs alias t.
func (t TLVs) SSL() (SSL, bool) {
	v, ok := t.Lookup(TypeSSL)
	if !ok || len(v) < sslFixedLen {
		return SSL{}, false
	}
	return SSL{Client: v[0], Verify: binary.BigEndian.Uint32(v[1:]), TLVs: TLVs(v[sslFixedLen:])}, true
}

// Version returns the TLS version sub-TLV, e.g. "TLSv1.3".
func (s SSL) Version() (string, bool) { return s.TLVs.text(SubtypeSSLVersion) }

// CN returns the client certificate's Common Name sub-TLV.
func (s SSL) CN() (string, bool) { return s.TLVs.text(SubtypeSSLCN) }

// Cipher returns the cipher name sub-TLV.
func (s SSL) Cipher() (string, bool) { return s.TLVs.text(SubtypeSSLCipher) }

// SigAlg returns the server certificate's signature algorithm sub-TLV.
func (s SSL) SigAlg() (string, bool) { return s.TLVs.text(SubtypeSSLSigAlg) }

// KeyAlg returns the server certificate's key algorithm sub-TLV.
func (s SSL) KeyAlg() (string, bool) { return s.TLVs.text(SubtypeSSLKeyAlg) }
