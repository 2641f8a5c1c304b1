#!/usr/bin/env bash
# bench/c/floor.sh [ROUNDS]: the C reference servers beside airsock's loop (on
# epoll and on io_uring: loop-uring), gnet and nbio, echo, 100 connections, 16 B, depth 1 and 16; server on CPU 1 and load
# on CPU 0 (GOMAXPROCS=1 both); perf stat on the server over 3 s of each 6-s
# run. Prints syscalls and server CPU per message. Needs taskset, perf and
# python3; builds airsock and the C servers into a temporary directory.
set -eu
rounds=${1:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$root/bench/c/lib.sh"
(cd "$root" && go build -o "$tmp/airsock" ./cmd/airsock)
bash "$root/bench/c/build.sh" "$tmp" >/dev/null
for round in $(seq "$rounds"); do
for depth in 1 16; do
for srv in c-epoll c-uring loop loop-uring gnet nbio; do
  case $srv in
    c-epoll) cmd="$tmp/epoll_echo 0";;
    c-uring) cmd="$tmp/uring_echo 0";;
    loop) cmd="$tmp/airsock serve --backend loop --io epoll --proto echo --addr 127.0.0.1:0 --loops 1";;
    loop-uring) cmd="env AIRSOCK_IO=io_uring $tmp/airsock serve --backend loop --proto echo --addr 127.0.0.1:0 --loops 1";;
    *) cmd="$tmp/airsock serve --backend $srv --proto echo --addr 127.0.0.1:0 --loops 1";;
  esac
  case $cmd in env*) ;; *) [ -x "${cmd%% *}" ] || { echo "$srv: not built, skipped"; continue; };; esac
  start_server $cmd
  GOMAXPROCS=1 taskset -c 0 "$tmp/airsock" load --addr "$addr" -c 100 --depth $depth --size 16 --duration 6s --json > "$tmp/l.json" 2>/dev/null & lpid=$!
  sleep 1.5
  perf_server 3
  stop_server
  python3 - "$tmp" "$round" "$depth" "$srv" <<'PY'
import json, sys
tmp, rnd, depth, srv = sys.argv[1:]
rate = json.load(open(tmp + "/l.json"))["msgs_per_s"]
v = {}
for line in open(tmp + "/p.out"):
    f = line.split(",")
    if "raw_syscalls" in line: v["s"] = float(f[0])
    if "task-clock" in line: v["c"] = float(f[0])
msgs = rate * 3
print(f"round={rnd} depth={depth} {srv:8} msgs/s {rate:9.0f}  syscalls/msg {v['s']/msgs:.3f}  "
      f"server-cpu-us/msg {v['c']*1000/msgs:.2f}  server-cpu {v['c']/30:.0f}%")
PY
done; done; done
