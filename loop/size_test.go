package loop

import (
	"testing"
	"unsafe"
)

// TestConnSize pins what an idle connection costs the loop: a Conn fits the
// allocator's 256-byte size class, and the extension made on first use of a
// timer or a reservation stays at 96 bytes (docs/limits.md states both). A
// field added without moving a rare one behind ext fails here.
func TestConnSize(t *testing.T) {
	if got := unsafe.Sizeof(Conn{}); got > 256 {
		t.Errorf("Conn is %d bytes; the 256-byte size class is the budget", got)
	}
	if got := unsafe.Sizeof(connExt{}); got > 96 {
		t.Errorf("connExt is %d bytes; want at most 96", got)
	}
}
