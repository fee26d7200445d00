#!/usr/bin/env bash
# kc-modules: kube
# Step node-drain, on the first control plane, for one node being upgraded:
#   KC_ACTION=drain:    cordons and drains the node, unless its kubelet reports KC_KUBE_VERSION
#                       already (an interrupted upgrade that got that far).
#   KC_ACTION=uncordon: makes the node schedulable and waits (up to KC_READY_TIMEOUT) until it is
#                       Ready with its kubelet at KC_KUBE_VERSION.
# Nothing to do without a cluster.

readonly API_WAIT_SECONDS=180

drain_node() {
    require KC_DRAIN_TIMEOUT
    local ready version
    read -r ready version _ <<<"$(node_state "$KC_NODE")"
    if [[ -z $ready$version ]]; then
        if ! kube_query get node "$KC_NODE" -o name >/dev/null; then
            log "node $KC_NODE is not registered: nothing to drain"
            return 0
        fi
    fi
    if [[ $version == "v$WANT" ]]; then
        log "node $KC_NODE is already at $WANT, not drained"
        return 0
    fi
    log "draining node $KC_NODE (kubelet ${version:-unknown}, up to $KC_DRAIN_TIMEOUT)"
    run kube drain "$KC_NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout="$KC_DRAIN_TIMEOUT" ||
        die "draining node $KC_NODE failed within $KC_DRAIN_TIMEOUT (see above); it stays cordoned and is not upgraded. See what holds it with 'kubectl get pods -A -o wide --field-selector spec.nodeName=$KC_NODE' (a PodDisruptionBudget that allows no eviction?), fix that, then run pulumi up again: the upgrade resumes from here"
    log "node $KC_NODE drained"
}

uncordon_node() {
    require KC_READY_TIMEOUT
    local seconds
    seconds=$(duration_seconds "$KC_READY_TIMEOUT") ||
        die "parameter KC_READY_TIMEOUT '$KC_READY_TIMEOUT' is not a duration like 10m: the program that sent this step has a bug"
    run kube uncordon "$KC_NODE" ||
        die "could not uncordon node $KC_NODE (see above): is it registered ('kubectl get nodes')? Then run pulumi up again"
    log "waiting up to $KC_READY_TIMEOUT for node $KC_NODE to be Ready with kubelet v$WANT"
    if ! poll "$seconds" node_at_version "$KC_NODE" "$WANT"; then
        run kube get node "$KC_NODE" -o wide || true
        die "node $KC_NODE did not become Ready with kubelet v$WANT within $KC_READY_TIMEOUT: check 'journalctl -u kubelet' on $KC_NODE; the next 'pulumi up' resumes the upgrade from here"
    fi
    log "node $KC_NODE is Ready with kubelet v$WANT and schedulable"
}

main() {
    require KC_ACTION KC_NODE KC_KUBE_VERSION
    [[ $KC_ACTION == drain || $KC_ACTION == uncordon ]] ||
        die "parameter KC_ACTION must be drain or uncordon (got '$KC_ACTION'): the program that sent this step has a bug"
    is_version "$KC_KUBE_VERSION" ||
        die "parameter KC_KUBE_VERSION '$KC_KUBE_VERSION' is not a version like 1.35.9: the program that sent this step has a bug"
    WANT=${KC_KUBE_VERSION#v}
    if [[ ! -f $ADMIN_CONF ]]; then
        log "no cluster yet: nothing to $KC_ACTION"
        return 0
    fi
    if ! api_ready; then
        log "waiting up to 3 minutes for the API server"
        wait_for_api "$API_WAIT_SECONDS" ||
            die "the API server on $KC_HOST does not answer, so it cannot $KC_ACTION node $KC_NODE: check 'systemctl status kubelet' and 'crictl ps -a' there, then run pulumi up again"
    fi
    if [[ $KC_ACTION == drain ]]; then drain_node; else uncordon_node; fi
}

main "$@"
