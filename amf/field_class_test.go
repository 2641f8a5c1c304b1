package amf

import (
	"bytes"
	"testing"
)

// fieldLevel is a named number registered as an Externalizable: on the
// wire it is an object of class "test.Level" holding its name.
type fieldLevel int

var fieldLevelNames = []string{"low", "high"}

func (l *fieldLevel) WriteExternal(out DataOutput) error { return out.WriteUTF(fieldLevelNames[*l]) }

func (l *fieldLevel) ReadExternal(in DataInput) error {
	s, err := in.ReadUTF()
	for i, name := range fieldLevelNames {
		if name == s {
			*l = fieldLevel(i)
		}
	}
	return err
}

type fieldAlarm struct {
	Level  fieldLevel   `amf:"level"`
	Levels []fieldLevel `amf:"levels"`
}

// TestFieldOfRegisteredNamedType: a struct field or slice element whose
// named scalar type is a registered Externalizable is written as that
// class, as the same value at the top level is, and decodes back into the
// field; unregistered, it is its number.
func TestFieldOfRegisteredNamedType(t *testing.T) {
	r := NewRegistry()
	if err := r.Register("test.Alarm", fieldAlarm{}); err != nil {
		t.Fatal(err)
	}
	encode := func(r *Registry, v any) []byte {
		e := NewEncoder()
		e.SetRegistry(r)
		b, err := e.Encode(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	high := []byte{0x0a, 0x07, 0x15, 't', 'e', 's', 't', '.', 'L', 'e', 'v', 'e', 'l', 0x00, 0x04, 'h', 'i', 'g', 'h'}
	plain := encode(r, fieldAlarm{Level: 1, Levels: []fieldLevel{1}})
	if bytes.Contains(plain, high) {
		t.Fatalf("unregistered, the level was written as a class: %x", plain)
	}
	if err := r.Register("test.Level", fieldLevel(0)); err != nil {
		t.Fatal(err)
	}
	top := encode(r, fieldLevel(1))
	if !bytes.Equal(top, high) {
		t.Fatalf("the level alone: %x, want %x", top, high)
	}
	b := encode(r, fieldAlarm{Level: 1, Levels: []fieldLevel{0, 1}})
	if !bytes.Contains(b, high) {
		t.Fatalf("the field was not written as its class: %x", b)
	}
	d := NewDecoder()
	d.SetRegistry(r)
	v, _, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := v.(*fieldAlarm)
	if !ok || got.Level != 1 || len(got.Levels) != 2 || got.Levels[0] != 0 || got.Levels[1] != 1 {
		t.Fatalf("decoded %#v", v)
	}
}
