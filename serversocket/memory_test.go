package serversocket

import (
	"testing"
	"unsafe"
)

// An idle accepted Socket is one object of the Socket's size: what it needs
// only once used lives in socketExt, its listeners in one flat table. These
// sizes are what the package doc's memory figures rest on; a field added to
// Socket should go to socketExt unless every idle socket needs it.
func TestStructSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes pinned here are a 64-bit platform's")
	}
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"Socket", unsafe.Sizeof(Socket{}), 128},
		{"EventDispatcher", unsafe.Sizeof(EventDispatcher{}), 24},
		{"DataInput", unsafe.Sizeof(DataInput{}), 24},
		{"DataOutput", unsafe.Sizeof(DataOutput{}), 32},
		{"Listener", unsafe.Sizeof(Listener{}), 16},
		{"listenerSlot", unsafe.Sizeof(listenerSlot{}), 32},
		{"byteOrder", unsafe.Sizeof(byteOrder{}), 1},
	} {
		if c.got != c.want {
			t.Errorf("unsafe.Sizeof(%s) = %d, want %d", c.name, c.got, c.want)
		}
	}
}
