#!/usr/bin/env bash
# Figures for the remote steps on test hosts: node prep seconds (fresh and re-run) and SSH sessions
# per host for a 3-host deployment. Needs root and what test/hosts/run.sh checks.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/host-steps.sh: run as root (test hosts use network and mount namespaces)" >&2; exit 1; }
# The harness tears its hosts down on exit; `bash test/hosts/lib/host.sh cleanup` removes what a
# killed run left.
exec npx ts-node --transpile-only -P tsconfig.json bench/host-steps.ts
