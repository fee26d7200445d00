#!/usr/bin/env bash
# kc-modules: kube
# Step upgrade-control-plane, on the first control plane: moves the cluster one minor (or a patch)
# up to KC_KUBE_VERSION, in kubeadm's order:
#   the repo file of the target minor -> kubeadm -> kubeadm upgrade plan (logged) -> kubeadm
#   upgrade apply (unless the cluster is there already) -> drain this node -> kubelet and kubectl
#   -> daemon-reload, restart the kubelet -> uncordon -> wait until the node is Ready at the target.
# Every part is guarded by the state it creates, so a run cut anywhere resumes where it stopped;
# $UPGRADING marks a node part (drain .. uncordon) that is under way. Nothing to do without a
# cluster, or when the cluster and this node's kubelet are at the target already.

readonly UPGRADING=$STATE_DIR/upgrading
readonly MANIFESTS=/etc/kubernetes/manifests
# How long the API server gets to answer (e.g. just after a reboot), and the node to come back.
readonly API_WAIT_SECONDS=180
readonly READY_SECONDS=300

# manifest_version: the version of this host's kube-apiserver static pod (its image tag), which
# kubeadm upgrade apply moves; "" when unreadable.
manifest_version() {
    [[ -r $MANIFESTS/kube-apiserver.yaml ]] || return 0
    sed -n -E '/^[[:space:]]*image:.*kube-apiserver:v?[0-9]/{s/.*kube-apiserver:v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p;q;}' \
        "$MANIFESTS/kube-apiserver.yaml"
}

# read_versions: CM_VERSION (kubeadm-config), LOCAL_VERSION (this host's API server manifest),
# SERVER_VERSION (the API server answering, maybe another control plane's behind a load
# balancer), KUBELET_VERSION (this node's package) and MARKER (the version whose node part is under
# way, "" for none).
read_versions() {
    CM_VERSION=$(configmap_version "$ADMIN_CONF")
    LOCAL_VERSION=$(manifest_version)
    SERVER_VERSION=$(server_version "$ADMIN_CONF")
    KUBELET_VERSION=$(pkg_version kubelet)
    MARKER=""
    if [[ -f $UPGRADING ]]; then MARKER=$(head -n 1 "$UPGRADING"); fi
}

# cluster_at_target: kubeadm upgrade apply has finished: kubeadm-config says the target and so does
# this host's API server (its manifest; the API server's answer when the manifest has no version).
cluster_at_target() {
    [[ $CM_VERSION == "$WANT" ]] || return 1
    if [[ -n $LOCAL_VERSION ]]; then
        [[ $LOCAL_VERSION == "$WANT" ]]
    else
        [[ $SERVER_VERSION == "$WANT" ]]
    fi
}

# node_part_needed: this node's kubelet is not at the target yet, or moving it was cut short.
node_part_needed() { [[ $KUBELET_VERSION != "$WANT" || $MARKER == "$WANT" ]]; }

check_path() {
    local v problem
    [[ -n $CM_VERSION || -n $LOCAL_VERSION || -n $SERVER_VERSION ]] ||
        die "cannot read the cluster's version on $KC_HOST (the kubeadm-config ConfigMap and 'kubectl version' both failed): check the API server there ('kubectl --kubeconfig $ADMIN_CONF get --raw=/readyz'), then run pulumi up again"
    for v in $CM_VERSION $LOCAL_VERSION $SERVER_VERSION; do
        problem=$(version_change_problem "$v" "$WANT")
        [[ -z $problem ]] || die "$problem"
    done
}

# allow_cgroup_v1_kubelets: from 1.35 the kubelet refuses a cgroup v1 host (EL8 and CentOS 7 boot
# with v1) unless its configuration says failCgroupV1: false. kubeadm upgrade writes every node's
# kubelet configuration from the kubelet-config ConfigMap; in a cluster made before 1.35 by an
# earlier version of this program the field is missing there, so it is added (kubeadm's way for a
# cluster-wide kubelet setting) before the upgrade.
allow_cgroup_v1_kubelets() {
    local current patch
    current=$(kube_query -n kube-system get configmap kubelet-config -o 'jsonpath={.data.kubelet}') ||
        die "cannot read the kubelet-config ConfigMap on $KC_HOST: check the API server there, then run pulumi up again"
    if grep -qE '^failCgroupV1:' <<<"$current"; then return 0; fi
    patch=$(printf '%s\nfailCgroupV1: false\n' "${current%$'\n'}" | json_text)
    run kube -n kube-system patch configmap kubelet-config --type merge -p "{\"data\":{\"kubelet\":$patch}}" ||
        die "could not set failCgroupV1: false in the kubelet-config ConfigMap on $KC_HOST (see above); without it a cgroup v1 node's kubelet $WANT does not start"
    log "set failCgroupV1: false in the kubelet-config ConfigMap: from 1.35 the kubelet refuses cgroup v1 hosts (EL8, CentOS 7) otherwise"
}

apply_upgrade() {
    log "kubeadm upgrade plan v$WANT:"
    run timeout 5m kubeadm upgrade plan "v$WANT" ||
        log "kubeadm upgrade plan failed (see above); kubeadm upgrade apply checks again"
    local copy=false
    if root_kubeconfig_is_copy; then copy=true; fi
    log "running kubeadm upgrade apply v$WANT (up to 20 minutes)"
    kubeadm_preflight
    run timeout 20m kubeadm upgrade apply "v$WANT" -y ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm upgrade apply v$WANT failed on $KC_HOST (see above): fix what it reports, then run pulumi up again; the upgrade resumes from here (kubeadm upgrade apply may be repeated)"
    # kubeadm renewed admin.conf; a copy of the old one keeps working only until it expires.
    if $copy; then refresh_root_kubeconfig; fi
    log "the control plane runs $WANT"
}

# node_count: how many nodes the cluster has (0 when unknown).
node_count() {
    local names
    names=$(kube_query get nodes -o name) || names=""
    grep -c . <<<"$names" || true
}

drain_self() {
    log "draining node $KC_NODE (up to $KC_DRAIN_TIMEOUT)"
    if run kube drain "$KC_NODE" --ignore-daemonsets --delete-emptydir-data --timeout="$KC_DRAIN_TIMEOUT"; then
        return 0
    fi
    if (($(node_count) <= 1)); then
        log "draining $KC_NODE failed (see above); it is the only node, so its pods stay on it while its kubelet is upgraded"
        return 0
    fi
    die "draining node $KC_NODE failed within $KC_DRAIN_TIMEOUT (see above); it stays cordoned and its kubelet is not upgraded yet. See what holds it with 'kubectl get pods -A -o wide --field-selector spec.nodeName=$KC_NODE' (a PodDisruptionBudget that allows no eviction, a pod without a controller), fix that, then run pulumi up again: the upgrade resumes from here"
}

upgrade_node_part() {
    if ! node_part_needed; then
        log "kubelet $WANT already runs on $KC_HOST"
        return 0
    fi
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$UPGRADING" 0644 <<<"$WANT"
    drain_self
    kube_packages_at "$WANT" kubelet kubectl
    svc_daemon_reload
    svc_restart kubelet
    run kube uncordon "$KC_NODE" ||
        die "could not uncordon node $KC_NODE (see above): check the API server on $KC_HOST, then run pulumi up again; the upgrade resumes from here"
    log "waiting up to 5 minutes for node $KC_NODE to be Ready with kubelet v$WANT"
    if ! poll "$READY_SECONDS" node_at_version "$KC_NODE" "$WANT"; then
        run kube get node "$KC_NODE" -o wide || true
        die "node $KC_NODE did not become Ready with kubelet v$WANT within 5 minutes: check 'journalctl -u kubelet' on $KC_HOST; the next 'pulumi up' resumes the upgrade from here"
    fi
    remove_file "$UPGRADING"
    log "node $KC_NODE is Ready with kubelet v$WANT"
}

main() {
    require KC_KUBE_VERSION KC_KUBE_REPO_B64 KC_NODE KC_DRAIN_TIMEOUT
    is_version "$KC_KUBE_VERSION" ||
        die "parameter KC_KUBE_VERSION '$KC_KUBE_VERSION' is not a version like 1.35.9: the program that sent this step has a bug"
    WANT=${KC_KUBE_VERSION#v}
    host_lock
    if [[ ! -f $ADMIN_CONF ]]; then
        log "no cluster yet: nothing to upgrade"
        return 0
    fi
    detect_os
    b64d KC_KUBE_REPO_B64
    if ! api_ready; then
        log "waiting up to 3 minutes for the API server"
        wait_for_api "$API_WAIT_SECONDS" ||
            die "the API server on $KC_HOST does not answer, so the cluster cannot be upgraded: check 'systemctl status kubelet', 'crictl ps -a' and 'journalctl -u kubelet' there, then run pulumi up again"
    fi
    read_versions
    if cluster_at_target && ! node_part_needed; then
        log "already at $WANT: the cluster and the kubelet on $KC_HOST"
        return 0
    fi
    check_path
    log "upgrading the cluster from ${CM_VERSION:-${LOCAL_VERSION:-$SERVER_VERSION}} to $WANT"
    write_file "$KUBE_REPO_FILE" 0644 < <(printf '%s' "$DECODED")
    kube_packages_at "$WANT" kubeadm
    if cluster_at_target; then
        log "kubeadm upgrade apply v$WANT is done already"
    else
        if (($(version_minor "$WANT") >= 35)); then allow_cgroup_v1_kubelets; fi
        apply_upgrade
    fi
    upgrade_node_part
    log "cluster upgraded to $WANT"
}

main "$@"
