#!/usr/bin/env bash
# npm run test:windows (scripts/test.mjs's "windows" suite): the win-x64 executables under Wine
# against the stand-in computenetwork.dll. Installs the system packages it needs if missing
# (wine64, gcc-mingw-w64-x86-64), then runs test/windows/suite.ts, whose last line is
# `N passed, N failed`; the exit status is non-zero on any failure. Wine is stopped at the end.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
stop_wine() { WINEPREFIX="$root/test/.tmp/wine/prefix" /usr/lib/wine/wineserver64 -k >/dev/null 2>&1 || true; }
trap stop_wine EXIT
if ! bash scripts/setup-deps.sh >&2; then
  echo "0 passed, 1 failed"
  exit 1
fi
node --import tsx test/windows/suite.ts
