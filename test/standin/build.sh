#!/usr/bin/env bash
# Builds the HCN stand-in (hcnstandin.c) into a scratch directory; binaries are never committed.
#   test/standin/build.sh <out-dir> [--so-only]
# Always: <out-dir>/libhcnstandin.so and libiphlpstandin.so (gcc; the Linux unit tests load them through koffi).
# When x86_64-w64-mingw32-gcc exists: <out-dir>/win/computenetwork.dll and the same file as
# <out-dir>/win/vmcompute.dll (the Wine test puts them where the .exe looks).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh <out-dir> [--so-only]}"
so_only="${2:-}"
mkdir -p "$out"
src="$here/hcnstandin.c"
flags=(-std=c11 -O2 -Wall -Wextra -Werror)

# Build to a temporary name and rename, so a concurrent test run never loads a half-written file.
gcc "${flags[@]}" -shared -fPIC -fvisibility=hidden -o "$out/libhcnstandin.so.tmp.$$" "$src"
mv -f "$out/libhcnstandin.so.tmp.$$" "$out/libhcnstandin.so"
# The iphlpapi.dll stand-in (iphlpstandin.c): routes, interfaces and forwarding for the node agent's adapter.
gcc "${flags[@]}" -shared -fPIC -fvisibility=hidden -o "$out/libiphlpstandin.so.tmp.$$" "$here/iphlpstandin.c"
mv -f "$out/libiphlpstandin.so.tmp.$$" "$out/libiphlpstandin.so"

if [ "$so_only" != "--so-only" ] && command -v x86_64-w64-mingw32-gcc >/dev/null; then
  mkdir -p "$out/win"
  x86_64-w64-mingw32-gcc "${flags[@]}" -shared -static-libgcc -s -o "$out/win/computenetwork.dll.tmp.$$" "$src" -lws2_32 -lole32 -luuid
  cp "$out/win/computenetwork.dll.tmp.$$" "$out/win/vmcompute.dll.tmp.$$"
  mv -f "$out/win/computenetwork.dll.tmp.$$" "$out/win/computenetwork.dll"
  mv -f "$out/win/vmcompute.dll.tmp.$$" "$out/win/vmcompute.dll"
fi
