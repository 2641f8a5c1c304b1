#!/usr/bin/env bash
# bench/churn-syscalls.sh [ROUNDS]: the loop's syscalls and server CPU per
# connection under churn (each of 50 client slots: connect, one 16-byte
# echo, close), on epoll and on io_uring, side by side; server on CPU 1 and
# churn client on CPU 0 (GOMAXPROCS=1 both), perf stat on the server over 3 s
# of each 5-s run. Needs taskset, perf and python3.
set -eu
rounds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$root/bench/c/lib.sh"
(cd "$root" && go build -o "$tmp/airsock" ./cmd/airsock)
for round in $(seq "$rounds"); do
for io in epoll io_uring; do
  start_server "$tmp/airsock" serve --backend loop --io $io --proto echo --addr 127.0.0.1:0 --loops 1
  GOMAXPROCS=1 taskset -c 0 "$tmp/airsock" bench churn --addr "$addr" --conns 50 --duration 5s --warmup 1s > "$tmp/c.json" 2>/dev/null & lpid=$!
  sleep 2
  perf_server 3
  stop_server
  python3 - "$tmp" "$round" "$io" <<'PY'
import json, sys
tmp, rnd, io = sys.argv[1:]
rate = json.load(open(tmp + "/c.json"))["cycles_per_s"]
v = {}
for line in open(tmp + "/p.out"):
    f = line.split(",")
    if "raw_syscalls" in line: v["s"] = float(f[0])
    if "task-clock" in line: v["c"] = float(f[0])
n = rate * 3
print(f"round={rnd} {io:8} conns/s {rate:7.0f}  syscalls/conn {v['s']/n:.2f}  server-cpu-us/conn {v['c']*1000/n:.1f}")
PY
done; done
