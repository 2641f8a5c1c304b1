package benchmatrix

import "testing"

func TestParseRedisCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"PING_INLINE","677966.12","0.752","0.096","0.383","1.551","12.151","31.535"
"SET","714285.69","0.650","0.128","0.527","1.151","1.463","16.359"
`
	rows, err := parseRedisCSV([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []redisRow{{"PING_INLINE", 677966.12, 0.383, 12.151}, {"SET", 714285.69, 0.527, 1.463}}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, rows[i], want[i])
		}
	}
	for _, bad := range []string{
		"",
		`"test","rps"` + "\n" + `"SET","1"` + "\n", // no latency columns
		`"test","rps","p50_latency_ms","p99_latency_ms"` + "\n" + `"SET","fast","1","2"` + "\n",
	} {
		if _, err := parseRedisCSV([]byte(bad)); err == nil {
			t.Errorf("parseRedisCSV(%q) did not fail", bad)
		}
	}
	if n := (redisCell{16, 1000}).requests(1); n != 1_000_000 {
		t.Errorf("requests for P=16 c=1000: %d", n)
	}
}
