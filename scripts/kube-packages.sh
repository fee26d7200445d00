#!/usr/bin/env bash
# kc-modules: kube
# Step kube-packages: the per-minor Kubernetes repo, kubeadm/kubelet/kubectl at exactly
# KC_KUBE_VERSION (the repo excludes them from ordinary updates), the kubelet's node IP, and the
# kubelet enabled (kubeadm starts it). The repo file always follows KC_KUBE_VERSION's minor. On a
# node that is part of a cluster another installed version stays: the upgrade steps move it
# (kubeadm first, in order); on any other node the packages are moved to exactly that version.

readonly KUBE_PACKAGES="kubeadm kubelet kubectl"
readonly KUBELET_SYSCONFIG=/etc/sysconfig/kubelet
readonly KUBELET_CONF=/etc/kubernetes/kubelet.conf

# check_installed: sets MISSING to the packages that are not installed and OTHER to "name version"
# of those installed at another version.
check_installed() {
    local p have
    MISSING=()
    OTHER=()
    for p in $KUBE_PACKAGES; do
        have=$(pkg_version "$p")
        if [[ -z $have ]]; then
            MISSING+=("$p")
        elif [[ $have != "$WANT_VERSION" ]]; then
            OTHER+=("$p $have")
        fi
    done
}

# other_versions: OTHER as a phrase: "kubeadm/kubelet 1.34.2" when they share a version, else
# "kubeadm 1.35.9, kubelet 1.34.2".
other_versions() {
    local entry names="" first=${OTHER[0]#* } same=true list
    for entry in "${OTHER[@]}"; do
        names+="${names:+/}${entry%% *}"
        [[ ${entry#* } == "$first" ]] || same=false
    done
    if $same; then
        printf '%s %s\n' "$names" "$first"
    else
        list=$(printf '%s, ' "${OTHER[@]}")
        printf '%s\n' "${list%, }"
    fi
}

install_packages() {
    if ((${#OTHER[@]} > 0)) && [[ -f $KUBELET_CONF ]]; then
        # A cluster node: moving its kubelet here would skip the drain and kubeadm upgrade.
        log "$(other_versions) installed, $WANT_VERSION wanted: the upgrade steps move this node"
        if ((${#MISSING[@]} > 0)); then kube_packages_at "$WANT_VERSION" "${MISSING[@]}"; fi
        return 0
    fi
    if ((${#OTHER[@]} > 0)); then
        log "$(other_versions) installed on a node that is not in a cluster: moving it to $WANT_VERSION"
    fi
    # shellcheck disable=SC2086 # a fixed list of names
    kube_packages_at "$WANT_VERSION" $KUBE_PACKAGES
}

configure_kubelet() {
    write_file "$KUBELET_SYSCONFIG" 0644 <<<"KUBELET_EXTRA_ARGS=--node-ip=$KC_NODE_IP"
    # On a running node a new address only takes effect after a restart.
    if pending kubelet-restart "$FILE_CHANGED" && svc_active kubelet; then svc_restart kubelet; fi
    pending_done kubelet-restart
    if ! svc_enabled kubelet; then
        run systemctl enable kubelet || die "could not enable the kubelet on $KC_HOST"
        log "enabled kubelet"
    fi
}

main() {
    require KC_KUBE_VERSION KC_KUBE_REPO_B64 KC_NODE_IP
    is_version "$KC_KUBE_VERSION" ||
        die "parameter KC_KUBE_VERSION '$KC_KUBE_VERSION' is not a version like 1.35.9: the program that sent this step has a bug"
    host_lock
    detect_os
    WANT_VERSION=${KC_KUBE_VERSION#v}
    b64d KC_KUBE_REPO_B64
    write_file "$KUBE_REPO_FILE" 0644 < <(printf '%s' "$DECODED")
    check_installed
    install_packages
    configure_kubelet
    if ((${#OTHER[@]} == 0)) || [[ ! -f $KUBELET_CONF ]]; then
        log "kubeadm, kubelet and kubectl $WANT_VERSION installed"
    fi
}

main "$@"
