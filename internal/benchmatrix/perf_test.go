package benchmatrix

import (
	"strings"
	"testing"
)

func TestParsePerf(t *testing.T) {
	// perf stat -x, -e raw_syscalls:sys_enter,context-switches -p PID, as perf 6.1 prints it.
	out := "689727,,raw_syscalls:sys_enter,301369212,100.00,,\n2,,context-switches,301377006,100.00,,\n"
	c, err := parsePerf(out)
	if err != nil || c.syscalls != 689727 || c.switches != 2 {
		t.Fatalf("parsePerf: %+v, %v", c, err)
	}
	// Without the right to count tracepoints, or with an event missing.
	for _, bad := range []string{
		"<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n2,,context-switches,301377006,100.00,,\n",
		"2,,context-switches,301377006,100.00,,\n",
		"Error:\nNo permission to enable raw_syscalls:sys_enter event.\n",
	} {
		if _, err := parsePerf(bad); err == nil {
			t.Errorf("parsePerf(%q) did not fail", bad)
		} else if !strings.Contains(err.Error(), "perf stat") {
			t.Errorf("parsePerf(%q): %v, want it to name perf stat", bad, err)
		}
	}
}
