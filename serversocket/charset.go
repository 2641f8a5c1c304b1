package serversocket

import (
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// lookupCharset finds the encoding for an IANA charset label such as
// "shift_jis" or "iso-8859-1" (case-insensitive). The IANA registry is asked
// first because it keeps labels exact (iso-8859-1 is Latin-1 there, not
// windows-1252 as on the web); the WHATWG index then covers labels the IANA
// index knows but cannot encode (gb2312 becomes GBK, its superset) and common
// aliases ("utf8", "cp1252").
//
// AIR falls back to the system code page for a label it does not know; a
// server has no meaningful system code page, so an unknown label is an
// ArgumentError #2008 for the parameter "charSet" instead of a silent guess.
func lookupCharset(label string) (encoding.Encoding, error) {
	if e, err := ianaindex.IANA.Encoding(label); err == nil && e != nil {
		return e, nil
	}
	if e, err := htmlindex.Get(label); err == nil {
		return e, nil
	}
	return nil, errNotAccepted("charSet")
}

// isUTF8 reports whether e is UTF-8, which the UTF methods handle without a
// transcoder.
func isUTF8(e encoding.Encoding) bool { return e == unicode.UTF8 }
