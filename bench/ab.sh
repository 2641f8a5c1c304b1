#!/usr/bin/env bash
# bench/ab.sh REV [ROUNDS] [OUT]: the go test benchmarks of bench, loop and
# serversocket for commit REV ("before") and the work tree ("after"), built
# once each and run alternately, one count of each per round, so that both
# see the same machine noise; then benchstat (installed if missing).
set -euo pipefail
rev=$1 rounds=${2:-6} out=${3:-/tmp/ab}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
before=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$before" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add -q --detach "$before" "$rev"
for p in bench loop serversocket; do
  (cd "$before" && go test -c -o "$out/$p-before.test" ./$p)
  (cd "$root" && go test -c -o "$out/$p-after.test" ./$p)
done
rm -f "$out/before.txt" "$out/after.txt"
for round in $(seq "$rounds"); do
  for v in before after; do
    for p in bench loop serversocket; do
      (cd "$root/$p" && "$out/$p-$v.test" -test.run '^$' -test.bench . -test.benchmem) >> "$out/$v.txt"
    done
  done
  echo "round $round of $rounds done"
done
benchstat=$(go env GOPATH)/bin/benchstat
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
"$benchstat" "$out/before.txt" "$out/after.txt"
