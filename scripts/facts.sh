#!/usr/bin/env bash
# kc-modules: kube
# Step facts: vets the host before anything is changed on it, then prints its facts as one JSON
# line on stdout (nothing else goes to stdout). Every problem found is reported at once. On a
# control plane of a running cluster it also refuses a kubernetesVersion that would downgrade the
# cluster or skip a minor version.

# Processes that may hold the checked ports on a node this program already set up (a re-run must
# pass): the control-plane components, the kubelet and kube-proxy, the CNI daemons, and haproxy and
# keepalived of the API endpoint on a control plane.
readonly KUBE_OWNER_RE='^(kube-.*|kubelet|etcd|bird|bird6|calico-node|calico-typha|flanneld|haproxy|keepalived)$'

# listeners PROTO: "port names" for every listening socket of tcp or udp; names is a comma list
# of the owning processes, empty when the kernel owns the socket (e.g. a VXLAN device).
listeners() {
    local flag
    case $1 in tcp) flag=t ;; udp) flag=u ;; *) return 0 ;; esac
    ss -ln"$flag"p 2>/dev/null | awk '
        $1 == "State" || $1 == "Netid" { next }
        {
            port = $4; sub(/.*:/, "", port)
            names = ""; rest = $0
            while (match(rest, /\("[^"]+"/)) {
                names = names (names == "" ? "" : ",") substr(rest, RSTART + 2, RLENGTH - 3)
                rest = substr(rest, RSTART + RLENGTH)
            }
            print port, names
        }'
}

# port_problems: one sentence per checked port that something other than Kubernetes listens on.
port_problems() {
    local spec proto range lo hi port names name tcp udp kube
    tcp=$(listeners tcp)
    udp=$(listeners udp)
    for spec in ${KC_CHECK_PORTS:-}; do
        proto=${spec%%:*}
        range=${spec#*:}
        lo=${range%-*}
        hi=${range#*-}
        while read -r port names; do
            [[ $port =~ ^[0-9]+$ ]] || continue
            ((port >= lo && port <= hi)) || continue
            kube=true
            if [[ -z $names ]]; then
                # No owner shown: a kernel socket (VXLAN) for udp, unknown for tcp.
                [[ $proto == udp ]] || kube=false
            fi
            for name in ${names//,/ }; do
                [[ $name =~ $KUBE_OWNER_RE ]] || kube=false
            done
            $kube && continue
            printf '%s\n' "port $port/$proto is already in use${names:+ by $names} on $KC_HOST: Kubernetes needs it; stop that service or move it to another port, then run again"
        done < <(if [[ $proto == tcp ]]; then printf '%s\n' "$tcp"; else printf '%s\n' "$udp"; fi | sort -u)
    done
}

# address_facts: sets IFACE to the interface carrying KC_ADDRESS and ADDRESS_CIDR to that address
# with its prefix (192.168.10.11/24); both "" when no interface has it (or KC_ADDRESS is not given).
# A virtual IP the host holds (a /32 on the same interface) does not count.
address_facts() {
    IFACE="" ADDRESS_CIDR=""
    [[ -n ${KC_ADDRESS:-} ]] || return 0
    local found
    found=$(ip -o -4 addr show 2>/dev/null | awk -v want="$KC_ADDRESS/" '
        $3 == "inet" && index($4, want) == 1 { name = $2; sub(/@.*/, "", name); print name, $4; exit }') || found=""
    read -r IFACE ADDRESS_CIDR <<<"$found" || true
}

# running_version: the running cluster's version as seen from this host: set on a control plane
# whose API server answers, "" on workers and before kubeadm init.
running_version() {
    [[ $KC_ROLE == control-plane && -f $ADMIN_CONF ]] || return 0
    if ! api_ready; then
        log "$ADMIN_CONF exists but the API server does not answer: the running Kubernetes version is not checked"
        return 0
    fi
    cluster_version
}

main() {
    require KC_ROLE KC_MIN_CPUS KC_MIN_MEMORY_MB KC_KUBE_MINOR
    local n spec
    for n in KC_MIN_CPUS KC_MIN_MEMORY_MB KC_KUBE_MINOR; do
        [[ ${!n} =~ ^[0-9]+$ ]] || die "parameter $n must be a whole number (got '${!n}'): the program that sent this step has a bug"
    done
    # KC_KUBE_VERSION: the wanted version; the running one is checked against it when it is given.
    if [[ -n ${KC_KUBE_VERSION:-} ]]; then
        if ! is_version "$KC_KUBE_VERSION" || [[ $(version_minor "$KC_KUBE_VERSION") != "$KC_KUBE_MINOR" ]]; then
            die "parameter KC_KUBE_VERSION '$KC_KUBE_VERSION' is not a version 1.$KC_KUBE_MINOR.N (KC_KUBE_MINOR is $KC_KUBE_MINOR): the program that sent this step has a bug"
        fi
    fi
    for spec in ${KC_CHECK_PORTS:-}; do
        [[ $spec =~ ^(tcp|udp):[0-9]+(-[0-9]+)?$ ]] ||
            die "KC_CHECK_PORTS entry '$spec' is not proto:port or proto:from-to: the program that sent this step has a bug"
    done

    local problems=() line cpus memory_mb uuid
    identify_os
    if [[ -n $OS_PROBLEM ]]; then
        problems+=("$OS_PROBLEM")
    else
        detect_os
    fi
    if [[ -n $OS_FAMILY && -n $MAX_KUBE_MINOR ]] && ((KC_KUBE_MINOR > MAX_KUBE_MINOR)); then
        problems+=("$OS_NAME on $KC_HOST cannot run Kubernetes 1.$KC_KUBE_MINOR (cgroup v1 and kernel $(uname -r)): use Rocky 8/9 or kubernetesVersion 1.$MAX_KUBE_MINOR or lower")
    fi

    cpus=$(nproc)
    if ((cpus < KC_MIN_CPUS)); then
        problems+=("$KC_HOST has $cpus CPU(s); a $KC_ROLE needs at least $KC_MIN_CPUS: give the VM more CPUs")
    fi
    memory_mb=$(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo)
    if ((${memory_mb:-0} < KC_MIN_MEMORY_MB)); then
        problems+=("$KC_HOST has ${memory_mb:-0} MB of memory; a $KC_ROLE needs at least $KC_MIN_MEMORY_MB MB: give the VM more memory")
    fi
    while IFS= read -r line; do
        [[ -n $line ]] && problems+=("$line")
    done < <(port_problems)

    local running
    running=$(running_version)
    if [[ -n $running && -n ${KC_KUBE_VERSION:-} ]]; then
        line=$(version_change_problem "$running" "$KC_KUBE_VERSION")
        if [[ -n $line ]]; then problems+=("$line"); fi
    fi

    if ((${#problems[@]} > 0)); then
        for line in "${problems[@]}"; do
            printf '[%s] ERROR: %s\n' "$KC_HOST" "$line" >&2
        done
        die "$KC_HOST is not ready for Kubernetes: ${#problems[@]} problem(s) above; nothing was changed"
    fi

    address_facts
    if [[ -n ${KC_ADDRESS:-} && -z $IFACE ]]; then
        log "no interface carries the configured address $KC_ADDRESS (see 'ip -o -4 addr show' on $KC_HOST)"
    fi

    # Readable by root only; "" when the platform has none.
    uuid=""
    if [[ -r /sys/class/dmi/id/product_uuid ]]; then
        uuid=$(tr -d '[:space:]' </sys/class/dmi/id/product_uuid | tr 'A-F' 'a-f') || uuid=""
    fi
    printf '{"os":%s,"osVersion":%s,"family":%s,"kernel":%s,"cpus":%d,"memoryMb":%d,"productUuid":%s,"cgroup":%s,"hostname":%s,"arch":%s,"interface":%s,"addressCidr":%s,"clusterVersion":%s}\n' \
        "$(json_str "$OS_ID")" "$(json_str "$OS_VERSION")" "$(json_str "$OS_FAMILY")" "$(json_str "$KERNEL")" \
        "$cpus" "$memory_mb" "$(json_str "$uuid")" "$(json_str "$CGROUP")" "$(json_str "$(uname -n)")" "$(json_str "$ARCH")" \
        "$(json_str "$IFACE")" "$(json_str "$ADDRESS_CIDR")" "$(json_str "$running")"
    log "facts: $OS_NAME ($OS_FAMILY), kernel $KERNEL, $cpus CPU(s), $memory_mb MB, cgroup $CGROUP${IFACE:+, $ADDRESS_CIDR on $IFACE}${running:+, cluster at $running}"
}

main "$@"
