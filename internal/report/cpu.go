package report

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// CPU is processor time used by a process, in seconds.
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

// Sub returns the time used between an earlier reading and c.
func (c CPU) Sub(earlier CPU) CPU {
	return CPU{UserSec: c.UserSec - earlier.UserSec, SysSec: c.SysSec - earlier.SysSec}
}

// Add returns the sum of c and o.
func (c CPU) Add(o CPU) CPU { return CPU{UserSec: c.UserSec + o.UserSec, SysSec: c.SysSec + o.SysSec} }

// MicrosPerMsg returns user+system time per message, in microseconds: the
// figure to compare when the client, not the server, is saturated.
func (c CPU) MicrosPerMsg(msgs int64) float64 {
	if msgs <= 0 {
		return 0
	}
	return (c.UserSec + c.SysSec) * 1e6 / float64(msgs)
}
