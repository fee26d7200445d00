#!/usr/bin/env bash
# Step wait-nodes-ready, on the first control plane: waits until every node in KC_NODES is Ready.

main() {
    require KC_NODES KC_TIMEOUT
    [[ -f $ADMIN_CONF ]] || die "$ADMIN_CONF is missing on $KC_HOST: the control plane is not initialised"
    local n nodes=()
    for n in ${KC_NODES//,/ }; do nodes+=("node/$n"); done
    log "waiting up to $KC_TIMEOUT for ${#nodes[@]} node(s) to be Ready"
    if run kubectl --kubeconfig "$ADMIN_CONF" wait --for=condition=Ready "${nodes[@]}" --timeout="$KC_TIMEOUT"; then
        log "every node is Ready"
        return 0
    fi
    run kubectl --kubeconfig "$ADMIN_CONF" get nodes -o wide || true
    die "not every node became Ready within $KC_TIMEOUT. Nodes stay NotReady until the CNI (pod network) runs on them: check the CNI pods (kubectl get pods -A -o wide) and 'journalctl -u kubelet' on the NotReady nodes"
}

main "$@"
