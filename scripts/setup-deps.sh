#!/usr/bin/env bash
# System packages the tests use, from Debian's apt: iproute2, iptables, procps (sysctl), util-linux
# (nsenter) and iputils-ping for the HNS emulator's Linux data plane and its traffic tests, host-local (the reference IPAM plugin), strace
# (the faults suite kills the plugins at each state-changing call with its fault injection), gcc for
# the stand-in HCN library, mingw for its Windows build, Wine to run the .exe files, and Go with
# containerd's go-cni and libcni (the gocni suite's driver is built against them, offline).
# Idempotent; installs only what is missing. If another apt/dpkg is running (unattended-upgrades,
# a parallel job), waits for its lock (up to APT_LOCK_WAIT seconds, default 600) instead of failing.
set -euo pipefail
want=()
command -v ip >/dev/null && command -v bridge >/dev/null || want+=(iproute2)
command -v iptables-restore >/dev/null || want+=(iptables)
command -v sysctl >/dev/null || want+=(procps)
command -v nsenter >/dev/null || want+=(util-linux)
command -v ping >/dev/null || want+=(iputils-ping)
[ -x /usr/lib/cni/host-local ] || want+=(containernetworking-plugins)
command -v strace >/dev/null || want+=(strace)
command -v gcc >/dev/null || want+=(gcc)
command -v x86_64-w64-mingw32-gcc >/dev/null || want+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || want+=(wine64)
command -v go >/dev/null || want+=(golang-go)
[ -f /usr/share/gocode/src/github.com/containerd/go-cni/cni.go ] || want+=(golang-github-containerd-go-cni-dev)
[ -f /usr/share/gocode/src/github.com/containernetworking/cni/libcni/api.go ] || want+=(golang-github-appc-cni-dev)
if [ ${#want[@]} -eq 0 ]; then
  echo "setup: system packages present"
  exit 0
fi
echo "setup: installing ${want[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
WAIT=${APT_LOCK_WAIT:-600}
deadline=$((SECONDS + WAIT))
LOCKS=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)

# Until no process holds apt's or dpkg's locks (fuser comes with psmisc; without it apt-get's
# own lock timeout and the retry below do the waiting).
wait_for_locks() {
  command -v fuser >/dev/null || return 0
  local said=""
  while $SUDO fuser "${LOCKS[@]}" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "setup: apt/dpkg is still locked after ${WAIT}s" >&2
      return 1
    fi
    [ -n "$said" ] || { echo "setup: waiting for another apt/dpkg to finish"; said=1; }
    sleep 3
  done
}

# apt-get with dpkg's lock timeout; a run that still lost the race for a lock (the lists lock
# has no timeout of its own) is retried until the deadline. Other failures stop at once.
apt_get() {
  local out status
  while :; do
    wait_for_locks
    set +e
    out=$($SUDO apt-get -o DPkg::Lock::Timeout="$WAIT" "$@" 2>&1)
    status=$?
    set -e
    if [ $status -eq 0 ]; then
      return 0
    fi
    if grep -qE 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock' <<<"$out" && [ "$SECONDS" -lt "$deadline" ]; then
      echo "setup: apt/dpkg is busy; retrying"
      sleep 3
      continue
    fi
    printf '%s\n' "$out" >&2
    return $status
  done
}

apt_get update -qq
apt_get install -y -qq --no-install-recommends "${want[@]}"
echo "setup: done"
