#!/usr/bin/env bash
# Runs the real-Kubernetes lab tests (test/lab/*.lab.test.ts) in one jest process, after building
# the lab (test/lab/build.sh: instant when its cache is current). Fails, never skips, when the lab
# cannot be built or what the lab hosts need is missing. Removes what an earlier crashed run left
# (test hosts, prefix kcth) before starting and whatever is left when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (lab hosts are network, UTS, mount and PID namespaces with their own cgroups)")
for tool in go gcc sshd ssh ip unshare nsenter flock setsid socat iptables nft conntrack ethtool ebtables npx; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "test/lab/run.sh: cannot run the lab tests; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "install with: bash test/prereqs.sh (as root), and Go 1.26 for the lab build" >&2
    exit 1
fi

bash test/lab/build.sh
bash test/hosts/lib/host.sh cleanup
trap 'bash test/hosts/lib/host.sh cleanup' EXIT
npx jest test/lab --runInBand "$@"
