#!/usr/bin/env bash
# bench/c/cells.sh ROUNDS "CELLS" "SERVERS": server CPU and syscalls per
# message for arbitrary echo cells, as floor.sh measures them (server on
# CPU 1, load on CPU 0, GOMAXPROCS=1 both; perf stat on the server over
# MEAS s of each DUR-s run), the servers taken in turn within each round so
# that a noisy machine hurts them alike.
#   CELLS    conns:size:depth ...       e.g. "1:16:1 100:512:16 1000:16384:16"
#   SERVERS  name=BIN:IO[:ARGS] ...     an airsock binary, --io (epoll, io_uring) and
#                                       more serve flags, comma-separated (--udp,...),
#            or name=PATH/uring_echo    a C server of bench/c/build.sh
#   env      DUR (6), MEAS (3), LOADBIN (the load generator: an airsock binary;
#            default the first server's), LOAD_ARGS (more load flags: --udp ...),
#            EXTRA_EV (",event,..." more perf events, printed per message)
# One line per run: round= cell= srv= rate= sys= (syscalls/msg) cpu_us= (server
# CPU per message) util= (server CPU %). Needs taskset, perf and python3.
set -u
rounds=$1; cells=$2; servers=$3
dur=${DUR:-6}; meas=${MEAS:-3}
first=${servers%% *}; first=${first#*=}
load=${LOADBIN:-${first%%:*}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
for round in $(seq "$rounds"); do
for cell in $cells; do
IFS=: read -r conns size depth <<<"$cell"
for spec in $servers; do
  name=${spec%%=*}; rest=${spec#*=}; bin=${rest%%:*}; io=${rest#*:}; args=
  case $io in *:*) args=${io#*:}; args=${args//,/ }; io=${io%%:*};; esac
  case $bin in
    *_echo) cmd="$bin 0";;
    *) cmd="$bin serve --backend loop --io $io --proto echo --addr 127.0.0.1:0 --loops 1 $args";;
  esac
  start_server $cmd
  GOMAXPROCS=1 taskset -c 0 "$load" load --addr "$addr" -c "$conns" --depth "$depth" --size "$size" \
    --duration "${dur}s" ${LOAD_ARGS:-} --json > "$tmp/l.json" 2>/dev/null & lpid=$!
  sleep 2
  perf_server "$meas" "${EXTRA_EV:-}"
  stop_server
  python3 - "$tmp" "$round" "$cell" "$name" "$meas" <<'PY'
import json, sys
tmp, rnd, cell, srv, meas = sys.argv[1:]
try:
    rate = json.load(open(tmp + "/l.json"))["msgs_per_s"]
except Exception as e:
    print(f"round={rnd} cell={cell} srv={srv} FAILED {e}"); sys.exit()
v, ex = {}, []
msgs = rate * float(meas)
for line in open(tmp + "/p.out"):
    f = line.split(",")
    if len(f) < 3: continue
    if f[2] == "raw_syscalls:sys_enter": v["s"] = float(f[0])
    elif f[2] == "task-clock": v["c"] = float(f[0])
    elif f[0].replace(".", "").isdigit(): ex.append(f"{f[2].split(':')[-1]}={float(f[0])/msgs:.3f}")
print(f"round={rnd} cell={cell} srv={srv} rate={rate:.0f} sys={v['s']/msgs:.4f} cpu_us={v['c']*1000/msgs:.4f} "
      f"util={v['c']/float(meas)/10:.0f} " + " ".join(ex), flush=True)
PY
done; done; done
