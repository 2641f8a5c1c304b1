package benchmatrix

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// machine describes where the matrix ran, for the report: every figure
// comes with the machine and the load it shared.
type machine struct {
	Revision   string // the airsock commit the binary was built from
	CPUs       int
	Model      string
	Kernel     string
	Go         string
	Redis      string
	Started    time.Time
	Finished   time.Time
	LoadBefore string // /proc/loadavg at the start
	LoadAfter  string
}

func describeMachine() *machine {
	m := &machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Started: time.Now(), Model: cpuModel(), Revision: revision()}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		m.Redis = strings.TrimSpace(string(out))
	}
	m.LoadBefore = loadavg()
	return m
}

// finish notes the end of the run.
func (m *machine) finish() {
	m.Finished = time.Now()
	m.LoadAfter = loadavg()
}

// revision is the VCS commit of this binary, "+dirty" if the tree had
// changes, or "unknown" (go run, or -buildvcs=false).
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", ""
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	return rev + dirty
}

// save writes the description beside the results, so that a report made
// later from runs.jsonl (--report) states the machine of the run.
func (m *machine) save(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// loadMachine reads a description written by save.
func loadMachine(path string) (*machine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := new(machine)
	return m, json.Unmarshal(b, m)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// benchHeader is the configuration block at the top of matrix.txt, in the
// "key: value" form benchstat reads.
func (m *machine) benchHeader(o Options) string {
	return fmt.Sprintf("goos: %s\ngoarch: %s\ncpu: %s\nkernel: %s\ngo: %s\nairsock: %s\n"+
		"placement: server taskset -c %d GOMAXPROCS=1 --loops 1; load generator taskset -c %d GOMAXPROCS=1 --loops %d\n",
		runtime.GOOS, runtime.GOARCH, m.Model, m.Kernel, m.Go, m.Revision, o.ServerCPU, o.ClientCPU, o.ClientLoops)
}
