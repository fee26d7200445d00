#!/usr/bin/env bash
# Figures for the real-Kubernetes lab: the lab build (cold or warm, as the cache is) and the dev
# cluster's whole test (test/lab/dev-cluster.lab.test.ts: three lab hosts, init, joins, upgrade,
# removal, destroy), its duration and the peak memory it used, sampled every second:
#   - daemons: the resident memory of every process in a lab host's PID namespace (sshd,
#     containerd, the kubelet, the shims: what runs beside the pods);
#   - pods: the memory cgroup all lab hosts' pods are in (rss + page cache, as the kernel counts it);
#   - machine: how far MemAvailable fell below what it was when the run started.
# Needs root and what test/lab/run.sh checks. Prints figures; never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/lab-cluster.sh: run as root (lab hosts are namespaces with their own cgroups)" >&2; exit 1; }

start=$SECONDS
bash test/lab/build.sh
build_s=$((SECONDS - start))

samples=$(mktemp)
base=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
pods_cg=/sys/fs/cgroup/memory${base%/}/kcth
avail0=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)

# sample: one line "daemons_kb pods_kb drop_kb" of the lab's memory now.
sample() {
    local d pidns=() p ns kb=0 pods=0 avail
    for d in /tmp/kcth/*/; do
        if [ ! -f "$d/lab" ] || [ ! -f "$d/pid" ]; then continue; fi
        ns=$(readlink "/proc/$(cat "$d/pid")/ns/pid" 2>/dev/null) || continue
        pidns+=("$ns")
    done
    if [ "${#pidns[@]}" -gt 0 ]; then
        for p in /proc/[0-9]*; do
            ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
            [[ " ${pidns[*]} " == *" $ns "* ]] || continue
            kb=$((kb + $(awk '/^VmRSS:/ { print $2 }' "$p/status" 2>/dev/null || echo 0)))
        done
    fi
    if [ -f "$pods_cg/memory.usage_in_bytes" ]; then pods=$(($(cat "$pods_cg/memory.usage_in_bytes") / 1024)); fi
    avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
    printf '%s %s %s\n' "$kb" "$pods" "$((avail0 - avail))"
}

(while :; do sample >>"$samples"; sleep 1; done) &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; rm -f "$samples"' EXIT

t0=$SECONDS
rc=0
bash test/hosts/lib/host.sh cleanup
npx jest test/lab/dev-cluster --runInBand >/tmp/kc-lab-bench.log 2>&1 || rc=$?
bash test/hosts/lib/host.sh cleanup
test_s=$((SECONDS - t0))
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

awk -v build="$build_s" -v test="$test_s" -v rc="$rc" '
    { if ($1 > d) d = $1; if ($2 > p) p = $2; if ($1 + $2 > t) t = $1 + $2; if ($3 > m) m = $3 }
    END {
        printf "lab build (this run, with the cache as it was): %d s\n", build
        printf "dev cluster test (3 lab hosts, init, joins, upgrade, removal, destroy): %d s, %s\n", test, (rc == 0 ? "passed" : "FAILED (see /tmp/kc-lab-bench.log)")
        printf "peak memory: daemons %.0f MiB, pods %.0f MiB, together %.0f MiB; MemAvailable fell by up to %.0f MiB\n", d / 1024, p / 1024, t / 1024, m / 1024
    }' "$samples"
