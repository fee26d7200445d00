#!/usr/bin/env bash
# kc-modules: join kube reset
# Step control-plane-join: `kubeadm join --config` on each further control plane, once. The join
# configuration's controlPlane section carries the certificate key: kubeadm downloads the
# certificates the first control plane uploaded (step upload-certs), adds this host's etcd member
# and starts its API server, controller manager and scheduler.
#   create: skips a control plane that has joined; resets a half-done join first; the join
#           configuration (bootstrap token and certificate key) exists only while kubeadm join
#           runs; copies admin.conf to /root/.kube/config.
#   delete: kubeadm reset (which removes this host's etcd member) and cleanup of what Kubernetes
#           and the CNI left.

readonly JOIN_CONFIG=$STATE_DIR/kubeadm-join.yaml
readonly APISERVER_MANIFEST=/etc/kubernetes/manifests/kube-apiserver.yaml
# This host's own API server. Its certificate does not name 127.0.0.1; "kubernetes" is in every
# API server certificate kubeadm makes.
readonly LOCAL_API=https://127.0.0.1:6443
# How long a control plane that has joined gets for its API server to answer (e.g. after a reboot).
readonly API_WAIT_SECONDS=180

# local_api_ready: this host's API server answers /readyz (not the endpoint, which another control
# plane may answer).
local_api_ready() {
    timeout 20 kubectl --kubeconfig "$ADMIN_CONF" --server="$LOCAL_API" --tls-server-name=kubernetes \
        --request-timeout=15s get --raw=/readyz >/dev/null 2>&1
}

# joined: admin.conf and the API server's manifest exist, the kubelet runs (given ~30s, in case it
# is restarting) and the local API server answers (given 3 minutes when all the rest is there).
joined() {
    [[ -f $ADMIN_CONF && -f $APISERVER_MANIFEST ]] || return 1
    poll 30 svc_active kubelet || return 1
    local_api_ready && return 0
    log "this control plane has joined and its kubelet runs; waiting up to ${API_WAIT_SECONDS}s for its API server"
    poll "$API_WAIT_SECONDS" local_api_ready
}

join_cluster() {
    write_join_config "$JOIN_CONFIG"
    grep -q '^controlPlane:' "$JOIN_CONFIG" ||
        die "the join configuration sent to $KC_HOST has no controlPlane section, so it would join as a worker: the program that rendered it has a bug"
    validate_join_config "$JOIN_CONFIG"
    log "running kubeadm join as a control plane (up to 20 minutes): it downloads the uploaded certificates, adds an etcd member and starts the control-plane components"
    kubeadm_preflight
    run_redacted timeout 20m kubeadm join --config "$JOIN_CONFIG" \
        ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm join failed on $KC_HOST (see above); the next run resets this half-done join and tries again. Check that $KC_HOST reaches the control-plane endpoint and the other control planes (6443, etcd on 2379-2380), and that the uploaded certificates have not expired (they are uploaded again before each join)"
    rm -f "$JOIN_CONFIG"
    log "joined the cluster as a control plane"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == delete ]]; then
        if kube_state_present; then log "resetting this control plane: kubeadm reset removes its etcd member from the cluster"; fi
        reset_node "${KC_CRI_SOCKET:-}" control-plane
        return 0
    fi
    require KC_JOIN_CONFIG_B64 KC_CRI_SOCKET
    detect_os
    if joined; then
        log "already joined: $ADMIN_CONF and the control-plane manifests exist, the kubelet runs and the local API server answers"
    else
        if [[ -e /etc/kubernetes/kubelet.conf || -e /etc/kubernetes/pki/ca.crt ]] || kube_state_present; then
            log "found a half-done kubeadm join (files in /etc/kubernetes, no control plane answering here): resetting it first"
            reset_half_done "$KC_CRI_SOCKET" control-plane
        fi
        join_cluster
    fi
    ensure_root_kubeconfig
}

main "$@"
