#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here are read by the steps assembled after it
# kc-modules: kubevip
# Module reset: undoing kubeadm init/join and cleaning up what Kubernetes and the CNI left.

# iptables chains Kubernetes, Calico, Flannel and the CNI plugins own.
readonly KUBE_CHAIN_RE='^(KUBE-|cali-|CNI-|FLANNEL)'

# kube_state_present: anything kubeadm leaves on a node that has been (half) set up.
kube_state_present() {
    local f
    for f in /etc/kubernetes/kubelet.conf "$ADMIN_CONF" /etc/kubernetes/pki /var/lib/kubelet/config.yaml \
        /var/lib/etcd/member /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml; do
        [[ -e $f ]] && return 0
    done
    return 1
}

# remove_tree PATH: removes a directory tree without crossing into other file systems (volumes).
remove_tree() {
    [[ -e $1 ]] || return 0
    if run rm -rf --one-file-system "$1"; then
        log "removed $1"
    else
        log "could not remove all of $1 (a file system mounted there stays mounted)"
    fi
}

# empty_dir DIR: removes what DIR holds (not crossing into other file systems); DIR stays.
empty_dir() {
    [[ -d $1 ]] || return 0
    [[ -n $(ls -A "$1") ]] || return 0
    if run find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +; then
        CHANGES=$((CHANGES + 1))
        log "emptied $1"
    else
        log "could not empty $1"
    fi
}

# unmount_below DIR: unmounts what the kubelet left mounted under DIR, deepest first, and DIR
# itself where it is a bind mount of itself: the kubelet makes its directory a shared mount that way
# when the file system holding it is not shared. A file system of its own mounted at DIR stays.
unmount_below() {
    local mnt
    awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while IFS= read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
    done
    # /proc/self/mountinfo: field 4 is the mounted directory's path within its file system ("/" for
    # a whole file system), field 5 where it is mounted.
    for _ in 1 2 3; do
        awk -v d="$1" '$5 == d && $4 != "/" { found = 1 } END { exit !found }' /proc/self/mountinfo || break
        if umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; then log "unmounted the bind mount of $1"; else log "could not unmount $1"; break; fi
    done
}

# is_cni_link NAME: an interface the CNI plugins or kube-proxy create (Calico, Flannel, bridge CNI,
# IPVS dummy); physical and user interfaces never match.
is_cni_link() {
    case $1 in
    cni0 | flannel.1 | flannel-v6.1 | flannel-wg | flannel-wg-v6 | vxlan.calico | vxlan-v6.calico | \
        wireguard.cali | wg-v6.cali | tunl0 | kube-ipvs0 | cali*) return 0 ;;
    *) return 1 ;;
    esac
}

# delete_cni_links: deletes the network interfaces the CNI and kube-proxy created, nothing else.
delete_cni_links() {
    local name
    for name in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        is_cni_link "$name" || continue
        # Deleting one end of a veth pair takes the other with it.
        ip link show "$name" >/dev/null 2>&1 || continue
        if ip link delete "$name" 2>/dev/null; then
            log "deleted interface $name"
        elif [[ $name == tunl0 ]]; then
            log "tunl0 stays while the ipip kernel module is loaded (it carries no configuration)"
        else
            log "WARNING: could not delete interface $name"
        fi
    done
}

# flush_kube_chains TOOL: removes the Kubernetes/CNI chains of every table and the rules that jump
# to them from other chains; the user's own rules and chains stay as they are.
flush_kube_chains() {
    local tool=$1 table rules chain num target ours=()
    command -v "$tool" >/dev/null 2>&1 || return 0
    for table in raw mangle nat filter; do
        rules=$("$tool" -t "$table" -S 2>/dev/null) || continue
        # Jumps from other chains into ours, by rule number, last first so numbers stay valid.
        while read -r chain num target; do
            if "$tool" -t "$table" -D "$chain" "$num"; then
                log "$tool -t $table: removed rule $num of $chain (jump to $target)"
            fi
        done < <(awk -v re="$KUBE_CHAIN_RE" '
            $1 == "-A" { n[$2]++
                for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g") && $(i+1) ~ re && $2 !~ re) print $2, n[$2], $(i+1) }' \
            <<<"$rules" | sort -k1,1 -k2,2nr)
        # Then empty every chain of ours (they jump to each other) and delete them.
        mapfile -t ours < <(awk -v re="$KUBE_CHAIN_RE" '$1 == "-N" && $2 ~ re { print $2 }' <<<"$rules")
        ((${#ours[@]} > 0)) || continue
        for chain in "${ours[@]}"; do "$tool" -t "$table" -F "$chain" || true; done
        for chain in "${ours[@]}"; do "$tool" -t "$table" -X "$chain" || true; done
        log "$tool -t $table: removed chains ${ours[*]}"
    done
}

# reset_node CRI_SOCKET [control-plane]: undoes kubeadm init/join and removes what Kubernetes and
# the CNI left on this node. Touches nothing else; does nothing when nothing is there. etcd's data
# goes on a control plane: one with an etcd manifest or an init marker, or any host when the second
# argument says it is one (a control-plane join cut before etcd's manifest was written).
# kubeadm reset on a control plane also removes its member from the etcd cluster.
reset_node() {
    local socket=${1:-} control_plane=false had_ipvs=false
    [[ -e /etc/kubernetes/manifests/etcd.yaml || -e $STATE_DIR/init-done || ${2:-} == control-plane ]] && control_plane=true
    ip link show kube-ipvs0 >/dev/null 2>&1 && had_ipvs=true

    # /root/.kube/config goes only when it is this cluster's admin kubeconfig.
    if [[ -f /root/.kube/config && -f $ADMIN_CONF ]] && cmp -s /root/.kube/config "$ADMIN_CONF"; then
        remove_file /root/.kube/config
    fi

    if kube_state_present; then
        if command -v kubeadm >/dev/null 2>&1; then
            # kubeadm reset also stops the kubelet and removes the pods' containers.
            local args=(reset -f)
            if [[ -n $socket ]]; then args+=(--cri-socket "$socket"); fi
            log "resetting the node with kubeadm reset"
            run timeout 10m kubeadm "${args[@]}" ||
                log "kubeadm reset failed (see above); cleaning up what it leaves anyway"
        else
            systemctl stop kubelet >/dev/null 2>&1 || true
        fi
    fi

    unmount_below /var/lib/kubelet
    local dir
    for dir in /var/lib/cni /var/lib/calico /run/calico /run/flannel /var/lib/kubelet /etc/kubernetes; do
        remove_tree "$dir"
    done
    # Emptied, not removed: containerd 2.x watches it and stops its CRI service when it goes away.
    empty_dir /etc/cni/net.d
    if $control_plane; then remove_tree /var/lib/etcd; fi
    remove_tree "$STATE_DIR"

    delete_cni_links
    # IPVS is cleared only where kube-proxy ran in IPVS mode: it may hold the user's own services.
    if $had_ipvs && command -v ipvsadm >/dev/null 2>&1; then
        run ipvsadm --clear || log "ipvsadm --clear failed"
    fi
    flush_kube_chains iptables
    flush_kube_chains ip6tables
    log "node reset done"
}

# reset_half_done CRI_SOCKET [control-plane]: reset_node before another attempt at a kubeadm init or
# join, keeping the kube-vip static pod (kubeadm reset empties the manifests directory, and the
# lb-kube-vip step that wrote it does not run again): the next attempt needs the virtual IP too.
reset_half_done() {
    local saved="" keep=false
    if [[ -f $KUBE_VIP_MANIFEST ]]; then
        saved=$(cat "$KUBE_VIP_MANIFEST" && printf x)
        keep=true
    fi
    reset_node "$@"
    if $keep; then
        write_file "$KUBE_VIP_MANIFEST" 0600 < <(printf '%s' "${saved%x}")
        log "kept kube-vip's static pod ($KUBE_VIP_MANIFEST) for the next attempt"
    fi
}

