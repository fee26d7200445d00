#!/usr/bin/env bash
# Step control-plane-init: `kubeadm init --config` on the first control plane, once.
#   create: validates the config, pulls the images, runs kubeadm init (after resetting a half-done
#           earlier attempt), deletes the bootstrap token init made (joins use their own short-lived
#           tokens) and copies admin.conf to /root/.kube/config.
#   delete: kubeadm reset and cleanup of what Kubernetes and the CNI left.

readonly INIT_CONFIG=$STATE_DIR/kubeadm-init.yaml
# Written after a successful init: from then on this node is never reset automatically.
readonly INIT_DONE=$STATE_DIR/init-done
# How long an initialised control plane gets to answer (e.g. just after a reboot).
readonly API_WAIT_SECONDS=180

# check_state: sets INIT_STATE to "ready" when the control plane is up, else "fresh" after
# resetting a half-done init. An initialised control plane that stopped answering is an error,
# never a reason to reset.
check_state() {
    INIT_STATE=ready
    api_ready && return 0
    if [[ -e $INIT_DONE ]] && kube_state_present; then
        log "this control plane was initialised earlier; waiting up to ${API_WAIT_SECONDS}s for its API server"
        wait_for_api "$API_WAIT_SECONDS" && return 0
        die "the control plane on $KC_HOST was initialised but its API server does not answer: check 'systemctl status kubelet', 'crictl ps -a' and 'journalctl -u kubelet' there. It is not reset automatically: that would destroy the cluster (to start over, destroy the stack)"
    fi
    # A marker without a cluster (reset by hand) must not protect the next, maybe half-done, init.
    remove_file "$INIT_DONE"
    if kube_state_present; then
        if svc_active kubelet; then
            log "Kubernetes files found and the kubelet runs; waiting up to 60s in case the API server is starting"
            wait_for_api 60 && return 0
        fi
        log "found a half-done kubeadm init (files in /etc/kubernetes, API server not answering): resetting it first"
        reset_node "$KC_CRI_SOCKET"
    fi
    INIT_STATE=fresh
}

ensure_root_kubeconfig() {
    [[ -e /root/.kube/config ]] && return 0
    mkdir -p /root/.kube
    chmod 0700 /root/.kube
    install -m 0600 "$ADMIN_CONF" /root/.kube/config
    log "copied $ADMIN_CONF to /root/.kube/config"
}

token_list() { kubeadm token list --kubeconfig "$ADMIN_CONF" 2>/dev/null; }

# delete_foreign_tokens: removes every bootstrap token not described as made by kubeadm-cluster
# (kubeadm init's default one lives 24h and is not needed: each join gets its own token).
delete_foreign_tokens() {
    local list id
    if ! list=$(retry 3 token_list); then
        log "WARNING: could not list the bootstrap tokens; kubeadm init's default token stays until it expires (24h)"
        return 0
    fi
    while read -r id; do
        run kubeadm token delete "$id" --kubeconfig "$ADMIN_CONF" || log "WARNING: could not delete bootstrap token $id"
    done < <(awk '$1 ~ /^[a-z0-9]+\.[a-z0-9]+$/ && index($0, "kubeadm-cluster") == 0 { print substr($1, 1, index($1, ".") - 1) }' <<<"$list")
}

init_cluster() {
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$INIT_CONFIG" 0600 < <(printf '%s' "$DECODED")
    run kubeadm config validate --config "$INIT_CONFIG" ||
        die "kubeadm rejects the configuration in $INIT_CONFIG on $KC_HOST (see above): the program that rendered it has a bug, or kubeadm is not the expected version"
    log "pulling the control-plane images"
    retry 3 run kubeadm config images pull --config "$INIT_CONFIG" ||
        die "could not pull the control-plane images on $KC_HOST (see above): check imageRepository, the registry mirrors and the network"
    log "running kubeadm init (up to 15 minutes)"
    run_redacted timeout 15m kubeadm init --config "$INIT_CONFIG" \
        ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm init failed on $KC_HOST (see above); the next run resets this half-done init and tries again. 'journalctl -u kubelet' and 'crictl ps -a' there show why the control plane did not come up"
    write_file "$INIT_DONE" 0644 <<<"initialised by kubeadm-cluster"
    delete_foreign_tokens
    log "control plane initialised"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == delete ]]; then
        reset_node "${KC_CRI_SOCKET:-}"
        return 0
    fi
    require KC_KUBEADM_CONFIG_B64 KC_CRI_SOCKET
    detect_os
    b64d KC_KUBEADM_CONFIG_B64
    check_state
    if [[ $INIT_STATE == ready ]]; then
        log "already initialised: the API server answers"
    else
        init_cluster
    fi
    ensure_root_kubeconfig
}

main "$@"
