#!/usr/bin/env bash
# Installs the Debian packages the tests need (sshd and ip for the test hosts, shellcheck and
# bats for the scripts, the real keepalived and haproxy with python3 and curl for the
# high-availability host test, systemd for the /usr/bin/systemctl a test host covers with its
# stand-in; for the real-Kubernetes lab: iptables and nftables (real in lab hosts and in the
# kube-proxy image), the tools kubeadm's preflight looks for (conntrack, ethtool, ebtables), and
# libc6-dev for the static pause binary) when they are missing. Runs before `npm test`.
set -euo pipefail

packages=(openssh-server openssh-client iproute2 shellcheck bats sudo util-linux procps socat openssl perl gawk libnss-myhostname
    keepalived haproxy python3 curl systemd iptables nftables conntrack ethtool ebtables libc6-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need these Debian packages: ${missing[*]}." >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}   (the host tests also need root: sudo npm test)" >&2
    exit 1
fi
echo "Installing test prerequisites: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
