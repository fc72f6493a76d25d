#!/usr/bin/env bash
# System packages the tests use, from Debian's apt: host-local (the reference IPAM plugin), gcc for
# the stand-in HCN library, mingw for its Windows build, and Wine to run the .exe files.
# Idempotent; installs only what is missing.
set -euo pipefail
want=()
[ -x /usr/lib/cni/host-local ] || want+=(containernetworking-plugins)
command -v gcc >/dev/null || want+=(gcc)
command -v x86_64-w64-mingw32-gcc >/dev/null || want+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || want+=(wine64)
if [ ${#want[@]} -eq 0 ]; then
  echo "setup: system packages present"
  exit 0
fi
echo "setup: installing ${want[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
echo "setup: done"
