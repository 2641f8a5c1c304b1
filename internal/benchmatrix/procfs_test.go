package benchmatrix

import (
	"os"
	"testing"
)

func TestParseRSS(t *testing.T) {
	status := "Name:\tairsock\nVmPeak:\t  99999 kB\nVmRSS:\t    1234 kB\nThreads:\t5\n"
	if n, err := parseRSS([]byte(status)); err != nil || n != 1234<<10 {
		t.Fatalf("parseRSS: %d, %v; want %d", n, err, 1234<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseRSS([]byte(bad)); err == nil {
			t.Errorf("parseRSS(%q) did not fail", bad)
		}
	}
}

// TestProcSelf reads this process's own memory in use.
func TestProcSelf(t *testing.T) {
	rss, err := procRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("procRSS: %d, %v", rss, err)
	}
	if _, err := procRSS(1 << 30); err == nil {
		t.Fatal("procRSS of a process that cannot exist did not fail")
	}
}
