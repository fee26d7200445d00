#!/usr/bin/env bash
# Step lb-keepalived-haproxy, on each control plane before its kubeadm init or join: haproxy
# forwards *:KC_ENDPOINT_PORT to every control plane's API server; keepalived holds the virtual IP
# KC_VIP on the healthiest control plane (VRRP) and gives it up when the local haproxy fails
# ($CHECK_SCRIPT).
#   create: haproxy and keepalived installed; their configuration files written (a foreign one kept
#           once as .kubeadm-cluster.bak) and checked by the tools where they can; ip_nonlocal_bind
#           on; SELinux lets haproxy connect to the API servers; both services enabled and running,
#           each restarted only when its configuration changed.
#   delete: both services stopped and disabled, the files removed (the kept originals put back);
#           the packages stay.
# keepalived.conf holds the VRRP password: it is written 0600 and never shown.

readonly HAPROXY_CFG=/etc/haproxy/haproxy.cfg
readonly CHECK_SCRIPT=/etc/keepalived/check_haproxy.sh
readonly KEEPALIVED_CONF=/etc/keepalived/keepalived.conf
# haproxy and keepalived bind to the virtual IP also on the control planes that do not hold it.
readonly SYSCTL_FILE=/etc/sysctl.d/91-kubeadm-cluster-ha.conf

# candidate PATH CONTENT: writes CONTENT to a new 0600 file beside PATH, removed however the step
# ends, for a tool to check before PATH is replaced; sets CANDIDATE to its name.
candidate() {
    mkdir -p "$(dirname "$1")"
    CANDIDATE=$(mktemp "$(dirname "$1")/.kubeadm-cluster-check.XXXXXX")
    CLEANUP_FILES+=("$CANDIDATE")
    printf '%s' "$2" >"$CANDIDATE"
}

# same_content PATH CONTENT: PATH holds exactly CONTENT.
same_content() { [[ -f $1 ]] && cmp -s "$1" <(printf '%s' "$2"); }

# install_file PATH MODE CONTENT: write_file, keeping a foreign PATH once as PATH.kubeadm-cluster.bak.
install_file() {
    if [[ -f $1 ]] && ! is_managed "$1" && ! same_content "$1" "$3"; then
        log "replacing $1, which this program did not write"
        backup_once "$1"
    fi
    write_file "$1" "$2" < <(printf '%s' "$3")
}

# check_haproxy_cfg CONTENT: haproxy -c accepts CONTENT (when haproxy is on PATH). Its output names
# the file by the path CONTENT is meant for.
check_haproxy_cfg() {
    command -v haproxy >/dev/null 2>&1 || return 0
    local out rc=0
    candidate "$HAPROXY_CFG" "$1"
    out=$(haproxy -c -f "$CANDIDATE" 2>&1) || rc=$?
    rm -f "$CANDIDATE"
    if [[ -n $out ]]; then prefix_lines <<<"${out//"$CANDIDATE"/$HAPROXY_CFG}"; fi
    ((rc == 0)) ||
        die "haproxy rejects the configuration rendered for $KC_HOST (see above); $HAPROXY_CFG was left as it was. The program that rendered it has a bug, or this haproxy ($(haproxy -v 2>/dev/null | sed -n 1p)) is older than expected"
}

# check_keepalived_conf CONTENT: keepalived -t accepts CONTENT where keepalived has a configuration
# test (2.0 and later; CentOS 7's 1.3 has none). Its output is shown without the VRRP password,
# naming the file by the path CONTENT is meant for.
check_keepalived_conf() {
    command -v keepalived >/dev/null 2>&1 || return 0
    local help out rc=0 pass
    help=$(keepalived --help 2>&1) || true
    if [[ $help != *--config-test* ]]; then
        log "this keepalived has no configuration test (keepalived --help lists no --config-test); it checks its configuration when it starts"
        return 0
    fi
    candidate "$KEEPALIVED_CONF" "$1"
    out=$(keepalived -t -f "$CANDIDATE" 2>&1) || rc=$?
    rm -f "$CANDIDATE"
    while read -r pass; do
        if [[ -n $pass ]]; then out=${out//"$pass"/<redacted password>}; fi
    done < <(printf '%s\n' "$1" | awk '$1 == "auth_pass" { print $2 }')
    if [[ -n $out ]]; then prefix_lines <<<"${out//"$CANDIDATE"/$KEEPALIVED_CONF}"; fi
    ((rc == 0)) ||
        die "keepalived rejects the configuration rendered for $KC_HOST (see above; exit $rc); $KEEPALIVED_CONF was left as it was. Check that the interface it names exists there; otherwise the program that rendered it has a bug"
}

# selinux_let_haproxy_connect: with SELinux enforcing, haproxy may connect only to HTTP ports, and
# the API servers listen on 6443.
selinux_let_haproxy_connect() {
    command -v getenforce >/dev/null 2>&1 || return 0
    [[ $(getenforce 2>/dev/null) == Enforcing ]] || return 0
    if ! command -v setsebool >/dev/null 2>&1; then
        log "WARNING: SELinux is enforcing but setsebool is missing: haproxy may be denied its connections to the API servers (install policycoreutils, then run: setsebool -P haproxy_connect_any 1)"
        return 0
    fi
    if command -v getsebool >/dev/null 2>&1 && [[ $(getsebool haproxy_connect_any 2>/dev/null) == *"--> on" ]]; then return 0; fi
    run setsebool -P haproxy_connect_any 1 ||
        die "setsebool -P haproxy_connect_any 1 failed on $KC_HOST (see above): without it SELinux denies haproxy its connections to the API servers"
    CHANGES=$((CHANGES + 1))
    log "SELinux: haproxy may connect to any port (haproxy_connect_any on)"
}

nonlocal_bind() {
    write_file "$SYSCTL_FILE" 0644 <<EOF
$MANAGED_HEADER
# haproxy and keepalived may bind to the virtual IP $KC_VIP while another control plane holds it.
net.ipv4.ip_nonlocal_bind = 1
EOF
    if pending ha-sysctl "$FILE_CHANGED"; then
        run sysctl --system || die "sysctl --system failed on $KC_HOST (see above)"
        pending_done ha-sysctl
    fi
}

# report: whether haproxy listens and where the virtual IP is, for the log.
report() {
    if [[ $(ss -ltn "sport = :$KC_ENDPOINT_PORT" 2>/dev/null) == *LISTEN* ]]; then
        log "haproxy listens on tcp port $KC_ENDPOINT_PORT"
    else
        log "WARNING: nothing listens on tcp port $KC_ENDPOINT_PORT yet: check 'systemctl status haproxy' and 'journalctl -u haproxy' on $KC_HOST"
    fi
    if ip -o -4 addr show 2>/dev/null | awk -v vip="$KC_VIP/" 'index($4, vip) == 1 { found = 1 } END { exit !found }'; then
        log "$KC_HOST holds the virtual IP $KC_VIP"
    else
        log "another control plane holds the virtual IP $KC_VIP (or keepalived has not claimed it yet; that takes a few seconds)"
    fi
}

create() {
    require KC_HAPROXY_CFG_B64 KC_CHECK_SCRIPT_B64 KC_ENDPOINT_PORT KC_VIP KC_KEEPALIVED_CONF_B64
    if [[ ! $KC_ENDPOINT_PORT =~ ^[0-9]{1,5}$ ]] || ((10#$KC_ENDPOINT_PORT < 1 || 10#$KC_ENDPOINT_PORT > 65535)); then
        die "parameter KC_ENDPOINT_PORT must be a port number (got '$KC_ENDPOINT_PORT'): the program that sent this step has a bug"
    fi
    [[ $KC_VIP =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
        die "parameter KC_VIP must be an IPv4 address (got '$KC_VIP'): the program that sent this step has a bug"
    detect_os
    local haproxy_cfg check_script keepalived_conf haproxy_changed keepalived_changed
    b64d KC_HAPROXY_CFG_B64
    haproxy_cfg=$DECODED
    b64d KC_CHECK_SCRIPT_B64
    check_script=$DECODED
    b64d KC_KEEPALIVED_CONF_B64
    keepalived_conf=$DECODED

    pkg_install haproxy keepalived
    nonlocal_bind
    selinux_let_haproxy_connect

    # The check script first: keepalived's configuration test looks for it (and keepalived runs it
    # afresh every time: no restart). Both configurations are checked before either is replaced,
    # so a refused one leaves no changed file behind whose service was not restarted.
    install_file "$CHECK_SCRIPT" 0700 "$check_script"
    if ! same_content "$HAPROXY_CFG" "$haproxy_cfg"; then check_haproxy_cfg "$haproxy_cfg"; fi
    if ! same_content "$KEEPALIVED_CONF" "$keepalived_conf"; then check_keepalived_conf "$keepalived_conf"; fi
    install_file "$HAPROXY_CFG" 0644 "$haproxy_cfg"
    haproxy_changed=0
    if pending haproxy-restart "$FILE_CHANGED"; then haproxy_changed=1; fi
    install_file "$KEEPALIVED_CONF" 0600 "$keepalived_conf"
    keepalived_changed=0
    if pending keepalived-restart "$FILE_CHANGED"; then keepalived_changed=1; fi

    # haproxy first: keepalived's check demotes this node while haproxy is down.
    svc_enable_now haproxy "$haproxy_changed"
    pending_done haproxy-restart
    svc_enable_now keepalived "$keepalived_changed"
    pending_done keepalived-restart
    report
}

# restore_or_remove PATH: puts back the original the create kept, else removes PATH if it is ours
# (a foreign file, e.g. an original put back by an earlier delete, stays).
restore_or_remove() {
    local bak=$1.kubeadm-cluster.bak
    if [[ -f $bak ]]; then
        mv -f "$bak" "$1"
        CHANGES=$((CHANGES + 1))
        log "put back the original $1"
    elif is_managed "$1"; then
        remove_file "$1"
    fi
}

delete() {
    local unit
    for unit in keepalived haproxy; do
        if svc_active "$unit" || svc_enabled "$unit"; then
            run systemctl disable --now "$unit" || log "WARNING: could not stop and disable $unit"
        fi
    done
    restore_or_remove "$KEEPALIVED_CONF"
    restore_or_remove "$CHECK_SCRIPT"
    restore_or_remove "$HAPROXY_CFG"
    if is_managed "$SYSCTL_FILE"; then remove_file "$SYSCTL_FILE"; fi
    log "keepalived and haproxy stopped and disabled${KC_VIP:+; $KC_VIP is no longer held here}; the packages stay"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == create ]]; then create; else delete; fi
}

main "$@"
