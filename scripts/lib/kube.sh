#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here are read by the steps assembled after it
# Module kube: the API server, versions, nodes, the admin kubeconfig, the Kubernetes packages and
# kubeadm's preflight options.

# ---------------------------------------------------------------------------------------------
# Kubernetes

# api_ready: the API server answers /readyz through the admin kubeconfig.
api_ready() {
    [[ -f $ADMIN_CONF ]] &&
        timeout 20 kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=15s get --raw=/readyz >/dev/null 2>&1
}

# wait_for_api SECONDS: waits until the API server answers.
wait_for_api() { poll "$1" api_ready; }

# kube ARGS...: kubectl with the admin kubeconfig.
kube() { kubectl --kubeconfig "$ADMIN_CONF" "$@"; }

# kube_query ARGS...: a bounded read-only kubectl call with the admin kubeconfig, errors hidden.
kube_query() { timeout 30 kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=20s "$@" 2>/dev/null; }

# is_version V: V is MAJOR.MINOR.PATCH (a leading v allowed).
is_version() { [[ ${1#v} =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }

# version_minor V: the minor number of V (35 for 1.35.9).
version_minor() {
    local v=${1#v}
    v=${v#*.}
    printf '%s\n' "${v%%.*}"
}

# version_cmp A B: prints -1, 0 or 1 as version A is older than, equal to or newer than B
# (both MAJOR.MINOR.PATCH, see is_version).
version_cmp() {
    local a b i
    IFS=. read -r -a a <<<"${1#v}"
    IFS=. read -r -a b <<<"${2#v}"
    for i in 0 1 2; do
        if ((10#${a[i]:-0} < 10#${b[i]:-0})); then
            echo -1
            return 0
        fi
        if ((10#${a[i]:-0} > 10#${b[i]:-0})); then
            echo 1
            return 0
        fi
    done
    echo 0
}

# version_change_problem RUNNING WANTED: the sentence refusing to move a cluster from RUNNING to
# WANTED, "" when the move is fine. kubeadm upgrades one minor at a time and never downgrades.
version_change_problem() {
    local running=${1#v} wanted=${2#v} major rmin wmin m steps=()
    if [[ $(version_cmp "$wanted" "$running") == -1 ]]; then
        printf '%s\n' "kubernetesVersion $wanted is older than the running $running: downgrades are not supported; set kubernetesVersion back to $running"
        return 0
    fi
    major=${running%%.*}
    rmin=$(version_minor "$running")
    wmin=$(version_minor "$wanted")
    ((wmin > rmin + 1)) || return 0
    for ((m = rmin + 1; m < wmin; m++)); do steps+=("$major.$m.x"); done
    local rest=""
    for m in "${steps[@]:1}" "$wanted"; do rest+=", then $m"; done
    printf '%s\n' "upgrading from $running to $wanted skips minor versions: upgrade one minor at a time — set kubernetesVersion to ${steps[0]}, run pulumi up${rest}"
}

# server_version [KUBECONFIG]: the API server's version (1.35.9) from `kubectl version -o json`
# through KUBECONFIG (default admin.conf); "" when it does not answer.
server_version() {
    local out
    out=$(timeout 30 kubectl --kubeconfig "${1:-$ADMIN_CONF}" --request-timeout=20s version -o json 2>/dev/null) || true
    printf '%s' "$out" | tr -d '\n' |
        sed -n -E 's/.*"serverVersion"[^}]*"gitVersion"[[:space:]]*:[[:space:]]*"v?([0-9]+\.[0-9]+\.[0-9]+)[^"]*".*/\1/p'
}

# configmap_version [KUBECONFIG]: kubernetesVersion of the kubeadm-config ConfigMap (1.35.9), which
# kubeadm init and kubeadm upgrade apply write (nodes may read it), through KUBECONFIG (default
# admin.conf); "" when unreadable.
configmap_version() {
    local out
    out=$(timeout 30 kubectl --kubeconfig "${1:-$ADMIN_CONF}" --request-timeout=20s -n kube-system get configmap kubeadm-config \
        -o jsonpath='{.data.ClusterConfiguration}' 2>/dev/null) || true
    printf '%s\n' "$out" | sed -n -E '/^kubernetesVersion:/{s/^kubernetesVersion:[[:space:]]*["'"'"']?v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p;q;}'
}

# cluster_version: the running cluster's version: the API server's, else the kubeadm-config
# ConfigMap's; "" when neither answers.
cluster_version() {
    local v
    v=$(server_version "$ADMIN_CONF")
    [[ -n $v ]] || v=$(configmap_version "$ADMIN_CONF")
    printf '%s\n' "$v"
}

# node_state NODE: "<Ready status> <kubeletVersion> <unschedulable>" of NODE, e.g. "True v1.35.9 "
# or "False v1.34.2 true"; "" when the node is not registered or the API server does not answer.
node_state() {
    kube_query get node "$1" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}{" "}{.status.nodeInfo.kubeletVersion}{" "}{.spec.unschedulable}' ||
        true
}

# node_at_version NODE VERSION: NODE is Ready and its kubelet reports vVERSION.
node_at_version() {
    local ready version
    read -r ready version _ <<<"$(node_state "$1")"
    [[ $ready == True && $version == "v${2#v}" ]]
}

# duration_seconds D: a kubectl/Go duration ("10m", "1h30m", "90s", "300") in seconds; fails on
# anything else.
duration_seconds() {
    local d=$1 total=0
    [[ $d =~ ^[0-9]+$ ]] && {
        echo "$d"
        return 0
    }
    [[ -n $d ]] || return 1
    while [[ $d =~ ^([0-9]+)(h|m|s)(.*)$ ]]; do
        case ${BASH_REMATCH[2]} in
        h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
        m) total=$((total + BASH_REMATCH[1] * 60)) ;;
        s) total=$((total + BASH_REMATCH[1])) ;;
        esac
        d=${BASH_REMATCH[3]}
    done
    [[ -z $d ]] || return 1
    echo "$total"
}

# root_kubeconfig_is_copy: /root/.kube/config holds the bytes of admin.conf (so it follows
# admin.conf when kubeadm renews that).
root_kubeconfig_is_copy() {
    [[ -f /root/.kube/config && -f $ADMIN_CONF ]] || return 1
    cmp -s /root/.kube/config "$ADMIN_CONF" && return 0
    # A copy of an earlier admin.conf of this cluster still counts (a run cut after kubeadm renewed
    # admin.conf must refresh it next time): the same cluster CA and server, the admin user.
    local ours theirs
    ours=$(grep -E '^[[:space:]]*(certificate-authority-data|server):' "$ADMIN_CONF")
    theirs=$(grep -E '^[[:space:]]*(certificate-authority-data|server):' /root/.kube/config)
    [[ -n $ours && $ours == "$theirs" ]] && grep -q 'kubernetes-admin' /root/.kube/config
}

# refresh_root_kubeconfig: copies admin.conf to /root/.kube/config (0600) when they differ.
refresh_root_kubeconfig() {
    [[ -f $ADMIN_CONF ]] || return 0
    cmp -s /root/.kube/config "$ADMIN_CONF" 2>/dev/null && return 0
    mkdir -p /root/.kube
    chmod 0700 /root/.kube
    install -m 0600 "$ADMIN_CONF" /root/.kube/config
    CHANGES=$((CHANGES + 1))
    log "copied the renewed $ADMIN_CONF to /root/.kube/config"
}

# ensure_root_kubeconfig: root's kubectl uses admin.conf: copied to /root/.kube/config (0600) unless
# that exists already (a kubeconfig of the user's own is left alone).
ensure_root_kubeconfig() {
    [[ -e /root/.kube/config ]] && return 0
    mkdir -p /root/.kube
    chmod 0700 /root/.kube
    install -m 0600 "$ADMIN_CONF" /root/.kube/config
    CHANGES=$((CHANGES + 1))
    log "copied $ADMIN_CONF to /root/.kube/config"
}

# Where the Kubernetes packages come from; each minor version has its own repo.
readonly KUBE_REPO_FILE=/etc/yum.repos.d/kubernetes.repo

# kube_packages_at VERSION NAME...: each of the Kubernetes packages NAME installed at exactly
# VERSION from the Kubernetes repo (which excludes them from ordinary updates): missing and older
# ones are installed, newer ones downgraded. Changes nothing when all are at VERSION.
kube_packages_at() {
    local want=${1#v} p have up=() down=() wrong=()
    shift
    for p in "$@"; do
        have=$(pkg_version "$p")
        if [[ -z $have ]] || ! is_version "$have" || [[ $(version_cmp "$have" "$want") == -1 ]]; then
            up+=("$p-$want")
        elif [[ $have != "$want" ]]; then
            down+=("$p-$want")
        fi
    done
    if ((${#up[@]} > 0)); then pkg_run_install --disableexcludes=kubernetes "${up[@]}"; fi
    if ((${#down[@]} > 0)); then pkg_run_downgrade --disableexcludes=kubernetes "${down[@]}"; fi
    for p in "$@"; do
        have=$(pkg_version "$p")
        [[ $have == "$want" ]] || wrong+=("$p ${have:-is not installed}")
    done
    if ((${#wrong[@]} > 0)); then
        local list
        list=$(printf '%s, ' "${wrong[@]}")
        die "${list%, } on $KC_HOST after installing $want: does the repo in $KUBE_REPO_FILE have that version?"
    fi
}


# kubeadm_preflight: sets KUBEADM_PREFLIGHT_ARGS for the installed kubeadm (after detect_os).
# kubeadm's SystemVerification refuses kernels older than 4.19 from 1.32 on (EL7's 3.10 and EL8's
# 4.18 carry the needed features as backports), and from 1.35 on it refuses cgroup v1 unless the
# check is skipped and the kubelet runs with failCgroupV1: false (which the program renders). There
# that one check is skipped.
kubeadm_preflight() {
    local minor
    KUBEADM_PREFLIGHT_ARGS=()
    if kernel_older_than 4 19; then
        KUBEADM_PREFLIGHT_ARGS=(--ignore-preflight-errors=SystemVerification)
    elif [[ $CGROUP == v1 ]]; then
        minor=$(kubeadm version -o short 2>/dev/null | sed -n -E 's/^v1\.([0-9]+)\..*/\1/p')
        if [[ -n $minor ]] && ((minor >= 35)); then
            log "$KC_HOST runs cgroup v1, which the kubelet refuses from Kubernetes 1.35 unless told otherwise: kubeadm's system verification is skipped and the kubelet runs with failCgroupV1: false. Cgroup v1 support ends in a later release: move the host to cgroup v2 (kernel argument systemd.unified_cgroup_hierarchy=1, then a reboot)"
            KUBEADM_PREFLIGHT_ARGS=(--ignore-preflight-errors=SystemVerification)
        fi
    fi
}
