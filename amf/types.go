package amf

// Undefined is ActionScript's undefined, distinct from null (nil).
type Undefined struct{}

// XML is an E4X XML value (AMF 3's XML marker), as its source text.
type XML string

// XMLDocument is a legacy flash.xml.XMLDocument (AMF 3's XMLDocument
// marker, AMF 0's XML document), as its source text.
type XMLDocument string

// Array is an AS3 Array with an associative part: Dense holds the
// elements 0..n-1, Assoc the string keys (AMF sends the associative part
// first; encoding sends Assoc's keys in sorted order). An Array without
// keys decodes as []any.
type Array struct {
	Dense []any
	Assoc map[string]any
}

// Traits describe a class as AMF 3 sends it: its alias (empty for an
// anonymous object), its sealed member names in order, and whether it
// is dynamic or externalizable. Objects decoded with the same traits
// share one *Traits, and encoding sends a *Traits met again by reference.
type Traits struct {
	Class          string
	Sealed         []string
	Dynamic        bool
	Externalizable bool
}

// Member is one named member of an Object.
type Member struct {
	Name  string
	Value any
}

// Object is an AMF 3 object of a class this side has no Go type for (or
// an anonymous one with sealed members): its traits, the values of its
// sealed members in the order of Traits.Sealed, and its dynamic members
// in the order they came. An externalizable Object cannot be decoded
// without its class (its body's length is the class's own business); it
// is an error.
type Object struct {
	Traits  *Traits
	Sealed  []any
	Dynamic []Member
}

// Get returns the member called name, sealed or dynamic, and whether it
// exists.
func (o *Object) Get(name string) (any, bool) {
	if o.Traits != nil {
		for i, n := range o.Traits.Sealed {
			if n == name && i < len(o.Sealed) {
				return o.Sealed[i], true
			}
		}
	}
	for _, m := range o.Dynamic {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// ObjectVector is an AS3 Vector.<T> of a non-numeric type: Class is T's
// alias ("" or "*" for Object), Fixed its fixed-length flag.
type ObjectVector struct {
	Class string
	Fixed bool
	Items []any
}

// Dictionary is an AS3 flash.utils.Dictionary: its entries in the order
// they came (its keys may be objects, so it is no Go map), and whether its
// keys are weak.
type Dictionary struct {
	Weak    bool
	Entries []Entry
}

// Entry is one key and value of a Dictionary.
type Entry struct {
	Key, Value any
}
