#!/usr/bin/env bash
# npm run test:windows (scripts/test.mjs's "windows" suite): the win-x64 executables under Wine
# against the stand-in computenetwork.dll. Installs the system packages it needs if missing
# (wine64, gcc-mingw-w64-x86-64), then runs test/windows/suite.ts (the plugins and hnsctl) and
# test/windows/agent.ts (cni-agent.exe, also as a Windows service), each ending with
# `N passed, N failed`; prints their sum last. The exit status is non-zero on any failure.
# Wine is stopped at the end.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
stop_wine() { WINEPREFIX="$root/test/.tmp/wine/prefix" /usr/lib/wine/wineserver64 -k >/dev/null 2>&1 || true; }
trap stop_wine EXIT
if ! bash scripts/setup-deps.sh >&2; then
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0
failed=0
for part in suite agent; do
  log="$(mktemp)"
  node --import tsx "test/windows/$part.ts" | tee "$log"
  status=${PIPESTATUS[0]}
  last="$(tail -n 1 "$log")"
  rm -f "$log"
  if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ] && failed=$((failed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
