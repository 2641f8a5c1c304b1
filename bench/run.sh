#!/bin/sh
# run.sh builds airsock into a temporary directory (never into the tree) and
# runs the comparison matrix with it, writing to bench/results/<name>/:
#
#   bench/run.sh              the full matrix (about 35 minutes), results/full
#   bench/run.sh --quick      the reduced matrix (about 2.5 minutes), results/quick
#   bench/run.sh --scenarios throughput --rounds 3 ...   any `airsock bench` flags
#
# Output directory: --out DIR if given, else results/quick with --quick, else
# results/full. Needs Linux, taskset, and for the RESP scenario redis-server
# and redis-benchmark (apt-get install redis-server redis-tools). The C
# reference servers of bench/c are built too (where gcc and liburing-dev
# are, bench/c/build.sh), so that --backends may name c-epoll and c-uring.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Stamp the commit into the binary (the results name it) when git allows.
cd "$root"
go build -buildvcs=true -o "$tmp/airsock" ./cmd/airsock 2>/dev/null ||
	go build -o "$tmp/airsock" ./cmd/airsock
cd - >/dev/null

out="$here/results/full"
for arg in "$@"; do
	case "$arg" in
	--quick | -quick | --quick=true | -quick=true) out="$here/results/quick" ;;
	--out | -out | --out=* | -out=*) out="" ;;
	esac
done
if [ -n "$out" ]; then
	set -- --out "$out" "$@"
fi
if bash "$here/c/build.sh" "$tmp" >/dev/null; then
	set -- --c-dir "$tmp" "$@"
fi
"$tmp/airsock" bench "$@"
