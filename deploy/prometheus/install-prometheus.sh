#!/bin/sh
# Part of `make install`: puts `promtool` (the rule checks and rule unit tests of
# `make test`) and the `prometheus` server (the alerting integration test) on the machine,
# from Debian's `prometheus` package. Does nothing when both are already on PATH, so it
# costs nothing on a second run and needs no root then.
#
# The package's service is not started: Debian's maintainer scripts ask
# /usr/sbin/policy-rc.d first, and while this script installs, that file answers 101
# ("do not start") unless one already exists (containers ship one that does the same).
# On a host run by systemd the package still enables its service for the next boot
# (`systemctl disable --now prometheus` if you do not want a Prometheus on :9090).
# On a machine without apt-get, install Prometheus 2.x by other means and put
# `promtool` and `prometheus` on PATH.
set -eu

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi

say() { printf 'install-prometheus: %s\n' "$*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    say "promtool/prometheus are missing and there is no apt-get here: install Prometheus 2.x"
    say "(promtool and prometheus on PATH), then run make again"
    exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        say "promtool/prometheus are missing; as root run:"
        say "  apt-get install -y --no-install-recommends prometheus"
        exit 1
    fi
fi

POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=""
cleanup() {
    if [ -n "$OWN_POLICY" ]; then $SUDO rm -f "$POLICY"; fi
}
trap cleanup EXIT INT TERM
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from ledgerlink install-prometheus.sh\nexit 101\n' \
        | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    OWN_POLICY=1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet (or stale ones that lack the package).
if ! apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    say "apt-get update"
    $SUDO apt-get update -qq
fi
say "apt-get install prometheus (promtool and the server; its service is not started)"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null

command -v promtool >/dev/null 2>&1 || { say "promtool still missing after the install"; exit 1; }
say "$(promtool --version 2>&1 | head -n 1)"
