#!/usr/bin/env bash
# Step prep-firewall: with KC_FIREWALL=open-ports, opens the given ports and protocols in firewalld's
# permanent configuration, trusts the pod and service networks and turns masquerading on, reloading
# only when something was added; with KC_FIREWALL=disable, stops and disables firewalld.
# A host without a running firewalld is left as it is.

ADDED=0

# permanent QUERY ADD [ZONE_ARGS...]: adds one setting to the permanent configuration unless the
# query says it is there (e.g. permanent --query-port=6443/tcp --add-port=6443/tcp).
permanent() {
    local query=$1 add=$2
    shift 2
    if firewall-cmd --permanent "$@" "$query" >/dev/null 2>&1; then return 0; fi
    run firewall-cmd --permanent "$@" "$add" ||
        die "firewall-cmd --permanent $* $add failed on $KC_HOST (see above)"
    log "firewalld: $add${*:+ $*} (permanent)"
    ADDED=$((ADDED + 1))
}

open_ports() {
    if ! pkg_installed firewalld || ! svc_active firewalld; then
        log "firewalld is not running: no ports to open (if you start it later, run this again)"
        return 0
    fi
    local p
    for p in ${KC_TCP_PORTS:-}; do permanent "--query-port=$p/tcp" "--add-port=$p/tcp"; done
    for p in ${KC_UDP_PORTS:-}; do permanent "--query-port=$p/udp" "--add-port=$p/udp"; done
    for p in ${KC_PROTOCOLS:-}; do permanent "--query-protocol=$p" "--add-protocol=$p"; done
    # Pods and services reach each other through these networks: "no route to host" otherwise.
    for p in ${KC_TRUSTED_CIDRS:-}; do permanent "--query-source=$p" "--add-source=$p" --zone=trusted; done
    permanent --query-masquerade --add-masquerade
    # A reload that an earlier, interrupted run owed is still owed.
    if pending firewalld-reload "$((ADDED > 0))"; then
        run firewall-cmd --reload || die "firewall-cmd --reload failed on $KC_HOST (see above)"
        pending_done firewalld-reload
        log "firewalld reloaded with $ADDED new setting(s)"
    else
        log "firewalld already open for Kubernetes"
    fi
}

disable_firewalld() {
    if svc_enabled firewalld || svc_active firewalld; then
        run systemctl disable --now firewalld || die "could not stop and disable firewalld on $KC_HOST"
        log "firewalld stopped and disabled"
    else
        log "firewalld is not running"
    fi
}

main() {
    require KC_FIREWALL
    host_lock
    case $KC_FIREWALL in
    open-ports) open_ports ;;
    disable) disable_firewalld ;;
    *) die "KC_FIREWALL must be open-ports or disable (got '$KC_FIREWALL'): the program that sent this step has a bug" ;;
    esac
}

main "$@"
