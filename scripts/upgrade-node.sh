#!/usr/bin/env bash
# kc-modules: kube
# Step upgrade-node, on a worker (drained by node-drain first): the repo file of the target
# minor -> kubeadm at KC_KUBE_VERSION -> kubeadm upgrade node (the kubelet configuration of the
# new version) -> kubelet and kubectl -> daemon-reload, restart the kubelet. Nothing to do on a
# node that has not joined or whose kubelet is at the target; $UPGRADING marks an upgrade under
# way, so a run cut anywhere resumes where it stopped.

readonly KUBELET_CONF=/etc/kubernetes/kubelet.conf
readonly UPGRADING=$STATE_DIR/upgrading

# check_control_plane: the kubelet may not be newer than the API server, so kubeadm upgrade apply
# must have moved the cluster to the target first. Asked from the kubeadm-config ConfigMap with the
# kubelet's own credentials (the API servers behind a load balancer may differ during an upgrade);
# skipped when that fails.
check_control_plane() {
    local cluster
    cluster=$(configmap_version "$KUBELET_CONF")
    if [[ -z $cluster ]]; then
        log "could not read the cluster's version (kubeadm-config) through $KUBELET_CONF; going on"
        return 0
    fi
    [[ $(version_cmp "$cluster" "$WANT") != -1 ]] ||
        die "the cluster is at $cluster, older than $WANT: a kubelet may not be newer than the API server, so upgrade-control-plane must finish first; run pulumi up again"
}

main() {
    require KC_KUBE_VERSION KC_KUBE_REPO_B64
    is_version "$KC_KUBE_VERSION" ||
        die "parameter KC_KUBE_VERSION '$KC_KUBE_VERSION' is not a version like 1.35.9: the program that sent this step has a bug"
    WANT=${KC_KUBE_VERSION#v}
    host_lock
    if [[ ! -f $KUBELET_CONF ]]; then
        log "not joined to a cluster ($KUBELET_CONF is missing): nothing to upgrade"
        return 0
    fi
    detect_os
    local kubelet marker=""
    kubelet=$(pkg_version kubelet)
    if [[ -f $UPGRADING ]]; then marker=$(head -n 1 "$UPGRADING"); fi
    if [[ $kubelet == "$WANT" && $marker != "$WANT" ]]; then
        log "kubelet $WANT already runs on $KC_HOST"
        return 0
    fi
    b64d KC_KUBE_REPO_B64
    check_control_plane
    log "upgrading $KC_HOST from kubelet ${kubelet:-(none)} to $WANT"
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$UPGRADING" 0644 <<<"$WANT"
    write_file "$KUBE_REPO_FILE" 0644 < <(printf '%s' "$DECODED")
    kube_packages_at "$WANT" kubeadm
    log "running kubeadm upgrade node (up to 10 minutes)"
    kubeadm_preflight
    run timeout 10m kubeadm upgrade node ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm upgrade node failed on $KC_HOST (see above): check that $KC_HOST reaches the control-plane endpoint, then run pulumi up again; the upgrade resumes from here"
    kube_packages_at "$WANT" kubelet kubectl
    svc_daemon_reload
    svc_restart kubelet
    remove_file "$UPGRADING"
    log "kubelet $WANT runs on $KC_HOST; the control plane uncordons the node once it is Ready"
}

main "$@"
