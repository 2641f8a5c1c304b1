package benchmatrix

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as a process may choose.
	line := "1234 (we(ird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 999 1000 10 0\n"
	c, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if c.user != 2.5 || c.sys != 0.75 || c.total() != 3.25 {
		t.Fatalf("parsed %+v, want user 2.5 s and sys 0.75 s", c)
	}
	for _, bad := range []string{"1234 no name S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 75 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) did not fail", bad)
		}
	}
}

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

// TestProcSelf reads this process's own figures: memory in use, and CPU
// time that only grows.
func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	rss, err := procRSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("procRSS: %d, %v", rss, err)
	}
	before, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	after, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.sub(before); d.user < 0 || d.sys < 0 {
		t.Fatalf("CPU time went backwards: %+v then %+v", before, after)
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Fatal("procCPU of a process that cannot exist did not fail")
	}
}
