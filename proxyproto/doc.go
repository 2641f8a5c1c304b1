// Package proxyproto parses and writes the header of the PROXY protocol,
// versions 1 (a text line) and 2 (binary, with TLVs), as HAProxy's
// specification (doc/proxy-protocol.txt, 2020/03/05) defines it. A proxy
// in front of a server prepends the header to each connection to tell the
// server who the client really is. The package imports nothing else from
// airsock and makes no system calls: it is bytes in, bytes out, and every
// function and method is safe to call from any goroutine.
//
// Parse is built for an event loop that must never block: the connection's
// first bytes arrive in pieces, and the loop calls Parse on what it has so
// far. ErrTruncated (no allocation) means wait for more; a *SyntaxError
// means close the connection, and comes as soon as the bytes rule a header
// out, from the first byte for an HTTP request; success gives the header's
// length, to discard before handing the rest to the protocol handler:
//
//	h, n, err := proxyproto.Parse(in)
//	switch {
//	case err == proxyproto.ErrTruncated:
//		return // keep the bytes, wait for the next read
//	case err != nil:
//		closeConn(err) // not a PROXY header, or a hostile one
//	default:
//		discard(n)
//		if h.Command == proxyproto.Proxy && h.Source.IsValid() {
//			remote = h.Source // else keep the socket's own peer address
//		}
//	}
//
// Bounds keep a peer from making the server buffer much: a v1 line ends
// within 107 bytes, and a v2 header's announced length is checked against
// a maximum (DefaultMaxV2Length, or ParseLimit's argument) as soon as its
// 16-byte prefix is in. Validation is strict: v1's exact grammar, v2's
// defined values only, TLV lengths, and the CRC32C TLV when present.
//
// The package only parses. Trust is the caller's decision: a header lets
// whoever sends it claim any source address, so a server must accept it
// only on listeners configured for it, and there only from peers it trusts
// (its load balancers), judged by the socket's real address. The
// specification forbids guessing whether a header is present: on such a
// listener, a connection without one is an error.
//
// AppendV1 and AppendV2 write headers, for clients, tests and load
// generators; AppendTLV and AppendSSL build v2 TLVs.
package proxyproto
