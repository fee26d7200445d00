#!/usr/bin/env bash
# kc-modules: join kube reset
# Step worker-join: `kubeadm join --config` on a worker, once.
#   create: skips a node that has joined; resets a half-done join first; the join configuration
#           (it holds the bootstrap token) exists only while kubeadm join runs.
#   delete: kubeadm reset and cleanup of what Kubernetes and the CNI left.

readonly JOIN_CONFIG=$STATE_DIR/kubeadm-join.yaml
readonly KUBELET_CONF=/etc/kubernetes/kubelet.conf

# joined: kubelet.conf exists and the kubelet runs (given ~30s, in case it is restarting).
joined() {
    [[ -f $KUBELET_CONF ]] && poll 30 svc_active kubelet
}

join_cluster() {
    write_join_config "$JOIN_CONFIG"
    validate_join_config "$JOIN_CONFIG"
    log "running kubeadm join (up to 10 minutes)"
    kubeadm_preflight
    run_redacted timeout 10m kubeadm join --config "$JOIN_CONFIG" \
        ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm join failed on $KC_HOST (see above); the next run resets this half-done join and tries again. Check that $KC_HOST reaches the control-plane endpoint and that the firewall lets it through"
    rm -f "$JOIN_CONFIG"
    log "joined the cluster"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == delete ]]; then
        reset_node "${KC_CRI_SOCKET:-}"
        return 0
    fi
    require KC_JOIN_CONFIG_B64 KC_CRI_SOCKET
    detect_os
    if joined; then
        log "already joined: $KUBELET_CONF exists and the kubelet runs"
        return 0
    fi
    if [[ -e $KUBELET_CONF || -e /etc/kubernetes/pki/ca.crt ]] || kube_state_present; then
        log "found a half-done kubeadm join (files in /etc/kubernetes, kubelet not running): resetting it first"
        reset_node "$KC_CRI_SOCKET"
    fi
    join_cluster
}

main "$@"
