#!/usr/bin/env bash
# Step prep-system: hostname, the managed block of /etc/hosts, swap off, SELinux permissive, kernel
# modules, sysctl, NetworkManager kept off the CNI interfaces, CentOS 7 vault repos, base packages.

readonly HOSTS_BEGIN="# BEGIN kubeadm-cluster"
readonly HOSTS_END="# END kubeadm-cluster"
readonly MODULES_FILE=/etc/modules-load.d/kubeadm-cluster.conf
readonly SYSCTL_FILE=/etc/sysctl.d/90-kubeadm-cluster.conf
readonly NM_FILE=/etc/NetworkManager/conf.d/kubeadm-cluster.conf
readonly CENTOS7_REPO=/etc/yum.repos.d/CentOS-Base.repo
# The last CentOS 7 release; its tree on the vault holds os/, updates/, extras/ ...
readonly CENTOS7_RELEASE=7.9.2009
readonly VAULT_NOTE="# kubeadm-cluster: mirrorlist.centos.org is gone, so the baseurls point at the vault; the original is CentOS-Base.repo.kubeadm-cluster.bak"

# mode_of PATH: PATH's permission bits, 644 when it does not exist (edited files keep their mode).
mode_of() { stat -c %a "$1" 2>/dev/null || echo 644; }

set_hostname() {
    local static=""
    if [[ -r /etc/hostname ]]; then static=$(tr -d '[:space:]' </etc/hostname); fi
    # Both the static name (kept across reboots) and the running one must match.
    if [[ $static == "$KC_HOSTNAME" && $(uname -n) == "$KC_HOSTNAME" ]]; then return 0; fi
    run hostnamectl set-hostname "$KC_HOSTNAME" || die "could not set the hostname of $KC_HOST to $KC_HOSTNAME"
    log "hostname set to $KC_HOSTNAME"
}

# hosts_with_block FILE BLOCK: FILE with the managed block holding BLOCK, in place of the old block
# or appended; every other line as it was. An empty BLOCK removes the block.
hosts_with_block() {
    KC_BLOCK=$2 awk -v begin="$HOSTS_BEGIN" -v end="$HOSTS_END" '
        BEGIN {
            block = ENVIRON["KC_BLOCK"]
            if (block != "") {
                if (block !~ /\n$/) block = block "\n"
                block = begin "\n" block end "\n"
            }
        }
        $0 == begin { if (!done) printf "%s", block; done = 1; skip = 1; next }
        skip { if ($0 == end) skip = 0; next }
        { print }
        END { if (!done) printf "%s", block }' "$1"
}

# warn_stale_hosts FILE BLOCK: names of the block that other lines of FILE give another address.
warn_stale_hosts() {
    local addr name others
    while read -r addr name _; do
        [[ -n $name ]] || continue
        others=$(awk -v begin="$HOSTS_BEGIN" -v end="$HOSTS_END" -v n="$name" -v a="$addr" '
            $0 == begin { skip = 1 } $0 == end { skip = 0; next } skip || /^[[:space:]]*#/ { next }
            { for (i = 2; i <= NF; i++) if ($i == n && $1 != a) print $1 }' "$1")
        if [[ -n $others ]]; then
            log "WARNING: /etc/hosts also maps $name to $(echo "$others" | tr '\n' ' ')outside the kubeadm-cluster block; remove that line so $name resolves to $addr"
        fi
    done <<<"$2"
}

update_hosts() {
    local file=/etc/hosts begins ends
    b64d KC_HOSTS_ENTRIES_B64
    [[ -f $file ]] || : >"$file"
    begins=$(grep -cxF "$HOSTS_BEGIN" "$file" || true)
    ends=$(grep -cxF "$HOSTS_END" "$file" || true)
    [[ $begins == "$ends" && $begins -le 1 ]] ||
        die "/etc/hosts on $KC_HOST has a broken kubeadm-cluster block ($begins '$HOSTS_BEGIN' and $ends '$HOSTS_END' lines): remove those lines and the entries between them, then run again"
    write_file "$file" "$(mode_of "$file")" < <(hosts_with_block "$file" "$DECODED")
    warn_stale_hosts "$file" "$DECODED"
}

# fstab_without_swap FILE: FILE with every active swap entry (type field "swap") commented out.
fstab_without_swap() {
    awk '$1 !~ /^#/ && $3 == "swap" { print "#" $0; next } { print }' "$1"
}

swap_off() {
    # /proc/swaps has a header line, then one line per active swap area.
    if awk 'NR > 1 && NF { found = 1 } END { exit !found }' /proc/swaps; then
        run swapoff -a || die "swapoff -a failed on $KC_HOST: the kubelet does not start with swap on"
        log "swap turned off"
    fi
    if [[ -f /etc/fstab ]] && awk '$1 !~ /^#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab; then
        write_file /etc/fstab "$(mode_of /etc/fstab)" < <(fstab_without_swap /etc/fstab)
    fi
}

# selinux_config_permissive FILE: FILE with SELINUX=enforcing turned into permissive.
selinux_config_permissive() {
    sed -E 's/^SELINUX=enforcing([[:space:]].*)?$/SELINUX=permissive/' "$1"
}

selinux_permissive() {
    if command -v getenforce >/dev/null 2>&1 && [[ $(getenforce) == Enforcing ]]; then
        run setenforce 0 || die "setenforce 0 failed on $KC_HOST"
        log "SELinux set to permissive for now"
    fi
    # A "disabled" setting stays disabled; only enforcing changes.
    local cfg=/etc/selinux/config
    if [[ -f $cfg ]] && grep -qE '^SELINUX=enforcing([[:space:]]|$)' "$cfg"; then
        write_file "$cfg" "$(mode_of "$cfg")" < <(selinux_config_permissive "$cfg")
    fi
}

load_modules() {
    local m mods=() loaded
    for m in $KC_MODULES; do
        # The generic conntrack name stands for the module this family's kernel needs.
        if [[ $m == nf_conntrack ]]; then m=$CONNTRACK_MODULE; fi
        mods+=("$m")
    done
    write_file "$MODULES_FILE" 0644 < <(printf '%s\n' "$MANAGED_HEADER" "${mods[@]}")
    loaded=$(lsmod | awk 'NR > 1 { print $1 }')
    for m in "${mods[@]}"; do
        if grep -qxF "${m//-/_}" <<<"$loaded"; then continue; fi
        run modprobe "$m" ||
            die "kernel module $m does not load on $KC_HOST: install the kernel-modules (kernel-modules-extra on EL9) package of the running kernel $(uname -r), or reboot into the newest kernel, then run again"
        log "loaded kernel module $m"
    done
}

apply_sysctl() {
    b64d KC_SYSCTL_B64
    write_file "$SYSCTL_FILE" 0644 < <(printf '%s' "$DECODED")
    pending sysctl-apply "$FILE_CHANGED" || return 0
    if ! run sysctl --system; then
        die "sysctl --system failed on $KC_HOST (see above): fix the setting it names (stack config sysctl, or a file in /etc/sysctl.d), then run again"
    fi
    pending_done sysctl-apply
}

# Calico and Flannel manage their interfaces themselves; NetworkManager must leave them alone.
networkmanager_unmanaged() {
    [[ -d /etc/NetworkManager/conf.d ]] || return 0
    write_file "$NM_FILE" 0644 <<EOF
$MANAGED_HEADER
[keyfile]
unmanaged-devices=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico;interface-name:wireguard.cali;interface-name:wg-v6.cali;interface-name:flannel*;interface-name:cni0
EOF
    if ((FILE_CHANGED)) && svc_active NetworkManager; then
        run systemctl reload NetworkManager || log "NetworkManager did not reload; it reads $NM_FILE at its next start"
    fi
}

# centos7_vault_repo FILE: the CentOS 7 repo file with mirrorlist lines commented out and the
# mirror.centos.org baseurls moved to the vault.
centos7_vault_repo() {
    KC_VAULT="${KC_CENTOS7_VAULT_URL%/}/$CENTOS7_RELEASE" awk -v note="$VAULT_NOTE" '
        NR == 1 { print note }
        /^mirrorlist=.*mirrorlist\.centos\.org/ { print "#" $0; next }
        /^#?baseurl=http:\/\/mirror\.centos\.org\/centos\/\$releasever\// {
            line = $0
            sub(/^#?baseurl=http:\/\/mirror\.centos\.org\/centos\/\$releasever/, "baseurl=" ENVIRON["KC_VAULT"], line)
            print line
            next
        }
        { print }' "$1"
}

centos7_vault() {
    [[ $OS_FAMILY == el7 && -f $CENTOS7_REPO ]] || return 0
    local bak=$CENTOS7_REPO.kubeadm-cluster.bak
    if grep -q '^mirrorlist=.*mirrorlist\.centos\.org' "$CENTOS7_REPO"; then
        require KC_CENTOS7_VAULT_URL
        backup_once "$CENTOS7_REPO"
        write_file "$CENTOS7_REPO" "$(mode_of "$CENTOS7_REPO")" < <(centos7_vault_repo "$CENTOS7_REPO")
    elif [[ $(head -n 1 "$CENTOS7_REPO") == "$VAULT_NOTE" && -f $bak ]]; then
        # Rewritten earlier: rebuild from the original so a changed vault URL takes effect.
        require KC_CENTOS7_VAULT_URL
        write_file "$CENTOS7_REPO" "$(mode_of "$CENTOS7_REPO")" < <(centos7_vault_repo "$bak")
    fi
}

install_packages() {
    local p pkgs=()
    for p in ${KC_PACKAGES:-} $FAMILY_PACKAGES; do pkgs+=("$p"); done
    ((${#pkgs[@]} > 0)) || return 0
    pkg_install "${pkgs[@]}"
}

main() {
    require KC_HOSTNAME KC_HOSTS_ENTRIES_B64 KC_SYSCTL_B64 KC_MODULES
    host_lock
    detect_os
    set_hostname
    update_hosts
    swap_off
    selinux_permissive
    load_modules
    apply_sysctl
    networkmanager_unmanaged
    centos7_vault
    install_packages
    log "system prepared (${CHANGES} file(s) changed)"
}

main "$@"
