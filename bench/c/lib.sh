# bench/c/lib.sh: what floor.sh, cells.sh and ../churn-syscalls.sh share, sourced
# by them; each sets $tmp (a scratch directory) first. The server runs on
# CPU 1 with GOMAXPROCS=1, as the matrix pins it.

# start_server CMD...: runs CMD and waits (at most 5 s) for its
# "listening on ADDR" line; sets spid and addr.
start_server() {
  GOMAXPROCS=1 taskset -c 1 "$@" > "$tmp/s.out" 2>&1 & spid=$!
  for _ in $(seq 50); do grep -q listening "$tmp/s.out" && break; sleep 0.1; done
  addr=$(grep -o 'listening on [0-9.:]*' "$tmp/s.out" | awk '{print $3}')
}

# perf_server SECONDS [,MORE_EVENTS]: counts the server's syscalls and CPU
# time (and any more events) over SECONDS into $tmp/p.out (perf stat -x,).
perf_server() {
  perf stat -x, -e "raw_syscalls:sys_enter,task-clock${2:-}" -p "$spid" -- sleep "$1" 2> "$tmp/p.out"
}

# stop_server: waits for the load generator ($lpid), then stops the server.
stop_server() {
  wait "$lpid"; kill -INT "$spid"; wait "$spid" 2>/dev/null || true
}
