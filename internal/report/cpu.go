package report

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CPU is processor time used by a process, in seconds: the one form of CPU
// time of the load generator, the bench matrix and their reports, however
// it was read (getrusage, /proc/PID/stat, an exited child's ProcessState).
type CPU struct {
	UserSec float64 `json:"user_s"`
	SysSec  float64 `json:"sys_s"`
}

// ProcessCPU returns the user and system time this process has used so
// far (getrusage RUSAGE_SELF). It may be called from any goroutine.
func ProcessCPU() (CPU, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return CPU{}, os.NewSyscallError("getrusage", err)
	}
	return CPU{UserSec: seconds(ru.Utime), SysSec: seconds(ru.Stime)}, nil
}

func seconds(tv unix.Timeval) float64 {
	return (time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond).Seconds()
}

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// the kernel fixes at 100 for this interface whatever its own tick rate.
const userHZ = 100

// PIDCPU returns the time process pid (all its threads) has used so far,
// from utime and stime in /proc/PID/stat: Linux only, in 10 ms steps. An
// exited process that is not yet reaped still reads its final figures. It
// may be called from any goroutine.
func PIDCPU(pid int) (CPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPU{}, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) from a /proc/PID/stat
// line. The command name, field 2, is in parentheses and may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (CPU, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return CPU{}, fmt.Errorf("/proc stat: no command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return CPU{}, fmt.Errorf("/proc stat: %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return CPU{}, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	return CPU{UserSec: float64(ut) / userHZ, SysSec: float64(st) / userHZ}, nil
}

// ExitedCPU returns the time an exited child used, as its ProcessState
// tells (the rusage wait4 returned). Any goroutine that owns ps.
func ExitedCPU(ps *os.ProcessState) CPU {
	return CPU{UserSec: ps.UserTime().Seconds(), SysSec: ps.SystemTime().Seconds()}
}

// Sub returns the time used between an earlier reading and c.
func (c CPU) Sub(earlier CPU) CPU {
	return CPU{UserSec: c.UserSec - earlier.UserSec, SysSec: c.SysSec - earlier.SysSec}
}

// Add returns the sum of c and o.
func (c CPU) Add(o CPU) CPU { return CPU{UserSec: c.UserSec + o.UserSec, SysSec: c.SysSec + o.SysSec} }

// Total returns user plus system time, in seconds.
func (c CPU) Total() float64 { return c.UserSec + c.SysSec }

// MicrosPerMsg returns user+system time per message, in microseconds: the
// figure to compare when the client, not the server, is saturated.
func (c CPU) MicrosPerMsg(msgs int64) float64 {
	if msgs <= 0 {
		return 0
	}
	return c.Total() * 1e6 / float64(msgs)
}
