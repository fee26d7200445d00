#!/usr/bin/env bash
# Figures for the keepalived-haproxy endpoint on test hosts (real keepalived, haproxy, VRRP, TCP and
# TLS; API servers stood in for): failover time when the VIP holder's keepalived stops and when its
# haproxy stops, averaged over a few repetitions (REPS, default 3). Needs root and what
# test/hosts/run.sh checks. Prints figures only; never passes or fails on time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/ha-failover.sh: run as root (test hosts use network and mount namespaces)" >&2; exit 1; }
# The harness tears its hosts down on exit; `bash test/hosts/lib/host.sh cleanup` removes what a
# killed run left.
exec npx ts-node --transpile-only -P tsconfig.json bench/ha-failover.ts "$@"
