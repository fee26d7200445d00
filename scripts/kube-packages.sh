#!/usr/bin/env bash
# Step kube-packages: the per-minor Kubernetes repo, kubeadm/kubelet/kubectl at exactly
# KC_KUBE_VERSION (the repo excludes them from ordinary updates), the kubelet's node IP, and the
# kubelet enabled (kubeadm starts it). Another installed version is refused: upgrades are a
# separate step.

readonly KUBE_PACKAGES="kubeadm kubelet kubectl"
readonly KUBELET_SYSCONFIG=/etc/sysconfig/kubelet

# check_installed: sets MISSING to the packages to install; refuses other installed versions
# before anything is changed.
check_installed() {
    local p have wrong=()
    MISSING=()
    for p in $KUBE_PACKAGES; do
        have=$(pkg_version "$p")
        if [[ -z $have ]]; then
            MISSING+=("$p-$WANT_VERSION")
        elif [[ $have != "$WANT_VERSION" ]]; then
            wrong+=("$p $have")
        fi
    done
    if ((${#wrong[@]} > 0)); then
        local list
        list=$(printf '%s, ' "${wrong[@]}")
        die "$KC_HOST has ${list%, } installed but this cluster wants $WANT_VERSION: upgrades are a separate step; set kubernetesVersion to the installed version, or remove the packages ($PKG remove $KUBE_PACKAGES) on a node that is not in use"
    fi
}

install_missing() {
    ((${#MISSING[@]} > 0)) || return 0
    pkg_run_install --disableexcludes=kubernetes "${MISSING[@]}"
    local p have
    for p in $KUBE_PACKAGES; do
        have=$(pkg_version "$p")
        [[ $have == "$WANT_VERSION" ]] ||
            die "$p ${have:-is not installed} on $KC_HOST after installing $WANT_VERSION: does the repo in /etc/yum.repos.d/kubernetes.repo have that version?"
    done
}

configure_kubelet() {
    write_file "$KUBELET_SYSCONFIG" 0644 <<<"KUBELET_EXTRA_ARGS=--node-ip=$KC_NODE_IP"
    # On a running node a new address only takes effect after a restart.
    if ((FILE_CHANGED)) && svc_active kubelet; then svc_restart kubelet; fi
    if ! svc_enabled kubelet; then
        run systemctl enable kubelet || die "could not enable the kubelet on $KC_HOST"
        log "enabled kubelet"
    fi
}

main() {
    require KC_KUBE_VERSION KC_KUBE_REPO_B64 KC_NODE_IP
    host_lock
    detect_os
    WANT_VERSION=${KC_KUBE_VERSION#v}
    b64d KC_KUBE_REPO_B64
    check_installed
    write_file /etc/yum.repos.d/kubernetes.repo 0644 < <(printf '%s' "$DECODED")
    install_missing
    configure_kubelet
    log "kubeadm, kubelet and kubectl $WANT_VERSION installed"
}

main "$@"
