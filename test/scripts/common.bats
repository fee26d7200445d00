#!/usr/bin/env bats
# shellcheck disable=SC2034,SC2317 # variables are read by the library under test; stubs are called by it
# File-level functions of the remote-step scripts: each edit is exact, leaves every other line
# alone, and a second run changes nothing.

load helpers

setup() {
    TMP=$(mktemp -d)
}

teardown() {
    rm -rf "$TMP"
}

# --- write_file -------------------------------------------------------------------------------

@test "write_file creates a file with the mode and reports the change" {
    load_lib
    write_file "$TMP/a/b.conf" 0600 <<<"hello"
    [ "$FILE_CHANGED" = 1 ]
    [ "$(cat "$TMP/a/b.conf")" = hello ]
    [ "$(stat -c %a "$TMP/a/b.conf")" = 600 ]
}

@test "write_file leaves identical content alone: same inode, no change" {
    load_lib
    write_file "$TMP/f" 0644 < <(printf 'x\ny\n')
    local inode; inode=$(stat -c %i "$TMP/f")
    write_file "$TMP/f" 0644 < <(printf 'x\ny\n')
    [ "$FILE_CHANGED" = 0 ]
    [ "$(stat -c %i "$TMP/f")" = "$inode" ]
    [ "$CHANGES" = 1 ]
}

@test "write_file rewrites on a mode change alone" {
    load_lib
    write_file "$TMP/f" 0644 <<<"x"
    write_file "$TMP/f" 0600 <<<"x"
    [ "$FILE_CHANGED" = 1 ]
    [ "$(stat -c %a "$TMP/f")" = 600 ]
}

@test "write_file keeps content byte for byte, trailing newlines included" {
    load_lib
    write_file "$TMP/f" 0644 < <(printf 'a\n\n\n')
    [ "$(od -An -c "$TMP/f" | tr -d ' ')" = 'a\n\n\n' ]
    write_file "$TMP/g" 0644 < <(printf 'no newline')
    [ "$(wc -c <"$TMP/g")" = 10 ]
}

@test "write_file writes through a symlink and keeps the link" {
    load_lib
    echo old >"$TMP/target"
    ln -s target "$TMP/link"
    write_file "$TMP/link" 0644 <<<"new"
    [ -L "$TMP/link" ]
    [ "$(cat "$TMP/target")" = new ]
}

@test "write_file leaves no temporary files behind" {
    load_lib
    write_file "$TMP/f" 0644 <<<"x"
    write_file "$TMP/f" 0644 <<<"x"
    [ "$(ls -A "$TMP")" = f ]
}

@test "b64d keeps trailing newlines and refuses garbage" {
    load_lib
    export KC_X
    KC_X=$(printf 'a\nb\n\n' | base64 -w0)
    b64d KC_X
    [ "$DECODED" = $'a\nb\n\n' ]
    export KC_BAD='@@@'
    bats_run b64d KC_BAD
    [ "$status" -ne 0 ]
    [[ $output == *"KC_BAD is not valid base64"* ]]
}

@test "backup_once keeps the first foreign file only" {
    load_lib
    echo original >"$TMP/c"
    backup_once "$TMP/c"
    echo second >"$TMP/c"
    backup_once "$TMP/c"
    [ "$(cat "$TMP/c.kubeadm-cluster.bak")" = original ]
    printf '%s\nx\n' "$MANAGED_HEADER" >"$TMP/d"
    backup_once "$TMP/d"
    [ ! -e "$TMP/d.kubeadm-cluster.bak" ]
}

# --- /etc/hosts block -------------------------------------------------------------------------

@test "hosts block is appended once and replaced in place" {
    load_step prep-system
    printf '127.0.0.1 localhost\n::1 localhost6\n' >"$TMP/hosts"
    hosts_with_block "$TMP/hosts" $'10.0.0.1 m1\n10.0.0.2 w1\n' >"$TMP/h1"
    [ "$(cat "$TMP/h1")" = "$(printf '127.0.0.1 localhost\n::1 localhost6\n# BEGIN kubeadm-cluster\n10.0.0.1 m1\n10.0.0.2 w1\n# END kubeadm-cluster')" ]
    # A line after the block stays after it; the block changes in place.
    echo "192.168.1.5 printer" >>"$TMP/h1"
    hosts_with_block "$TMP/h1" $'10.0.0.1 m1\n' >"$TMP/h2"
    [ "$(cat "$TMP/h2")" = "$(printf '127.0.0.1 localhost\n::1 localhost6\n# BEGIN kubeadm-cluster\n10.0.0.1 m1\n# END kubeadm-cluster\n192.168.1.5 printer')" ]
    hosts_with_block "$TMP/h2" $'10.0.0.1 m1\n' >"$TMP/h3"
    cmp "$TMP/h2" "$TMP/h3"
}

@test "an empty hosts block removes the block" {
    load_step prep-system
    printf 'a\n# BEGIN kubeadm-cluster\n1.2.3.4 x\n# END kubeadm-cluster\nb\n' >"$TMP/hosts"
    [ "$(hosts_with_block "$TMP/hosts" "")" = "$(printf 'a\nb')" ]
}


# --- fstab ------------------------------------------------------------------------------------

@test "fstab: only active swap entries are commented out" {
    load_step prep-system
    cat >"$TMP/fstab" <<'F'
# comment with swap swap swap
/dev/mapper/rl-root     /        xfs     defaults        0 0
/dev/mapper/rl-swap     none     swap    defaults        0 0
UUID=abc                swap     swap    sw              0 0
#/dev/old               none     swap    defaults        0 0
/swapfile.img           /data    ext4    defaults        0 0
F
    fstab_without_swap "$TMP/fstab" >"$TMP/out"
    diff <(cat <<'F'
# comment with swap swap swap
/dev/mapper/rl-root     /        xfs     defaults        0 0
#/dev/mapper/rl-swap     none     swap    defaults        0 0
#UUID=abc                swap     swap    sw              0 0
#/dev/old               none     swap    defaults        0 0
/swapfile.img           /data    ext4    defaults        0 0
F
) "$TMP/out"
    fstab_without_swap "$TMP/out" | cmp - "$TMP/out"
}

# --- SELinux ----------------------------------------------------------------------------------

@test "selinux config: enforcing becomes permissive, everything else stays" {
    load_step prep-system
    printf '# SELINUX= can take\nSELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$TMP/config"
    [ "$(selinux_config_permissive "$TMP/config")" = "$(printf '# SELINUX= can take\nSELINUX=permissive\nSELINUXTYPE=targeted')" ]
    printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' >"$TMP/d"
    selinux_config_permissive "$TMP/d" | cmp - "$TMP/d"
}

# --- chrony -----------------------------------------------------------------------------------

@test "chrony: pool and server lines give way to the configured servers, once" {
    load_step prep-timesync
    printf '# Use public servers\npool 2.rhel.pool.ntp.org iburst\nserver 1.2.3.4\ndriftfile /var/lib/chrony/drift\n# server commented\n' >"$TMP/chrony.conf"
    chrony_with_servers "$TMP/chrony.conf" ntp1.example ntp2.example >"$TMP/c1"
    [ "$(cat "$TMP/c1")" = "$(printf '# Use public servers\nserver ntp1.example iburst\nserver ntp2.example iburst\ndriftfile /var/lib/chrony/drift\n# server commented')" ]
    chrony_with_servers "$TMP/c1" ntp1.example ntp2.example | cmp - "$TMP/c1"
}

# --- CentOS 7 vault ---------------------------------------------------------------------------

@test "centos7 repo: mirrorlist off, baseurls on the vault, idempotent from the backup" {
    load_step prep-system
    export KC_CENTOS7_VAULT_URL=https://vault.example/
    cat >"$TMP/CentOS-Base.repo" <<'R'
[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
R
    centos7_vault_repo "$TMP/CentOS-Base.repo" >"$TMP/out"
    # shellcheck disable=SC2016 # literal $releasever
    grep -qx '#mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra' "$TMP/out"
    # shellcheck disable=SC2016 # literal $basearch
    grep -qx 'baseurl=https://vault.example/7.9.2009/os/$basearch/' "$TMP/out"
    grep -qx 'gpgcheck=1' "$TMP/out"
    [ "$(head -n 1 "$TMP/out")" = "$VAULT_NOTE" ]
    # Rebuilding from the original gives the same file.
    centos7_vault_repo "$TMP/CentOS-Base.repo" | cmp - "$TMP/out"
}

# --- containerd hosts.toml --------------------------------------------------------------------

@test "hosts.toml matches the TypeScript renderer's layout" {
    load_step runtime-containerd
    [ "$(hosts_toml mirror.a/ https://b.example)" = "$(printf '%s\nserver = "https://registry-1.docker.io"\n\n[host."https://mirror.a"]\n  capabilities = ["pull", "resolve"]\n\n[host."https://b.example"]\n  capabilities = ["pull", "resolve"]' "$MANAGED_HEADER")" ]
}

# --- OS detection -----------------------------------------------------------------------------

os_release() { # ID VERSION_ID [ID_LIKE]
    printf 'NAME="x"\nID="%s"\nVERSION_ID="%s"\nID_LIKE="%s"\nPRETTY_NAME="%s %s"\n' "$1" "$2" "${3:-}" "$1" "$2" >"$TMP/os-release"
    OS_RELEASE_FILE=$TMP/os-release
}

@test "detect_os: CentOS 7 is el7 with yum and the per-protocol conntrack module" {
    load_lib
    os_release centos 7 "rhel fedora"
    detect_os
    [ "$OS_FAMILY" = el7 ]
    [ "$PKG" = yum ]
    [ "$CONNTRACK_MODULE" = nf_conntrack_ipv4 ]
    [ "$MAX_KUBE_MINOR" = 34 ]
    [ "$CRI_DOCKERD_EL" = el7 ]
    [ "$DOCKER_RELEASEVER" = 7 ]
}

@test "detect_os: Rocky 8.10 is el8 with dnf" {
    load_lib
    os_release rocky 8.10
    detect_os
    [ "$OS_FAMILY" = el8 ]
    [ "$PKG" = dnf ]
    [ "$DOCKER_RELEASEVER" = 8 ]
    [ "$CRI_DOCKERD_NODEPS" = false ]
}

@test "detect_os: AlmaLinux 9 gets exactly Rocky 9's facts" {
    load_lib
    # shellcheck disable=SC2016 # expanded later by eval
    local facts='$OS_FAMILY $PKG $PKG_ALIASES $FAMILY_PACKAGES $CONNTRACK_MODULE $MAX_KUBE_MINOR $CRI_DOCKERD_EL $CRI_DOCKERD_NODEPS $DOCKER_RELEASEVER'
    os_release rocky 9.6; detect_os; local rocky; rocky=$(eval echo "$facts")
    os_release almalinux 9.6; detect_os; local alma; alma=$(eval echo "$facts")
    [ "$rocky" = "$alma" ]
    [ "$OS_FAMILY" = el9 ]
}

@test "detect_os: RHEL, CentOS Stream and Oracle Linux 8/9 are supported" {
    load_lib
    local id
    for id in rhel centos ol; do
        os_release "$id" 9.2; detect_os; [ "$OS_FAMILY" = el9 ]
        os_release "$id" 8.8; detect_os; [ "$OS_FAMILY" = el8 ]
    done
}

@test "detect_os: Ubuntu, CentOS 6 and Fedora die naming the host, the OS and the supported list" {
    load_lib
    local case
    for case in "ubuntu 22.04 debian" "centos 6 rhel" "fedora 40"; do
        # shellcheck disable=SC2086 # ID VERSION [LIKE]
        os_release $case
        bats_run detect_os
        [ "$status" -eq 1 ]
        [[ $output == "[testhost] ERROR: unsupported OS '${case%% *}"* ]]
        [[ $output == *"on testhost"* ]]
        [[ $output == *"supported are CentOS 7 and Rocky Linux, AlmaLinux"* ]]
    done
}

@test "detect_os: a missing os-release is unsupported" {
    load_lib
    OS_RELEASE_FILE=$TMP/none
    bats_run detect_os
    [ "$status" -eq 1 ]
    [[ $output == *"unsupported OS"* ]]
}

@test "pkg_name maps conntrack to conntrack-tools and leaves other names" {
    load_lib
    os_release rocky 9.6; detect_os
    [ "$(pkg_name conntrack)" = conntrack-tools ]
    [ "$(pkg_name ipset)" = ipset ]
}

# --- output -----------------------------------------------------------------------------------

@test "run prefixes every line with the host and keeps the exit status" {
    load_lib
    set -o pipefail # as in the scripts
    bats_run run bash -c 'echo out; echo err >&2; exit 3'
    [ "$status" -eq 3 ]
    [[ $output == *"[testhost] out"* ]]
    [[ $output == *"[testhost] err"* ]]
}

@test "redact_secrets hides tokens, join lines and certificate keys" {
    load_lib
    # shellcheck disable=SC1003 # a literal backslash ends the join line
    out=$(printf '%s\n' '[bootstrap-token] Using token: abcdef.0123456789abcdef' \
        'kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef \' \
        '	--discovery-token-ca-cert-hash sha256:0123' \
        '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' \
        'image registry.k8s.io/pause:3.10 pulled' | redact_secrets)
    [[ $out != *0123456789abcdef* ]]
    [[ $out == *"Using token: <redacted token>"* ]]
    [[ $out == *"registry.k8s.io/pause:3.10 pulled"* ]]
}

# --- cleanup ----------------------------------------------------------------------------------

@test "is_cni_link matches CNI and kube-proxy interfaces only" {
    load_lib
    local n
    for n in cni0 flannel.1 vxlan.calico tunl0 kube-ipvs0 cali1234abcd; do is_cni_link "$n"; done
    for n in eth0 ens192 lo docker0 bond0 br0 virbr0; do
        if is_cni_link "$n"; then echo "$n taken for a CNI interface"; return 1; fi
    done
}

@test "flush_kube_chains removes only Kubernetes/CNI chains and the jumps into them" {
    load_lib
    CALLS=$TMP/calls
    fakeipt() {
        echo "$*" >>"$CALLS"
        if [[ $3 == -S ]]; then
            case $2 in
            nat) cat <<'S'
-P PREROUTING ACCEPT
-P POSTROUTING ACCEPT
-N KUBE-SERVICES
-N KUBE-POSTROUTING
-N MY-CHAIN
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -p tcp --dport 8080 -j MY-CHAIN
-A PREROUTING -m addrtype --dst-type LOCAL -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-SERVICES -j KUBE-POSTROUTING
-A MY-CHAIN -j ACCEPT
S
            ;;
            *) printf -- '-P INPUT ACCEPT\n-A INPUT -j ACCEPT\n' ;;
            esac
        fi
    }
    flush_kube_chains fakeipt 2>/dev/null
    diff <(grep -v -- ' -S$' "$CALLS") - <<'E'
-t nat -D POSTROUTING 1
-t nat -D PREROUTING 3
-t nat -D PREROUTING 1
-t nat -F KUBE-SERVICES
-t nat -F KUBE-POSTROUTING
-t nat -X KUBE-SERVICES
-t nat -X KUBE-POSTROUTING
E
}

@test "flush_kube_chains changes nothing on a host without Kubernetes chains" {
    load_lib
    CALLS=$TMP/calls
    fakeipt() { echo "$*" >>"$CALLS"; [[ $3 == -S ]] && printf -- '-P INPUT ACCEPT\n-N MINE\n-A INPUT -j MINE\n'; return 0; }
    flush_kube_chains fakeipt
    [ "$(grep -cv -- ' -S$' "$CALLS")" = 0 ]
}
