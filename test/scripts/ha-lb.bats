#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# What answers on the API endpoint of a highly-available control plane: lb-keepalived-haproxy
# (haproxy + keepalived holding the virtual IP) and lb-kube-vip (kube-vip's static pod). Files,
# modes, checks, restarts only on change, the VRRP password never shown, and the delete paths.

bats_require_minimum_version 1.5.0
load helpers
load standins

readonly PASSWORD=Pw3xY9zQ

haproxy_cfg() { # [EXTRA LINE]
    printf '# managed by kubeadm-cluster\nglobal\n    user haproxy\n%s\ndefaults\n    mode tcp\n\nfrontend kube-apiserver\n    bind *:8443\n    default_backend kube-apiserver\n\nbackend kube-apiserver\n    server cp1 10.0.0.11:6443 check\n    server cp2 10.0.0.12:6443 check\n' "${1:-}"
}

check_script() {
    printf '#!/bin/bash\n# managed by kubeadm-cluster\nsystemctl is-active --quiet haproxy\n'
}

keepalived_conf() { # [EXTRA LINE] [SCRIPT PATH]
    printf '# managed by kubeadm-cluster\nglobal_defs {\n%s\n    enable_script_security\n    script_user root\n}\nvrrp_script chk_haproxy {\n    script "%s"\n    interval 2\n    weight -20\n}\nvrrp_instance VI_KUBE_API {\n    state BACKUP\n    interface %s\n    virtual_router_id 51\n    priority 150\n    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n    virtual_ipaddress {\n        10.0.0.100/32 dev %s\n    }\n    track_script {\n        chk_haproxy\n    }\n}\n' \
        "${1:-}" "${2:-/etc/keepalived/check_haproxy.sh}" "${IFACE:-eth0}" "$PASSWORD" "${IFACE:-eth0}"
}

b64() { base64 -w0; }

setup() {
    new_host
    standin haproxy keepalived
    KC_HAPROXY_CFG_B64=$(haproxy_cfg | b64)
    KC_CHECK_SCRIPT_B64=$(check_script | b64)
    KC_KEEPALIVED_CONF_B64=$(keepalived_conf | b64)
    export KC_HAPROXY_CFG_B64 KC_CHECK_SCRIPT_B64 KC_KEEPALIVED_CONF_B64 KC_ENDPOINT_PORT=8443 KC_VIP=10.0.0.100
}

# no_password: the VRRP password is nowhere in what the step printed.
no_password() {
    [[ $output != *"$PASSWORD"* && $stderr != *"$PASSWORD"* ]]
}

readonly LB_CREATE_CALLS='dnf install -y haproxy keepalived
sysctl --system
systemctl enable haproxy
systemctl start haproxy
systemctl enable keepalived
systemctl start keepalived'

# --- lb-keepalived-haproxy --------------------------------------------------------------------

@test "lb-keepalived-haproxy create: packages, the three files checked and written, sysctl, both services; a second run changes nothing" {
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(echo "$LB_CREATE_CALLS")
    cmp "$ROOT/etc/haproxy/haproxy.cfg" <(haproxy_cfg)
    cmp "$ROOT/etc/keepalived/check_haproxy.sh" <(check_script)
    cmp "$ROOT/etc/keepalived/keepalived.conf" <(keepalived_conf)
    [ "$(stat -c %a "$ROOT/etc/haproxy/haproxy.cfg")" = 644 ]
    [ "$(stat -c %a "$ROOT/etc/keepalived/check_haproxy.sh")" = 700 ]
    [ "$(stat -c %a "$ROOT/etc/keepalived/keepalived.conf")" = 600 ]
    diff "$ROOT/etc/sysctl.d/91-kubeadm-cluster-ha.conf" - <<'E'
# managed by kubeadm-cluster
# haproxy and keepalived may bind to the virtual IP 10.0.0.100 while another control plane holds it.
net.ipv4.ip_nonlocal_bind = 1
E
    # Both configurations were checked before they were put in place; the copies are gone.
    grep -qE '^haproxy -c -f /etc/haproxy/\.kubeadm-cluster-check\.[A-Za-z0-9]+$' "$CALLS"
    grep -qx 'keepalived --help' "$CALLS"
    grep -qE '^keepalived -t -f /etc/keepalived/\.kubeadm-cluster-check\.[A-Za-z0-9]+$' "$CALLS"
    [ -z "$(find "$ROOT/etc" -name '.kubeadm-cluster*')" ]
    [ "$(cat "$S/units/haproxy.service" "$S/units/keepalived.service")" = "$(printf 'enabled active\nenabled active')" ]
    [[ $stderr == *"[testhost] WARNING: nothing listens on tcp port 8443 yet: check 'systemctl status haproxy' and 'journalctl -u haproxy' on testhost"* ]]
    [[ $stderr == *"[testhost] another control plane holds the virtual IP 10.0.0.100"* ]]
    no_password

    : >"$CALLS"
    mkdir -p "$S/listen" && : >"$S/listen/8443"
    printf '2: eth0    inet 10.0.0.11/24 scope global eth0\n2: eth0    inet 10.0.0.100/32 scope global eth0\n' >"$S/addrs"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
    # Nothing changed, so nothing was checked again.
    [ "$(grep -cE '^(haproxy -c|keepalived)' "$CALLS")" = 0 ]
    [[ $stderr != *"wrote"* ]]
    [[ $stderr == *"[testhost] haproxy listens on tcp port 8443"* ]]
    [[ $stderr == *"[testhost] testhost holds the virtual IP 10.0.0.100"* ]]
    no_password
}

@test "lb-keepalived-haproxy create: only the service whose configuration changed is restarted" {
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]

    KC_HAPROXY_CFG_B64=$(haproxy_cfg '    maxconn 4000' | b64)
    : >"$CALLS"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "systemctl restart haproxy" ]

    KC_KEEPALIVED_CONF_B64=$(keepalived_conf '    router_id cp1' | b64)
    : >"$CALLS"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "systemctl restart keepalived" ]
    no_password

    # The check script is read at each run of the check: no restart.
    KC_CHECK_SCRIPT_B64=$( (check_script; echo 'ss -ltn') | b64)
    : >"$CALLS"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
    [[ $stderr == *"[testhost] wrote $ROOT/etc/keepalived/check_haproxy.sh"* ]]
}

@test "lb-keepalived-haproxy: the packaged configurations are kept once and put back by delete, which leaves the packages" {
    mkdir -p "$ROOT/etc/haproxy" "$ROOT/etc/keepalived"
    printf 'global\n    log /dev/log local0\n' >"$ROOT/etc/haproxy/haproxy.cfg"
    printf '! Configuration File for keepalived\n' >"$ROOT/etc/keepalived/keepalived.conf"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ "$(cat "$ROOT/etc/haproxy/haproxy.cfg.kubeadm-cluster.bak")" = "$(printf 'global\n    log /dev/log local0')" ]
    [ "$(cat "$ROOT/etc/keepalived/keepalived.conf.kubeadm-cluster.bak")" = '! Configuration File for keepalived' ]
    [ ! -e "$ROOT/etc/keepalived/check_haproxy.sh.kubeadm-cluster.bak" ]
    [[ $stderr == *"[testhost] replacing $ROOT/etc/haproxy/haproxy.cfg, which this program did not write"* ]]

    # A changed rendering replaces our own file: the original stays the one kept.
    KC_HAPROXY_CFG_B64=$(haproxy_cfg '    maxconn 4000' | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ "$(cat "$ROOT/etc/haproxy/haproxy.cfg.kubeadm-cluster.bak")" = "$(printf 'global\n    log /dev/log local0')" ]

    : >"$CALLS"
    step lb-keepalived-haproxy delete
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
systemctl disable --now keepalived
systemctl disable --now haproxy
E
    [ "$(cat "$ROOT/etc/haproxy/haproxy.cfg")" = "$(printf 'global\n    log /dev/log local0')" ]
    [ "$(cat "$ROOT/etc/keepalived/keepalived.conf")" = '! Configuration File for keepalived' ]
    [ ! -e "$ROOT/etc/keepalived/check_haproxy.sh" ]
    [ ! -e "$ROOT/etc/sysctl.d/91-kubeadm-cluster-ha.conf" ]
    [ -z "$(find "$ROOT/etc" -name '*.kubeadm-cluster.bak')" ]
    [ "$(cat "$S/units/haproxy.service" "$S/units/keepalived.service")" = "$(printf 'disabled inactive\ndisabled inactive')" ]
    # The packages stay.
    [ -f "$S/rpm/haproxy" ] && [ -f "$S/rpm/keepalived" ]
    [[ $stderr == *"[testhost] keepalived and haproxy stopped and disabled; 10.0.0.100 is no longer held here; the packages stay"* ]]

    : >"$CALLS"
    step lb-keepalived-haproxy delete
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
    [[ $stderr != *"removed"* && $stderr != *"put back"* ]]
    [ -f "$ROOT/etc/haproxy/haproxy.cfg" ] && [ -f "$ROOT/etc/keepalived/keepalived.conf" ]
}

@test "lb-keepalived-haproxy delete: our own files are removed; a host without the services is fine" {
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    step lb-keepalived-haproxy delete
    [ "$status" -eq 0 ]
    for f in haproxy/haproxy.cfg keepalived/check_haproxy.sh keepalived/keepalived.conf sysctl.d/91-kubeadm-cluster-ha.conf; do
        [ ! -e "$ROOT/etc/$f" ]
    done

    new_host
    step lb-keepalived-haproxy delete
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}

@test "lb-keepalived-haproxy create: a configuration haproxy refuses is not put in place" {
    KC_HAPROXY_CFG_B64=$(haproxy_cfg bogus | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] [ALERT]    (1) : config : parsing [$ROOT/etc/haproxy/haproxy.cfg:2] : unknown keyword 'bogus' out of section."* ]]
    [[ $stderr == *"[testhost] ERROR: haproxy rejects the configuration rendered for testhost (see above); $ROOT/etc/haproxy/haproxy.cfg was left as it was. The program that rendered it has a bug, or this haproxy (HAProxy version 2.4.22-f8e3218 2023/02/14 - https://haproxy.org/) is older than expected"* ]]
    [ ! -e "$ROOT/etc/haproxy/haproxy.cfg" ]
    [ -z "$(find "$ROOT/etc" -name '.kubeadm-cluster*')" ]
    [ "$(grep -c '^systemctl' "$CALLS")" = 0 ]
}

@test "lb-keepalived-haproxy create: a configuration keepalived refuses is not put in place, and its complaint does not show the password" {
    KC_KEEPALIVED_CONF_B64=$(keepalived_conf bogus | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ($ROOT/etc/keepalived/keepalived.conf: Line 2) Unknown keyword 'bogus'"* ]]
    [[ $stderr == *"auth_pass <redacted password>"* ]]
    [[ $stderr == *"[testhost] ERROR: keepalived rejects the configuration rendered for testhost (see above; exit 5); $ROOT/etc/keepalived/keepalived.conf was left as it was."* ]]
    no_password
    # Neither configuration was replaced: haproxy's, though fine, waits for keepalived's.
    [ ! -e "$ROOT/etc/keepalived/keepalived.conf" ] && [ ! -e "$ROOT/etc/haproxy/haproxy.cfg" ]
    [ -z "$(find "$ROOT/etc" -name '.kubeadm-cluster*')" ]
    [ "$(grep -c 'keepalived' <(grep '^systemctl' "$CALLS"))" = 0 ]
}

@test "lb-keepalived-haproxy create: keepalived without a configuration test (1.3) and hosts without the tools skip the checks" {
    : >"$S/keepalived-old"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    grep -qx 'keepalived --help' "$CALLS"
    [ "$(grep -c '^keepalived -t' "$CALLS")" = 0 ]
    [[ $stderr == *"[testhost] this keepalived has no configuration test (keepalived --help lists no --config-test); it checks its configuration when it starts"* ]]

    # Neither haproxy nor keepalived on PATH (the package manager here is a stand-in).
    new_host
    rm -f "$BIN/haproxy" "$BIN/keepalived"
    HOST_PATH=/usr/bin:/bin step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(echo "$LB_CREATE_CALLS")
    [ "$(grep -cE '^(haproxy|keepalived)' "$CALLS")" = 0 ]
    cmp "$ROOT/etc/keepalived/keepalived.conf" <(keepalived_conf)
}

@test "lb-keepalived-haproxy create: with SELinux enforcing haproxy may connect to the API servers, once" {
    echo Enforcing >"$S/selinux"
    standin setsebool getsebool
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(sed '2a setsebool -P haproxy_connect_any 1' <<<"$LB_CREATE_CALLS")
    [[ $stderr == *"[testhost] SELinux: haproxy may connect to any port (haproxy_connect_any on)"* ]]

    : >"$CALLS"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}

@test "lb-keepalived-haproxy create: SELinux enforcing without setsebool is a warning; permissive needs nothing" {
    if PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v setsebool >/dev/null; then skip "a real setsebool is installed here"; fi
    echo Enforcing >"$S/selinux"
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] WARNING: SELinux is enforcing but setsebool is missing"* ]]

    new_host
    standin haproxy keepalived setsebool getsebool
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [ "$(grep -c sebool "$CALLS")" = 0 ]
}

@test "lb-keepalived-haproxy create: parameters the program got wrong are refused before anything changes" {
    KC_ENDPOINT_PORT=84x3 step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: parameter KC_ENDPOINT_PORT must be a port number (got '84x3'): the program that sent this step has a bug"* ]]
    KC_ENDPOINT_PORT=70000 step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    KC_VIP=10.0.0 step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"parameter KC_VIP must be an IPv4 address (got '10.0.0')"* ]]
    KC_KEEPALIVED_CONF_B64="" step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"missing parameter(s) KC_KEEPALIVED_CONF_B64 for lb-keepalived-haproxy"* ]]
    [ -z "$(changing_calls)" ]
    step lb-keepalived-haproxy
    [ "$status" -eq 1 ]
    [[ $stderr == *"lb-keepalived-haproxy needs a mode argument, create or delete"* ]]
}

@test "lb-keepalived-haproxy create: the real haproxy and keepalived (when installed) accept the configurations, and refuse broken ones without showing the password" {
    [ "$(id -u)" = 0 ] || skip "keepalived's configuration test runs as root"
    for t in haproxy keepalived; do
        PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t" >/dev/null || skip "$t is not installed here"
    done
    getent passwd haproxy >/dev/null || skip "no haproxy user here"
    rm -f "$BIN/haproxy" "$BIN/keepalived"
    # keepalived wants a real, non-loopback interface.
    IFACE=$(ip -o -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    [ -n "$IFACE" ] || skip "no default route here to take an interface from"
    # The check script as the step writes it, under the fake root.
    KC_KEEPALIVED_CONF_B64=$(keepalived_conf "" "$ROOT/etc/keepalived/check_haproxy.sh" | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 0 ]
    [[ $stderr == *"Configuration file is valid"* ]]
    [[ $stderr != *"has no configuration test"* ]] || skip "this keepalived has no configuration test"
    no_password

    new_host
    rm -f "$BIN/haproxy" "$BIN/keepalived"
    KC_HAPROXY_CFG_B64=$(haproxy_cfg '    no-such-keyword 1' | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"ERROR: haproxy rejects the configuration rendered for testhost"* ]]

    new_host
    rm -f "$BIN/haproxy" "$BIN/keepalived"
    KC_HAPROXY_CFG_B64=$(haproxy_cfg | b64)
    KC_KEEPALIVED_CONF_B64=$(keepalived_conf "" "$ROOT/etc/keepalived/check_haproxy.sh" | sed "s/interface $IFACE/interface kc-nosuch0/" | b64)
    step lb-keepalived-haproxy create
    [ "$status" -eq 1 ]
    [[ $stderr == *"ERROR: keepalived rejects the configuration rendered for testhost"* ]]
    no_password
    [ ! -e "$ROOT/etc/keepalived/keepalived.conf" ]
}

# --- lb-kube-vip ------------------------------------------------------------------------------

kube_vip_manifest() {
    printf '# managed by kubeadm-cluster\napiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-vip\n  namespace: kube-system\nspec:\n  containers:\n    - name: kube-vip\n      image: ghcr.io/kube-vip/kube-vip:v1.2.4\n      env:\n        - name: address\n          value: 10.0.0.100\n      volumeMounts:\n        - name: kubeconfig\n          mountPath: /etc/kubernetes/admin.conf\n          readOnly: true\n  hostNetwork: true\n  volumes:\n    - name: kubeconfig\n      hostPath:\n        path: /etc/kubernetes/admin.conf\n        type: File\n'
}

kube_vip_params() { # FIRST
    KC_KUBE_VIP_MANIFEST_B64=$(kube_vip_manifest | b64)
    export KC_KUBE_VIP_MANIFEST_B64 KC_FIRST_CONTROL_PLANE=$1 KC_VIP=10.0.0.100
}

@test "lb-kube-vip create: on the first control plane before init kube-vip mounts super-admin.conf; a second run changes nothing" {
    rm -rf "$ROOT/etc/kubernetes"
    kube_vip_params true
    step lb-kube-vip create
    [ "$status" -eq 0 ]
    local m=$ROOT/etc/kubernetes/manifests/kube-vip.yaml
    [ "$(stat -c %a "$m")" = 600 ]
    diff <(kube_vip_manifest) "$m" | grep -E '^[<>]' >"$BATS_TEST_TMPDIR/diff" || true
    diff "$BATS_TEST_TMPDIR/diff" - <<'E'
<         path: /etc/kubernetes/admin.conf
>         path: /etc/kubernetes/super-admin.conf
E
    [[ $stderr == *"[testhost] kube-vip uses super-admin.conf until kubeadm init has finished here (admin.conf gets its rights only at the end of init)"* ]]
    [[ $stderr == *"[testhost] kube-vip's static pod is in place: it holds 10.0.0.100 on one control plane once the kubelet runs it"* ]]
    [ -z "$(changing_calls)" ]

    step lb-kube-vip create
    [ "$status" -eq 0 ]
    [[ $stderr != *"wrote"* ]]
}

@test "lb-kube-vip create: once the cluster is initialised, and on the other control planes, the manifest is written as rendered" {
    kube_vip_params true
    : >"$ROOT/etc/kubernetes/admin.conf"
    step lb-kube-vip create
    [ "$status" -eq 0 ]
    cmp "$ROOT/etc/kubernetes/manifests/kube-vip.yaml" <(kube_vip_manifest)
    [[ $stderr != *"super-admin"* ]]

    new_host
    kube_vip_params false
    step lb-kube-vip create
    [ "$status" -eq 0 ]
    cmp "$ROOT/etc/kubernetes/manifests/kube-vip.yaml" <(kube_vip_manifest)
}

@test "lb-kube-vip create: a manifest without the admin.conf mount is refused on the first control plane" {
    kube_vip_params true
    KC_KUBE_VIP_MANIFEST_B64=$(kube_vip_manifest | sed 's#path: /etc/kubernetes/admin.conf#path: /root/kv.conf#' | b64)
    step lb-kube-vip create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the kube-vip manifest sent to testhost mounts no admin.conf from the host (a hostPath 'path: .../admin.conf'): the program that rendered it has a bug"* ]]
    [ ! -e "$ROOT/etc/kubernetes/manifests/kube-vip.yaml" ]

    KC_FIRST_CONTROL_PLANE=yes step lb-kube-vip create
    [ "$status" -eq 1 ]
    [[ $stderr == *"parameter KC_FIRST_CONTROL_PLANE must be true or false (got 'yes')"* ]]
}

@test "lb-kube-vip delete: the manifest goes; a second delete changes nothing" {
    kube_vip_params false
    step lb-kube-vip create
    [ "$status" -eq 0 ]
    step lb-kube-vip delete
    [ "$status" -eq 0 ]
    [ ! -e "$ROOT/etc/kubernetes/manifests/kube-vip.yaml" ]
    [[ $stderr == *"[testhost] removed $ROOT/etc/kubernetes/manifests/kube-vip.yaml"* ]]
    [[ $stderr == *"[testhost] kube-vip removed from testhost; it no longer holds 10.0.0.100 here"* ]]
    step lb-kube-vip delete
    [ "$status" -eq 0 ]
    [[ $stderr != *"removed $ROOT"* ]]
}
