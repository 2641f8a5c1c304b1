package report_test

import (
	"os"
	"time"

	"github.com/airsock/airsock/internal/report"
)

// Two event loops record into their own shards; the reader takes an
// interval and prints the run's summary.
func ExampleRecorder() {
	rec := report.NewRecorder(2)
	for i := range 100 {
		rec.Shard(i%2).Record(time.Duration(i+1)*time.Microsecond, 16)
	}
	rec.Shard(1).Error()

	iv := rec.Interval() // one per second in a real run, written to an .hlog
	_ = iv
	sum := report.Summarize(rec.Total(), 2*time.Second)
	sum.Label = "example"
	report.Format(os.Stdout, report.Table, sum)
	// Output:
	// label  count  errors  secs  msgs/s  MB/s  p50 us  p90 us  p99 us  p99.9 us  p99.99 us  max us  user s  sys s  cpu us/msg
	//   example    100       1  2.00      50  0.00    50.0    90.0    99.0     100.0      100.0   100.0    0.00   0.00        0.00
}
