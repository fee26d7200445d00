#!/usr/bin/env bash
# Every test (`npm test`): config, render and program tests under jest, the scripts' bats tests,
# the host tests (test/hosts) and the real-Kubernetes lab (test/lab). The lab's build
# (test/lab/build.sh: minutes when cold, instant when its cache is current) runs in the background
# from the start, beside the other layers; the lab tests run once it is done. Any failure fails the
# run; a failed build prints its log and the command to retry it.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp /tmp/kc-lab-build.XXXXXX.log)
# (job control on for this one job: it gets a process group of its own, which a failed run stops whole)
set -m
bash test/lab/build.sh >"$log" 2>&1 &
build=$!
set +m
stop_build() { kill -- "-$build" 2>/dev/null || true; }
trap stop_build EXIT

npx jest --testPathIgnorePatterns 'test/(hosts|lab)/'
bats test/scripts
bash test/hosts/run.sh

echo "== waiting for the lab build (log: $log)"
if ! wait "$build"; then
    trap - EXIT
    tail -n 60 "$log" >&2
    echo "the lab build failed (full log: $log); retry with: bash test/lab/build.sh" >&2
    exit 1
fi
trap - EXIT
grep '^\[lab build\]' "$log" || true
bash test/lab/run.sh
