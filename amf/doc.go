// Package amf encodes and decodes Action Message Format, the object
// serialization of ActionScript 3: AMF 3 (what ByteArray.writeObject and
// Socket.writeObject send by default, objectEncoding 3) and AMF 0 (the
// older format, objectEncoding 0, with its switch into AMF 3). It follows
// Adobe's "AMF 3 Specification" (2013) and "AMF 0 Specification" (2007)
// and imports nothing of airsock: any Go program may use it.
//
// # Go values
//
// Encoding and decoding map AMF values onto Go values as follows (decoding
// gives the type on the right of each line; encoding takes it, and the
// others listed):
//
//	undefined            Undefined{}
//	null                 nil (and nil pointers, maps, slices, interfaces)
//	false, true          bool
//	integer (U29)        int; encoding takes every Go integer type: one
//	                     inside -2^28..2^28-1 is an integer, any other a
//	                     double (as AS3 does)
//	double               float64 (and float32)
//	String               string (one that is not UTF-8 is sent with U+FFFD
//	                     for each bad sequence, as Go's conversions do)
//	XMLDocument          XMLDocument (a string type: the legacy flash.xml.XMLDocument)
//	Date                 time.Time (milliseconds since the epoch, UTC)
//	Array                []any when it has no associative part, *Array
//	                     (Dense and Assoc) when it has one
//	Object               map[string]any for an anonymous object whose
//	                     members are all dynamic; *T for a class alias
//	                     registered with RegisterClassAlias onto struct
//	                     type T; *Object (its Traits, with the class name,
//	                     and its members in order) for any other
//	XML                  XML (a string type: E4X XML)
//	ByteArray            []byte
//	Vector.<int>         []int32
//	Vector.<uint>        []uint32
//	Vector.<Number>      []float64
//	Vector.<Object>      *ObjectVector (its element class name and items)
//	Dictionary           *Dictionary (its entries in order: keys may be any value)
//
// A struct type registered with a class alias travels as a sealed typed
// object: its exported fields, named by their `amf:"name"` tag or their
// Go name, in field order; `amf:"-"` leaves a field out. A type that
// implements Externalizable writes and reads its own body, as AS3's
// IExternalizable does (flex.messaging.io.ArrayCollection, ArrayList and
// ObjectProxy are registered by default). A Vector's fixed flag is kept by
// ObjectVector and dropped by the numeric vectors (encoded not fixed).
//
// References: within one value (one Encode or Decode call: each
// writeObject is its own message, with fresh reference tables), strings,
// traits and complex values that occur again are sent as references, and
// decoding restores the sharing: a map, slice, *Array, *Object or struct
// pointer met twice decodes to the same Go value, cycles included. ""
// is never sent by reference.
//
// # Hostile input
//
// A Decoder never trusts a length or count: nothing is allocated for more
// elements than the remaining input could hold, every reference index is
// checked against its table, nesting is bounded (Limits.MaxDepth) and so
// are the elements of one value in all (Limits.MaxElements), which bounds
// what references can multiply. Malformed input returns a *SyntaxError,
// a bound a *LimitError, and input that ends inside a value ErrTruncated,
// after which the caller may wait for more bytes and decode again from
// the start: Decode consumes nothing unless it returns a value.
//
// # Goroutines
//
// An Encoder or a Decoder is used by one goroutine at a time; it keeps its
// tables and buffers between values, so encoding primitives and strings
// into a reused buffer allocates nothing. A caller done with each decoded
// value before it decodes the next (an echo, a proxy) can let the decoder
// reuse the value's maps and leave its ByteArrays in the input
// (Decoder.SetReuse). A Registry is safe for concurrent use; register
// aliases before the values that need them.
package amf
