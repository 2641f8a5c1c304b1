package benchmatrix

import (
	"strings"
	"testing"
)

// TestWindowMarks: the edges of the churn client's window are seen
// whatever the pieces its stderr arrives in, other lines are not taken for
// them, and the tail is kept for error messages.
func TestWindowMarks(t *testing.T) {
	marks := 0
	w := &windowMarks{marked: func() { marks++ }}
	for _, p := range []string{
		"starting\n" + churnWindowStart[:10], churnWindowStart[10:] + "\n",
		"x " + churnWindowEnd + "\n", // not a mark: the line has more
		churnWindowEnd + "\nairsock bench churn: boom\n",
	} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if marks != 2 {
		t.Errorf("%d marks seen, want 2 (start and end)", marks)
	}
	if !strings.HasSuffix(w.String(), "boom") {
		t.Errorf("tail %q does not end with the last line", w.String())
	}
}
