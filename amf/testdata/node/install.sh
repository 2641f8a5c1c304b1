#!/bin/sh
# Installs the pinned npm AMF packages into ./node_modules (see README.md).
# Quiet on success; on failure prints the reason to stderr and exits non-zero,
# so a Go test that runs it can t.Skip with that message.
set -u
cd "$(dirname "$0")" || { echo "install.sh: cannot cd to its directory" >&2; exit 1; }

command -v node >/dev/null 2>&1 || { echo "install.sh: node not found in PATH" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found in PATH" >&2; exit 1; }

log=$(mktemp 2>/dev/null || echo "${TMPDIR:-/tmp}/amfcheck-install.$$")
trap 'rm -f "$log"' EXIT

# --ignore-scripts: no package gets to run install hooks (none of the pinned ones has any).
if [ -f package-lock.json ]; then
	set -- ci
else
	set -- install
fi
if ! npm "$@" --ignore-scripts --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
	echo "install.sh: npm $1 failed:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi

# Smoke test: the CLI loads every package and encodes one value.
out=$(echo '[{"t":"int","v":1}]' | node amfcheck.js encode 2>&1)
if [ "$out" != '["0401"]' ]; then
	echo "install.sh: packages installed but amfcheck.js does not work: $out" >&2
	exit 1
fi
