#!/usr/bin/env bash
# bench/c/build.sh [OUT]: builds the C reference servers (epoll_echo, and
# uring_echo where liburing is there) into OUT (default /tmp/airsock-c),
# installing Debian's gcc and liburing-dev first when apt-get can. Prints
# what it could not build and why; exits non-zero only if nothing was built.
set -u
out=${1:-/tmp/airsock-c}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
if command -v apt-get >/dev/null && { ! command -v gcc >/dev/null || [ ! -e /usr/include/liburing.h ]; }; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc liburing-dev >/dev/null) \
    || echo "build.sh: could not install gcc and liburing-dev"
fi
built=0
if gcc -O2 -Wall -Wextra -Werror -o "$out/epoll_echo" "$src/epoll_echo.c"; then
  built=$((built + 1))
else
  echo "build.sh: epoll_echo not built"
fi
if gcc -O2 -Wall -Wextra -Werror -o "$out/uring_echo" "$src/uring_echo.c" -luring; then
  built=$((built + 1))
else
  echo "build.sh: uring_echo not built (liburing-dev missing?)"
fi
echo "build.sh: $built of 2 servers in $out"
[ "$built" -gt 0 ]
