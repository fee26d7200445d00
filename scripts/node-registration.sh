#!/usr/bin/env bash
# kc-modules: kube
# Step node-registration, on the first control plane, for one node:
#   create: waits (up to 5 minutes) until the node has registered with the API server, then, with
#           KC_READY_TIMEOUT, until it is Ready (up to that long).
#   delete: drains the node and deletes its Node object; nothing to do when the API is gone.

readonly REGISTER_SECONDS=300

node_registered() { timeout 20 kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=15s get node "$KC_NODE" -o name >/dev/null 2>&1; }

node_ready() {
    local ready
    read -r ready _ <<<"$(node_state "$KC_NODE")"
    [[ $ready == True ]]
}

wait_registered() {
    [[ -f $ADMIN_CONF ]] || die "$ADMIN_CONF is missing on $KC_HOST: the control plane is not initialised"
    local ready_seconds=""
    if [[ -n ${KC_READY_TIMEOUT:-} ]]; then
        ready_seconds=$(duration_seconds "$KC_READY_TIMEOUT") ||
            die "parameter KC_READY_TIMEOUT '$KC_READY_TIMEOUT' is not a duration like 10m: the program that sent this step has a bug"
    fi
    if ! node_registered; then
        log "waiting up to 5 minutes for node $KC_NODE to register"
        poll "$REGISTER_SECONDS" node_registered ||
            die "node $KC_NODE did not register with the API server within 5 minutes: check the kubelet on $KC_NODE ('journalctl -u kubelet') and that it reaches the control-plane endpoint"
    fi
    log "node $KC_NODE is registered"
    [[ -n $ready_seconds ]] || return 0
    if ! node_ready; then
        log "waiting up to $KC_READY_TIMEOUT for node $KC_NODE to be Ready"
        if ! poll "$ready_seconds" node_ready; then
            run kube get node "$KC_NODE" -o wide || true
            die "node $KC_NODE did not become Ready within $KC_READY_TIMEOUT. A node stays NotReady until the CNI (pod network) runs on it: check the CNI pods ('kubectl get pods -A -o wide --field-selector spec.nodeName=$KC_NODE') and 'journalctl -u kubelet' on $KC_NODE"
        fi
    fi
    log "node $KC_NODE is Ready"
}

remove_node() {
    require KC_DRAIN_TIMEOUT
    if ! api_ready; then
        log "the API server does not answer (the cluster is being destroyed?): nothing to remove for node $KC_NODE"
        return 0
    fi
    if node_registered; then
        log "draining node $KC_NODE"
        run kube drain "$KC_NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout="$KC_DRAIN_TIMEOUT" ||
            log "draining $KC_NODE failed (see above); deleting the node anyway"
    fi
    run kube delete node "$KC_NODE" --ignore-not-found || die "could not delete node $KC_NODE (see above)"
    log "node $KC_NODE removed from the cluster"
}

main() {
    step_mode "${1:-}"
    require KC_NODE
    if [[ $MODE == create ]]; then wait_registered; else remove_node; fi
}

main "$@"
