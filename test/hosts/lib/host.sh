#!/usr/bin/env bash
# Test hosts for the remote-step tests: each host is a network namespace (veth into the bridge
# kcbr0, 10.250.0.0/24), a UTS namespace (its own hostname) and a mount namespace in which /etc,
# /var/lib, /opt, /usr/local/bin, /root, /home, /run, /tmp, /var/tmp and /var/log are private,
# running Debian's real sshd on its address (/usr/local/sbin and /var/backups are private too).
# Recording stand-ins (test/hosts/standins/) replace the tools that cannot exist here (package
# manager, systemd, kernel knobs, kube binaries).
#
#   host.sh up ID IP OS --key PUBKEY_FILE [--hostname NAME] [--cpus 1] [--mem-mb N] [--uuid U]
#              [--swap yes|no] [--selinux enforcing|permissive|disabled]
#              [--containerd-version V] [--user NAME] [--cluster-dir DIR]
#              [--lab 1|2] [--cgroup-mem-mb N]
#        prints the host's "IP ssh-ed25519 AAAA..." known_hosts line
#        --lab: a lab host, which runs the real Kubernetes programs (test/lab/build.sh builds
#        them): containerd (1: Debian's 1.6, 2: the lab's 2.x) and the kubelet really run,
#        kubeadm, kubectl, crictl, runc and iptables are real; see the README's "Lab hosts".
#   host.sh down ID            stop and remove one host (and the bridge when it was the last)
#   host.sh cleanup            remove everything left by any earlier run (prefix "kcth")
#   host.sh exec ID CMD...     run CMD as root inside the host's namespaces (not through SSH)
#   host.sh pid ID             the host's sshd pid (its namespaces' anchor)
#   host.sh list               ids of the hosts that exist
#   host.sh system-standin ID TOOL
#                              the host's stand-in TOOL also answers at the real binary's path
#                              (/usr/bin/TOOL or /usr/sbin/TOOL, otherwise covered by an empty file),
#                              for a script that sets its own PATH=/usr/sbin:/usr/bin:/sbin:/bin
#   host.sh link ID down|up    takes the host's link into the bridge down (the host is unreachable:
#                              its processes keep running, nothing reaches them) or up again
#
# OS: centos7 rocky8 rocky9 alma9 (supported), ubuntu2204 centos6 (negative tests).
# Nothing here touches an address outside 10.250.0.0/24 and the hosts have no default route.
set -euo pipefail

PREFIX=kcth
ROOT=${KCTH_ROOT:-/tmp/kcth}
BRIDGE=kcbr0
BRIDGE_ADDR=10.250.0.1/24
LOCK=/run/kcth.lock
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDINS=$(cd "$HERE/../standins" && pwd)
# Tools the stand-ins replace (one file each under standins/).
STANDIN_TOOLS=(yum dnf rpm systemctl hostnamectl modprobe lsmod sysctl swapoff setenforce getenforce
    firewall-cmd chronyc containerd ctr crictl docker kubeadm kubectl kubelet ipvsadm iptables
    iptables-save ip6tables)
# Of those, the ones that are real on a lab host.
LAB_REAL_TOOLS=(containerd ctr crictl kubeadm kubectl kubelet iptables iptables-save ip6tables)
# Of those, the ones a package install puts on PATH (the rest are there from the start).
PACKAGED_TOOLS=(containerd ctr crictl docker kubeadm kubectl kubelet ipvsadm firewall-cmd chronyc
    iptables iptables-save ip6tables)

die() { echo "host.sh: $*" >&2; exit 1; }

with_lock() { mkdir -p "$(dirname "$LOCK")"; exec 9>"$LOCK"; flock 9; "$@"; flock -u 9; }

bridge_up() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
        ip link set "$BRIDGE" up
    fi
}

bridge_down_if_unused() {
    ip link show "$BRIDGE" >/dev/null 2>&1 || return 0
    if [ -z "$(ip -o link show master "$BRIDGE" 2>/dev/null)" ]; then
        ip link del "$BRIDGE" 2>/dev/null || true
    fi
}

check_id() { [[ $1 =~ ^[a-z0-9-]{1,10}$ ]] || die "host id '$1' must be 1-10 of [a-z0-9-]"; }

write_common_files() { # ETC: hosts, hostname and fstab as a fresh install has them
    local etc=$1
    cat >"$etc/hosts" <<'EOF'
127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4
::1         localhost localhost.localdomain localhost6 localhost6.localdomain6
EOF
    echo "localhost.localdomain" >"$etc/hostname"
    {
        cat <<'EOF'

#
# /etc/fstab
# Created by anaconda on Tue Jan 14 10:21:33 2025
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
/dev/mapper/rl-root     /                       xfs     defaults        0 0
UUID=3b1c5a4e-8f1e-4a5e-9d2a-0c6f1e2b7a10 /boot                   xfs     defaults        0 0
/dev/mapper/rl-home     /home                   xfs     defaults        0 0
EOF
        if [ "$SWAP" = yes ]; then
            echo "/dev/mapper/rl-swap     none                    swap    defaults        0 0"
        fi
    } >"$etc/fstab"
}

write_os_files() { # ETC OS
    local etc=$1 os=$2
    # (rm first: in the copy these may be symlinks into this machine's own files)
    rm -f "$etc/hosts" "$etc/hostname" "$etc/fstab" "$etc/chrony.conf" "$etc/resolv.conf" "$etc/selinux/config"
    rm -f "$etc/os-release" "$etc/debian_version" "$etc/lsb-release" "$etc/redhat-release" \
        "$etc/centos-release" "$etc/rocky-release" "$etc/almalinux-release" "$etc/system-release"
    case $os in
    centos7)
        cat >"$etc/os-release" <<'EOF'
NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"

EOF
        echo "CentOS Linux release 7.9.2009 (Core)" >"$etc/centos-release" ;;
    rocky8)
        cat >"$etc/os-release" <<'EOF'
NAME="Rocky Linux"
VERSION="8.10 (Green Obsidian)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="8.10"
PLATFORM_ID="platform:el8"
PRETTY_NAME="Rocky Linux 8.10 (Green Obsidian)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:8:GA"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2029-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-8"
ROCKY_SUPPORT_PRODUCT_VERSION="8.10"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="8.10"
EOF
        echo "Rocky Linux release 8.10 (Green Obsidian)" >"$etc/rocky-release" ;;
    rocky9)
        cat >"$etc/os-release" <<'EOF'
NAME="Rocky Linux"
VERSION="9.6 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.6"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.6 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
VENDOR_NAME="RESF"
VENDOR_URL="https://resf.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.6"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.6"
EOF
        echo "Rocky Linux release 9.6 (Blue Onyx)" >"$etc/rocky-release" ;;
    alma9)
        cat >"$etc/os-release" <<'EOF'
NAME="AlmaLinux"
VERSION="9.6 (Sage Margay)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.6"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.6 (Sage Margay)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-9"
ALMALINUX_MANTISBT_PROJECT_VERSION="9.6"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.6"
SUPPORT_END=2032-06-01
EOF
        echo "AlmaLinux release 9.6 (Sage Margay)" >"$etc/almalinux-release" ;;
    centos6)
        # CentOS 6 predates /etc/os-release in the distribution; admins' images often carry one.
        cat >"$etc/os-release" <<'EOF'
NAME="CentOS Linux"
VERSION="6 (Final)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="6"
PRETTY_NAME="CentOS Linux 6 (Final)"
EOF
        echo "CentOS release 6.10 (Final)" >"$etc/centos-release" ;;
    ubuntu2204)
        cat >"$etc/os-release" <<'EOF'
PRETTY_NAME="Ubuntu 22.04.5 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.5 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
EOF
        echo "bookworm/sid" >"$etc/debian_version"
        write_common_files "$etc"
        return 0 ;;
    *) die "unknown OS '$os'" ;;
    esac
    local rel
    rel=$(cat "$etc"/*-release)
    echo "$rel" >"$etc/redhat-release"
    echo "$rel" >"$etc/system-release"

    # RHEL-family files the scripts edit.
    mkdir -p "$etc/selinux" "$etc/sysconfig" "$etc/yum.repos.d" "$etc/sysctl.d" "$etc/modules-load.d"
    cat >"$etc/selinux/config" <<EOF

# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=$SELINUX_MODE
# SELINUXTYPE= can take one of three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted

EOF
    ln -sfn ../selinux/config "$etc/sysconfig/selinux"
    write_common_files "$etc"
    cat >"$etc/chrony.conf" <<'EOF'
# Use public servers from the pool.ntp.org project.
# Please consider joining the pool (https://www.pool.ntp.org/join.html).
pool 2.rhel.pool.ntp.org iburst

# Use NTP servers from DHCP.
sourcedir /run/chrony-dhcp

# Record the rate at which the system clock gains/losses time.
driftfile /var/lib/chrony/drift

# Allow the system clock to be stepped in the first three updates
# if its offset is larger than 1 second.
makestep 1.0 3

# Enable kernel synchronization of the real-time clock (RTC).
rtcsync

# Specify directory for log files.
logdir /var/log/chrony
EOF
    write_repos "$etc/yum.repos.d" "$os"
}

write_repos() { # DIR OS: the distribution's own repo files as a fresh install has them
    local d=$1 os=$2
    case $os in
    centos7)
        cat >"$d/CentOS-Base.repo" <<'EOF'
# CentOS-Base.repo
#
# The mirror system uses the connecting IP address of the client and the
# update status of each mirror to pick mirrors that are updated to and
# geographically close to the client.  You should use this for CentOS updates
# unless you are manually picking other mirrors.
#

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#released updates
[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that may be useful
[extras]
name=CentOS-$releasever - Extras
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=extras&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/extras/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
EOF
        ;;
    rocky8)
        cat >"$d/Rocky-BaseOS.repo" <<'EOF'
[baseos]
name=Rocky Linux $releasever - BaseOS
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/
gpgcheck=1
enabled=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-rockyofficial
EOF
        cat >"$d/Rocky-AppStream.repo" <<'EOF'
[appstream]
name=Rocky Linux $releasever - AppStream
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=AppStream-$releasever
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/AppStream/$basearch/os/
gpgcheck=1
enabled=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-rockyofficial
EOF
        ;;
    rocky9)
        cat >"$d/rocky.repo" <<'EOF'
[baseos]
name=Rocky Linux $releasever - BaseOS
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever$rltype
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/
gpgcheck=1
enabled=1
countme=1
metadata_expire=6h
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9

[appstream]
name=Rocky Linux $releasever - AppStream
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=AppStream-$releasever$rltype
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/AppStream/$basearch/os/
gpgcheck=1
enabled=1
countme=1
metadata_expire=6h
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9
EOF
        ;;
    alma9)
        cat >"$d/almalinux-baseos.repo" <<'EOF'
[baseos]
name=AlmaLinux $releasever - BaseOS
mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/baseos
# baseurl=https://repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/
enabled=1
gpgcheck=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9
metadata_expire=86400
enabled_metadata=1
EOF
        cat >"$d/almalinux-appstream.repo" <<'EOF'
[appstream]
name=AlmaLinux $releasever - AppStream
mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/appstream
# baseurl=https://repo.almalinux.org/almalinux/$releasever/AppStream/$basearch/os/
enabled=1
gpgcheck=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9
metadata_expire=86400
enabled_metadata=1
EOF
        ;;
    esac
}

write_standin_state() { # STATE OS
    local st=$1 os=$2 dist arch=x86_64
    mkdir -p "$st/rpm" "$st/units" "$st/modules" "$st/fail" "$st/sysctl" "$st/firewall" "$st/kube"
    : >"$st/journal"
    echo "$os" >"$st/os"
    echo "$CONTAINERD_VERSION" >"$st/containerd-version"
    case $SELINUX_MODE in
    enforcing) echo Enforcing ;; permissive) echo Permissive ;; *) echo Disabled ;;
    esac >"$st/selinux"
    case $os in centos7) dist=el7 ;; rocky8) dist=el8 ;; rocky9 | alma9) dist=el9 ;; *) return 0 ;; esac
    # Packages a minimal install has (name version-release).
    local p
    for p in "bash 5.1.8-9.$dist" "coreutils 8.32-39.$dist" "openssl 3.2.2-6.$dist" \
        "firewalld 1.3.4-9.$dist" "chrony 4.6.1-1.$dist" "tar 1.34-7.$dist" "curl 7.76.1-31.$dist" \
        "iproute 6.11.0-1.$dist" "policycoreutils 3.6-2.1.$dist" "openssh-server 8.7p1-45.$dist" \
        "iptables 1.8.10-11.$dist" "libselinux-utils 3.6-1.$dist"; do
        echo "${p%% *} ${p#* } $arch" >"$st/rpm/${p%% *}"
    done
    if [ "$os" = centos7 ]; then echo "yum 3.4.3-168.el7.centos noarch" >"$st/rpm/yum"
    else echo "dnf 4.14.0-25.$dist noarch" >"$st/rpm/dnf"; fi
    echo "enabled active" >"$st/units/firewalld.service"
    echo "enabled active" >"$st/units/chronyd.service"
    echo "enabled active" >"$st/units/sshd.service"
    for p in xfs dm_mod sd_mod virtio_net virtio_blk; do : >"$st/modules/$p"; done
}

# ---------------------------------------------------------------------------------------------
# Lab hosts (--lab): the real containerd, kubelet, kubeadm, kubectl, crictl, runc and iptables.

LAB_CACHE=${KC_LAB_CACHE:-/var/cache/kubeadm-cluster-lab}
LAB_VERSIONS=$HERE/../../lab/versions.env

is_lab_real() { [[ " ${LAB_REAL_TOOLS[*]} " == *" $1 "* ]]; }

lab_version() { sed -n "s/^$1=\"\(.*\)\"$/\1/p" "$LAB_VERSIONS"; }

lab_check() { # CONTAINERD(1|2): the lab build is there
    local want
    if [ "$1" = 1 ]; then want=$LAB_CACHE/containerd/debian/bin/containerd; else want=$LAB_CACHE/containerd/v$(lab_version KC_LAB_CONTAINERD2)/bin/containerd; fi
    [ -x "$want" ] || die "the lab is not built ($want is missing): run bash test/lab/build.sh"
    [ -x "$LAB_CACHE/containerd/debian/bin/runc" ] || die "the lab is not built (runc is missing): run bash test/lab/build.sh"
}

# The kubelet refuses a kernel that is not set as it expects unless it may set it itself; with
# protectKernelDefaults it only checks. Each lab host sees these values in place of this machine's
# (which no lab program may change: /proc/sys is read-only in the host but for its own net/).
LAB_KERNEL_DEFAULTS=(kernel/panic=10 kernel/panic_on_oops=1 vm/overcommit_memory=1 vm/panic_on_oom=0
    kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000)

# The cgroup hierarchies of this machine (v1 controllers and the v2 "unified" one).
cgroup_hierarchies() { awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts | grep '^/sys/fs/cgroup/'; }

# The lab hosts' cgroups: one root per host, below a base shared by all lab hosts that lies below
# this session's own memory cgroup (everything the pods use counts where this session's memory
# counts); the same path in every hierarchy, as the kubelet's cgroupRoot is one path.
lab_cgroup_base() {
    local base
    base=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    printf '%s/kcth' "${base%/}"
}

# cgroup_mkdir PARENT CHILD LIST: makes a cgroup and appends it to LIST; a cpuset (v1) group gets
# its parent's CPUs and memory nodes (it has none until given them).
cgroup_mkdir() {
    [ ! -d "$1/$2" ] || return 0
    mkdir "$1/$2"
    echo "$1/$2" >>"$3"
    if [ -f "$1/$2/cpuset.cpus" ]; then
        cat "$1/cpuset.cpus" >"$1/$2/cpuset.cpus"
        cat "$1/cpuset.mems" >"$1/$2/cpuset.mems"
    fi
}

lab_cgroups_base() { # the shared base, in every hierarchy (under the lock); made ones in $ROOT/.lab-cgroups
    local h path part
    for h in $(cgroup_hierarchies); do
        path=$h
        for part in $(lab_cgroup_base | tr '/' ' '); do
            cgroup_mkdir "$path" "$part" "$ROOT/.lab-cgroups"
            path=$path/$part
        done
    done
}

lab_cgroups_create() { # ID DIR MEM_MB: the host's root in every hierarchy; recorded in DIR/cgroups
    local id=$1 d=$2 mem=$3 h path
    mkdir -p "$ROOT"
    with_lock lab_cgroups_base
    echo "$(lab_cgroup_base)/$id" >"$d/cgroup-root"
    : >"$d/cgroups"
    for h in $(cgroup_hierarchies); do
        path=$h$(lab_cgroup_base)
        cgroup_mkdir "$path" "$id" "$d/cgroups"
        if [ -f "$path/$id/memory.limit_in_bytes" ]; then echo $((mem * 1024 * 1024)) >"$path/$id/memory.limit_in_bytes"; fi
    done
}

# lab_cgroups_base_remove: the shared base's groups this harness made, once no lab host uses them.
lab_cgroups_base_remove() {
    local p keep=()
    [ -f "$ROOT/.lab-cgroups" ] || return 0
    while read -r p; do
        rmdir "$p" 2>/dev/null || [ ! -d "$p" ] || keep+=("$p")
    done < <(tac "$ROOT/.lab-cgroups")
    if [ "${#keep[@]}" -eq 0 ]; then rm -f "$ROOT/.lab-cgroups"; else printf '%s\n' "${keep[@]}" | tac >"$ROOT/.lab-cgroups"; fi
}

# lab_cgroups_remove DIR: removes the host's root (and what the kubelet and runc made below it),
# deepest first, once the host's processes are gone; then the shared base when it is unused.
lab_cgroups_remove() {
    local d=$1 p left=""
    [ -f "$d/cgroups" ] || return 0
    for _ in $(seq 1 100); do
        while read -r p; do
            if [ -d "$p" ]; then find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
        done <"$d/cgroups"
        left=""
        while read -r p; do [ ! -d "$p" ] || left+=" $p"; done <"$d/cgroups"
        [ -n "$left" ] || break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        echo "host.sh: could not remove the cgroups$left (processes left in them?)" >&2
    else
        rm -f "$d/cgroups"
    fi
    with_lock lab_cgroups_base_remove
}

lab_prepare() { # ID DIR CONTAINERD(1|2)
    local id=$1 d=$2 lab=$3 st=$2/varlib/kc-standin kv
    echo "$lab" >"$d/lab"
    awk '($3 == "cgroup" || $3 == "cgroup2") && $2 ~ /^\/sys\/fs\/cgroup\// { print }' /proc/self/mounts >"$d/cgroup-mounts"
    {
        echo "cache=$LAB_CACHE"
        echo "containerd=$lab"
        echo "containerd2=$(lab_version KC_LAB_CONTAINERD2)"
    } >"$st/lab"
    # What containerd.io "installs" here, and so what `containerd --version` will say.
    KCS_STATE=$st bash -c '. "$1" && lab_containerd_version' lab "$STANDINS/lab.sh" >"$st/containerd-version"
    install -m 755 "$STANDINS/kc-lab-unit" "$d/usrlocalbin/kc-lab-unit"
    install -m 755 "$STANDINS/kc-lab-kubeadm" "$d/usrlocalbin/kc-lab-kubeadm"
    lab_cgroups_create "$id" "$d" "$CGROUP_MEM_MB"
    # The lab's deviations, read by kc-lab-kubeadm (test/hosts/README.md says why each is needed).
    mkdir -p "$d/etc/kc-lab/kubeadm-patches"
    cat >"$d/etc/kc-lab/kubeadm-patches/kubeletconfiguration+merge.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: $(cat "$d/cgroup-root")
protectKernelDefaults: true
oomScoreAdj: 0
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
resolvConf: /etc/kc-lab/resolv.conf
EOF
    # Pods with dnsPolicy Default (CoreDNS) need a name server to forward to: an address on the
    # test bridge that no test host has, so nothing answers and nothing leaves the bridge.
    printf 'nameserver 10.250.0.254\n' >"$d/etc/kc-lab/resolv.conf"
    for kv in "${LAB_KERNEL_DEFAULTS[@]}"; do
        mkdir -p "$d/fake/sys/$(dirname "${kv%%=*}")"
        printf '%s\n' "${kv#*=}" >"$d/fake/sys/${kv%%=*}"
    done
    # kube-proxy's pod mounts the host's /lib/modules; this kernel has no modules and this
    # machine no such directory (it stays empty).
    [ -d /usr/lib/modules ] || mkdir -p /usr/lib/modules
}

# In the lab host's new mount namespace, after /proc/sys became read-only: the host's own
# network sysctls writable again, the kernel values the kubelet checks, and this machine's cgroup
# hierarchies (`ip netns exec` gave the host a /sys of its own, for its network devices, without them).
lab_inside_proc() { # DIR
    local d=$1 kv dev dir type opts _
    mount -t tmpfs -o mode=755 kcth-cgroup /sys/fs/cgroup
    while read -r dev dir type opts _; do
        mkdir -p "$dir"
        mount -t "$type" -o "$opts" "$dev" "$dir"
    done <"$d/cgroup-mounts"
    mount --bind /proc/sys/net /proc/sys/net
    mount -o remount,bind,rw /proc/sys/net
    for kv in "${LAB_KERNEL_DEFAULTS[@]}"; do
        mount --bind "$d/fake/sys/${kv%%=*}" "/proc/sys/${kv%%=*}"
        mount -o remount,bind,ro "/proc/sys/${kv%%=*}"
    done
}

cmd_up() {
    local id=$1 ip=$2 os=$3
    shift 3
    check_id "$id"
    if ! [[ $ip =~ ^10\.250\.0\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] < 2 || BASH_REMATCH[1] > 254)); then
        die "address $ip must be 10.250.0.2-254"
    fi
    local hostname=$id cpus=0 mem_mb=4096 uuid key="" user="" cluster_dir="" lab="" mem_given=""
    CGROUP_MEM_MB=3072
    SWAP=yes SELINUX_MODE=enforcing CONTAINERD_VERSION=1.7.27
    uuid=$(cat /proc/sys/kernel/random/uuid)
    while [ $# -gt 0 ]; do
        case $1 in
        --hostname) hostname=$2 ;;
        --cpus) cpus=$2 ;;
        --mem-mb) mem_mb=$2 mem_given=1 ;;
        --uuid) uuid=$2 ;;
        --swap) SWAP=$2 ;;
        --selinux) SELINUX_MODE=$2 ;;
        --containerd-version) CONTAINERD_VERSION=$2 ;;
        --key) key=$2 ;;
        --user) user=$2 ;;
        --cluster-dir) cluster_dir=$2 ;;
        --lab) lab=$2 ;;
        --cgroup-mem-mb) CGROUP_MEM_MB=$2 ;;
        *) die "unknown option $1" ;;
        esac
        shift 2
    done
    if [ -z "$key" ] || [ ! -f "$key" ]; then die "--key PUBKEY_FILE is required"; fi
    [[ -z $lab || $lab == 1 || $lab == 2 ]] || die "--lab takes 1 (Debian's containerd 1.6) or 2 (the lab's containerd 2.x)"
    [ -z "$lab" ] || lab_check "$lab"
    # A lab host's kubelet counts the machine's memory use (cAdvisor reads the root memory cgroup)
    # against its /proc/meminfo: show it this machine's real total, or it reports memory pressure.
    if [ -n "$lab" ] && [ -z "$mem_given" ]; then mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo); fi
    local ns=$PREFIX-$id veth=$PREFIX-$id d=$ROOT/$id other
    [ ! -e "/run/netns/$ns" ] || die "host $id already exists"
    for other in "$ROOT"/*/ip; do
        [ -f "$other" ] || continue
        if [ "$(cat "$other")" = "$ip" ]; then
            die "address $ip is taken by test host $(basename "$(dirname "$other")") (a leftover of a crashed run? bash $HERE/host.sh cleanup removes it)"
        fi
    done
    rm -rf "$d"
    mkdir -p "$d"/{fake,varlib,opt,usrlocalbin,root/.ssh,home}
    # (day-2 steps write /usr/local/sbin/kubeadm-cluster-etcd-backup and snapshots below /var/backups)
    mkdir -p "$d"/{usrlocalsbin,varbackups}
    chmod 700 "$d/root" "$d/root/.ssh"
    echo "$ip" >"$d/ip"
    echo "$hostname" >"$d/hostname"
    echo "$os" >"$d/os"

    # Private /etc: a copy of this machine's, without its SSH host keys, made to look like $os.
    cp -a /etc "$d/etc"
    rm -f "$d"/etc/ssh/ssh_host_*
    rm -rf "$d/etc/ssh/sshd_config.d"
    write_os_files "$d/etc" "$os"
    # No name server (the hosts have no route out); names resolve from /etc/hosts and, as on
    # RHEL, the own hostname through nss-myhostname.
    printf '# test host: no name server\n' >"$d/etc/resolv.conf"
    sed -i 's/^hosts:.*/hosts:      files dns myhostname/' "$d/etc/nsswitch.conf"
    ssh-keygen -q -t ed25519 -N '' -C "$id" -f "$d/etc/ssh/ssh_host_ed25519_key"
    cat >"$d/etc/ssh/sshd_config" <<EOF
# Test host $id ($os)
ListenAddress $ip:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
PidFile /run/sshd.pid
MaxStartups 100:30:200
MaxSessions 100
PrintMotd no
# The program ships the step files over SFTP (CopyToRemote), as to a real host.
Subsystem sftp internal-sftp
LogLevel INFO
EOF
    install -m 600 "$key" "$d/root/.ssh/authorized_keys"

    # Fakes for what the scripts read from the kernel.
    printf '%s\n' "$uuid" >"$d/fake/product_uuid"
    local mem_kb=$((mem_mb * 1024))
    cat >"$d/fake/meminfo" <<EOF
MemTotal:       $(printf '%8d' "$mem_kb") kB
MemFree:        $(printf '%8d' $((mem_kb / 2))) kB
MemAvailable:   $(printf '%8d' $((mem_kb * 3 / 4))) kB
Buffers:            2104 kB
Cached:           612340 kB
SwapCached:            0 kB
SwapTotal:       4194300 kB
SwapFree:        4194300 kB
EOF
    {
        printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'
        if [ "$SWAP" = yes ]; then printf '/dev/dm-1                               partition\t4194300\t\t0\t\t-2\n'; fi
    } >"$d/fake/swaps"

    # Stand-ins and their state. Packaged tools wait in the state's bin/ until installed.
    local t st=$d/varlib/kc-standin
    write_standin_state "$st" "$os"
    mkdir -p "$st/bin"
    for t in "${PACKAGED_TOOLS[@]}"; do
        if [ -n "$lab" ] && is_lab_real "$t"; then continue; fi
        install -m 755 "$STANDINS/$t" "$st/bin/$t"
    done
    local base=(rpm yum dnf systemctl hostnamectl modprobe lsmod sysctl swapoff setenforce getenforce)
    case $os in
    centos7 | centos6) base=(rpm yum systemctl hostnamectl modprobe lsmod sysctl swapoff setenforce getenforce) ;;
    ubuntu2204) base=(systemctl hostnamectl modprobe lsmod sysctl swapoff) ;;
    esac
    for t in "${base[@]}"; do install -m 755 "$STANDINS/$t" "$d/usrlocalbin/$t"; done
    local pkg
    for pkg in firewalld chrony iptables; do
        [ -f "$st/rpm/$pkg" ] || continue
        case $pkg in firewalld) t=firewall-cmd ;; chrony) t=chronyc ;; *) t="iptables iptables-save ip6tables" ;; esac
        for t in $t; do
            if [ -n "$lab" ] && is_lab_real "$t"; then continue; fi
            install -m 755 "$STANDINS/$t" "$d/usrlocalbin/$t"
        done
    done
    install -m 644 "$STANDINS/lib.sh" "$d/usrlocalbin/kc-standin-lib.sh"
    install -m 644 "$STANDINS/pkg.sh" "$d/usrlocalbin/kc-standin-pkg.sh"
    install -m 644 "$STANDINS/kube.sh" "$d/usrlocalbin/kc-standin-kube.sh"
    install -m 755 "$STANDINS/kc-standin-api" "$d/usrlocalbin/kc-standin-api"
    install -m 644 "$STANDINS/lab.sh" "$d/usrlocalbin/kc-standin-lab.sh"
    [ -z "$lab" ] || lab_prepare "$id" "$d" "$lab"
    : >"$d/fake/hidden"
    chmod 644 "$d/fake/hidden"
    echo "$hostname" >"$d/varlib/kc-standin/node-name"
    mkdir -p "$d/varlib/kc-standin/cluster"
    [ -z "$cluster_dir" ] || echo "$cluster_dir" >"$d/cluster-dir"

    # Network: netns, veth eth0 inside, the other end in the bridge.
    with_lock bridge_up
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up

    # Start: enter the netns, new mount + UTS namespaces, set up, exec sshd (its pid is the anchor).
    local taskset=()
    [ "$cpus" = 1 ] && taskset=(taskset -c 0)
    if [ -n "$lab" ]; then
        # A lab host has its own PID namespace too: its daemons and containers can signal nothing
        # outside it, and they all end with its first process (which then holds sshd).
        ip netns exec "$ns" unshare -m -u -p -f --mount-proc --propagation private -- \
            "${taskset[@]}" bash "$HERE/host.sh" _inside "$id" "$hostname" "$user" \
            >"$d/sshd.log" 2>&1 </dev/null 9>&- &
        local unshare_pid=$! first="" i
        for i in $(seq 1 100); do
            first=$(awk '{print $1}' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null)
            [ -n "$first" ] && break
            sleep 0.02
        done
        [ -n "$first" ] || die "host $id: its PID namespace did not start"
        echo "$first" >"$d/pid"
        echo "$unshare_pid" >"$d/unshare.pid"
    else
        ip netns exec "$ns" unshare -m -u --propagation private -- \
            "${taskset[@]}" bash "$HERE/host.sh" _inside "$id" "$hostname" "$user" \
            >"$d/sshd.log" 2>&1 </dev/null 9>&- &
        echo $! >"$d/pid"
    fi
    local end=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$end" ]; do
        if (exec 3<>"/dev/tcp/$ip/22") 2>/dev/null; then
            echo "$ip $(cut -d' ' -f1-2 "$d/etc/ssh/ssh_host_ed25519_key.pub")"
            return 0
        fi
        if ! kill -0 "$(cat "$d/pid")" 2>/dev/null; then
            wait "$(cat "$d/pid")" 2>/dev/null; echo "host $id: sshd exited with status $?" >&2
            break
        fi
        sleep 0.05
    done
    cat "$d/sshd.log" >&2
    { ip -br link show master "$BRIDGE"; ip -br addr show "$BRIDGE"; ip -n "$ns" -br addr; ip neigh show dev "$BRIDGE"; } >&2 2>&1 || true
    die "host $id: sshd did not come up on $ip:22"
}

# Runs inside the new namespaces (as the future sshd's own process).
cmd_inside() {
    local id=$1 hostname=$2 user=$3 d=$ROOT/$1
    hostname "$hostname"
    mount --make-rprivate /
    mount --bind "$d/etc" /etc
    mount --bind "$d/varlib" /var/lib
    mount --bind "$d/opt" /opt
    mount --bind "$d/usrlocalbin" /usr/local/bin
    mount --bind "$d/root" /root
    mount --bind "$d/home" /home
    mkdir -p /usr/local/sbin /var/backups
    mount --bind "$d/usrlocalsbin" /usr/local/sbin
    mount --bind "$d/varbackups" /var/backups
    if [ -f "$d/cluster-dir" ]; then mount --bind "$(cat "$d/cluster-dir")" /var/lib/kc-standin/cluster; fi
    # Stood-in tools that also exist on this machine (systemctl, sysctl, swapoff, kubectl, ...):
    # cover the real binaries with an empty non-executable file, so only the stand-in on PATH
    # answers and nothing here can touch this machine's kernel, units or firewall.
    local t real lab=""
    [ ! -f "$d/lab" ] || lab=$(cat "$d/lab")
    for t in "${STANDIN_TOOLS[@]}"; do
        if [ -n "$lab" ] && is_lab_real "$t"; then continue; fi
        for real in /usr/bin/$t /usr/sbin/$t; do
            [ -e "$real" ] || continue
            real=$(readlink -f "$real")
            if [ -f "$real" ]; then mount --bind "$d/fake/hidden" "$real"; fi
        done
    done
    mount --bind "$d/fake/meminfo" /proc/meminfo
    mount --bind "$d/fake/swaps" /proc/swaps
    mount --bind /proc/sys /proc/sys
    mount -o remount,bind,ro /proc/sys
    if [ -n "$lab" ]; then
        lab_inside_proc "$d"
    else
        # The cgroup layout the OS boots with: EL9 the unified hierarchy (cgroup v2) at
        # /sys/fs/cgroup, EL7 and EL8 cgroup v1 (`ip netns exec` left /sys/fs/cgroup an empty
        # directory of the host's own /sys; this machine's unified hierarchy is mounted there for EL9).
        case $(cat "$d/os") in rocky9 | alma9) mount -t cgroup2 kcth-cgroup2 /sys/fs/cgroup ;; esac
    fi
    # /sys/class: a tmpfs holding the real classes (net shows this netns) plus dmi/id/product_uuid.
    mkdir -p "$d/sysclass"
    mount --bind /sys/class "$d/sysclass"
    mount -t tmpfs -o mode=755 kcth-sysclass /sys/class
    local c
    for c in "$d"/sysclass/*; do
        mkdir -p "/sys/class/${c##*/}"
        mount --bind "$c" "/sys/class/${c##*/}"
    done
    umount -l "$d/sysclass"
    mkdir -p /sys/class/dmi/id
    install -m 444 "$d/fake/product_uuid" /sys/class/dmi/id/product_uuid
    mount -o remount,ro /sys/class
    mount -t tmpfs -o mode=755 kcth-run /run
    mkdir -p /run/sshd /run/lock
    mount -t tmpfs -o mode=1777 kcth-tmp /tmp
    mount -t tmpfs -o mode=1777 kcth-vartmp /var/tmp
    mount -t tmpfs -o mode=755 kcth-varlog /var/log
    if [ -n "$user" ]; then
        useradd -m -s /bin/bash "$user"
        usermod -p '*' "$user"
        mkdir -p "/home/$user/.ssh"
        cp /root/.ssh/authorized_keys "/home/$user/.ssh/authorized_keys"
        chown -R "$user:$user" "/home/$user/.ssh"
        chmod 700 "/home/$user/.ssh"
        echo "$user ALL=(ALL) NOPASSWD: ALL" >"/etc/sudoers.d/$user"
        chmod 440 "/etc/sudoers.d/$user"
    fi
    if [ -z "$lab" ]; then exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config; fi
    # PID 1 of a lab host: sshd is its child, and it reaps every orphan (daemons the host's sessions
    # started, containers' shims); when sshd ends, so does the host.
    /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config &
    local sshd=$!
    trap 'kill -TERM "$sshd" 2>/dev/null' TERM
    while kill -0 "$sshd" 2>/dev/null; do wait "$sshd" || true; done
}

kill_host_procs() { # NS
    local ns=$1 pids i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086 # a list of pids
        if [ "$i" -lt 5 ]; then kill $pids 2>/dev/null || true; else kill -9 $pids 2>/dev/null || true; fi
        sleep 0.1
    done
}

# kill_pid_namespace DIR: a lab host's first process (recorded in DIR/pid) killed: the kernel then
# kills every process of its PID namespace, containers included, wherever their network namespace.
kill_pid_namespace() {
    local d=$1 pid i
    [ -f "$d/lab" ] && [ -f "$d/pid" ] || return 0
    pid=$(cat "$d/pid")
    kill -9 "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}

cmd_down() {
    local id=$1 ns=$PREFIX-$1
    check_id "$id"
    kill_pid_namespace "$ROOT/$id"
    if [ -e "/run/netns/$ns" ]; then
        kill_host_procs "$ns"
        ip netns del "$ns" 2>/dev/null || true
    fi
    ip link del "$PREFIX-$id" 2>/dev/null || true
    if [ -f "$ROOT/$id/pid" ]; then kill -9 "$(cat "$ROOT/$id/pid")" 2>/dev/null || true; fi
    lab_cgroups_remove "$ROOT/$id"
    rm -rf "${ROOT:?}/$id"
    with_lock bridge_down_if_unused
}

cmd_cleanup() {
    local ns id l
    if [ -d "$ROOT" ]; then
        for id in "$ROOT"/*/; do [ -d "$id" ] && kill_pid_namespace "${id%/}"; done
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
        kill_host_procs "$ns"
        ip netns del "$ns" 2>/dev/null || true
    done
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$PREFIX-" || true); do
        ip link del "$l" 2>/dev/null || true
    done
    if [ -d "$ROOT" ]; then
        for id in "$ROOT"/*/; do
            [ -d "$id" ] || continue
            if [ -f "$id/pid" ]; then kill -9 "$(cat "$id/pid")" 2>/dev/null || true; fi
            lab_cgroups_remove "${id%/}"
        done
        rm -rf "${ROOT:?}"/*
        with_lock lab_cgroups_base_remove
    fi
    with_lock bridge_down_if_unused
}

cmd_pid() { check_id "$1"; cat "$ROOT/$1/pid"; }

cmd_exec() {
    local id=$1
    shift
    check_id "$id"
    nsenter -t "$(cat "$ROOT/$id/pid")" -m -u -n -p -- "$@"
}

cmd_link() { # ID down|up: the bridge side of the host's veth
    local id=$1 state=$2
    check_id "$id"
    [[ $state == up || $state == down ]] || die "usage: host.sh link ID down|up"
    ip link show "$PREFIX-$id" >/dev/null 2>&1 || die "host $id has no link $PREFIX-$id"
    ip link set "$PREFIX-$id" "$state"
    # down: forget its MAC here too, as once a powered-off host's entry has aged out (connections
    # then fail with "No route to host" after ARP gives up, instead of waiting for a timeout)
    if [ "$state" = down ] && [ -f "$ROOT/$id/ip" ]; then ip neigh flush to "$(cat "$ROOT/$id/ip")" dev "$BRIDGE" 2>/dev/null || true; fi
}

cmd_system_standin() { # ID TOOL
    local id=$1 tool=$2 real found=""
    check_id "$id"
    [[ " ${STANDIN_TOOLS[*]} " == *" $tool "* ]] || die "$tool is not one of the stood-in tools (${STANDIN_TOOLS[*]})"
    [ -f "$ROOT/$id/pid" ] || die "no host $id"
    for real in /usr/bin/$tool /usr/sbin/$tool; do
        [ -e "$real" ] || continue
        real=$(readlink -f "$real")
        [ -f "$real" ] || continue
        # Inside the host's mount namespace only: this machine's $real is untouched.
        nsenter -t "$(cat "$ROOT/$id/pid")" -m -- mount --bind "/usr/local/bin/$tool" "$real" ||
            die "host $id: could not put the stand-in $tool at $real (is it on the host's PATH yet?)"
        found=1
    done
    [ -n "$found" ] || die "this machine has no /usr/bin/$tool or /usr/sbin/$tool for the host's stand-in to answer at (a test host adds no file to the shared /usr; install the package that ships $tool)"
}

cmd_list() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" | sed "s/^$PREFIX-//" || true; }

[ "$(id -u)" = 0 ] || die "must run as root"
case ${1:-} in
up) shift; [ $# -ge 3 ] || die "usage: host.sh up ID IP OS [options]"; cmd_up "$@" ;;
_inside) shift; cmd_inside "$@" ;;
down) shift; [ $# -eq 1 ] || die "usage: host.sh down ID"; cmd_down "$1" ;;
cleanup) cmd_cleanup ;;
exec) shift; [ $# -ge 2 ] || die "usage: host.sh exec ID CMD..."; cmd_exec "$@" ;;
pid) cmd_pid "$2" ;;
list) cmd_list ;;
system-standin) [ $# -eq 3 ] || die "usage: host.sh system-standin ID TOOL"; cmd_system_standin "$2" "$3" ;;
link) [ $# -eq 3 ] || die "usage: host.sh link ID down|up"; cmd_link "$2" "$3" ;;
*) die "usage: host.sh up|down|cleanup|exec|pid|list ..." ;;
esac
