#!/usr/bin/env bash
# Runs the host tests (test/hosts/*.test.ts) in one jest process. Installs nothing: checks what
# the test hosts need and fails loudly, never skips, when something is missing. Removes what an
# earlier crashed run left (prefix kcth) before starting and whatever is left when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (the test hosts are network, UTS and mount namespaces)")
for tool in sshd ssh ssh-keygen ip unshare nsenter flock setsid socat openssl perl sudo awk npx keepalived haproxy curl; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
# The API server stand-in of the high-availability test runs inside test hosts, whose private /root
# hides per-user interpreters: Debian's own python3.
[ -x /usr/bin/python3 ] || missing+=("python3 (/usr/bin/python3)")
# keepalived's check script sets PATH=/usr/sbin:/usr/bin:/sbin:/bin; the systemctl stand-in answers
# there by covering this machine's /usr/bin/systemctl inside the host (host.sh system-standin).
[ -e /usr/bin/systemctl ] || [ -e /usr/sbin/systemctl ] || missing+=("systemctl (package systemd: a test host covers /usr/bin/systemctl with its stand-in)")
if ! awk --version 2>/dev/null | grep -q 'GNU Awk'; then
    missing+=("gawk (the hosts play RHEL, whose awk is GNU awk)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "test/hosts/run.sh: cannot run the host tests; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "install with: apt-get install -y openssh-server openssh-client iproute2 util-linux socat openssl perl sudo gawk libnss-myhostname keepalived haproxy python3 curl systemd" >&2
    exit 1
fi

bash test/hosts/lib/host.sh cleanup
trap 'bash test/hosts/lib/host.sh cleanup' EXIT
npx jest test/hosts --runInBand "$@"
