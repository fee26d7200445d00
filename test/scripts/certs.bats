#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# certs: the expiry report parsed from `kubeadm certs check-expiration`, the renewal and the
# restart of the static pods that makes them load the renewed certificates.

bats_require_minimum_version 1.5.0
load helpers
load standins

# kubeadm 1.31's output, its tabwriter padding and trailing blanks kept.
readonly KUBEADM_TABLE='[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[check-expiration] Use '"'"'kubeadm init phase upload-config --config your-config-file'"'"' to re-upload it.

CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
admin.conf                 Aug 19, 2026 09:03 UTC   360d            ca                      no      
apiserver                  Aug 19, 2026 09:03 UTC   360d            ca                      no      
apiserver-etcd-client      Aug 19, 2026 09:03 UTC   360d            etcd-ca                 no      
apiserver-kubelet-client   Aug 19, 2026 09:03 UTC   360d            ca                      no      
controller-manager.conf    Aug 19, 2026 09:03 UTC   360d            ca                      no      
etcd-healthcheck-client    Aug 19, 2026 09:03 UTC   360d            etcd-ca                 no      
etcd-peer                  Aug 19, 2026 09:03 UTC   360d            etcd-ca                 no      
etcd-server                Aug 19, 2026 09:03 UTC   360d            etcd-ca                 no      
front-proxy-client         Aug 02, 2026 17:45 UTC   343d            front-proxy-ca          no      
scheduler.conf             Aug 19, 2026 09:03 UTC   360d            ca                      no      
!MISSING! super-admin.conf                                                                          

CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
ca                      Aug 17, 2035 09:03 UTC   9y              no      
etcd-ca                 Aug 17, 2035 09:03 UTC   9y              no      
front-proxy-ca          Aug 17, 2035 09:03 UTC   9y              no      '

@test "expiration_table: every certificate and CA of kubeadm's table, dates in RFC 3339" {
    load_step certs
    diff <(expiration_table <<<"$KUBEADM_TABLE") - <<'E'
admin.conf	2026-08-19T09:03:00Z	360d	0
apiserver	2026-08-19T09:03:00Z	360d	0
apiserver-etcd-client	2026-08-19T09:03:00Z	360d	0
apiserver-kubelet-client	2026-08-19T09:03:00Z	360d	0
controller-manager.conf	2026-08-19T09:03:00Z	360d	0
etcd-healthcheck-client	2026-08-19T09:03:00Z	360d	0
etcd-peer	2026-08-19T09:03:00Z	360d	0
etcd-server	2026-08-19T09:03:00Z	360d	0
front-proxy-client	2026-08-02T17:45:00Z	343d	0
scheduler.conf	2026-08-19T09:03:00Z	360d	0
ca	2035-08-17T09:03:00Z	9y	1
etcd-ca	2035-08-17T09:03:00Z	9y	1
front-proxy-ca	2035-08-17T09:03:00Z	9y	1
E
}

@test "expiration_table: an expired certificate and a date in another form are kept as printed" {
    load_step certs
    local t
    t=$(printf '%s\n' 'CERTIFICATE   EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED' \
        'apiserver     Jan 02, 2024 03:04 UTC   <invalid>       ca                      no' \
        'admin.conf    Jan 02, 2024 03:04 CET   23h             ca                      yes')
    diff <(expiration_table <<<"$t") - <<'E'
apiserver	2024-01-02T03:04:00Z	<invalid>	0
admin.conf	Jan 02, 2024 03:04 CET	23h	0
E
}

@test "residual_days: whole days from now, negative once expired; kubeadm's residual time otherwise" {
    load_step certs
    [ "$(residual_days "$(date -u -d '+10 days +1 hour' +%Y-%m-%dT%H:%M:%SZ)" 10d)" = 10 ]
    [ "$(residual_days "$(date -u -d '-2 days +1 hour' +%Y-%m-%dT%H:%M:%SZ)" '<invalid>')" = -2 ]
    [ "$(residual_days "not a date" 364d)" = 364 ]
    [ "$(residual_days "not a date" 9y)" = 3285 ]
    [ "$(residual_days "not a date" 23h)" = 0 ]
    [ "$(residual_days "not a date" '<invalid>')" = -1 ]
}

# table DAYS: kubeadm's table with the leaf certificates expiring in DAYS days and an hour.
table() {
    local leaf ca
    leaf=$(date -u -d "+$1 days +1 hour" '+%b %d, %Y %H:%M UTC')
    ca=$(date -u -d "+3600 days" '+%b %d, %Y %H:%M UTC')
    printf '%s\n' '[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...' '' \
        'CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED' \
        "admin.conf                 $leaf   ${1}d            ca                      no      " \
        "apiserver                  $leaf   ${1}d            ca                      no      " '' \
        'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED' \
        "ca                      $ca   9y              no      " >"$S/check-expiration"
    LEAF=$(date -u -d "$(sed -n 4p "$S/check-expiration" | awk -F '  +' '{ print $2 }')" +%Y-%m-%dT%H:%M:00Z)
    CA=$(date -u -d "$(sed -n 8p "$S/check-expiration" | awk -F '  +' '{ print $2 }')" +%Y-%m-%dT%H:%M:00Z)
}

@test "certs: no cluster yet prints {}" {
    new_host
    export KC_RENEW=false
    step certs
    [ "$status" -eq 0 ]
    [ "$output" = "{}" ]
    [ ! -s "$CALLS" ]
}

@test "certs: the expiry report, one JSON line; nothing renewed or restarted" {
    new_host
    cluster_at 1.35.9 cp1
    table 200
    export KC_RENEW=false
    step certs
    [ "$status" -eq 0 ]
    [ "$output" = "{\"earliestExpiry\":\"$LEAF\",\"residualDays\":200,\"certificates\":[{\"name\":\"admin.conf\",\"expires\":\"$LEAF\",\"residual\":\"200d\"},{\"name\":\"apiserver\",\"expires\":\"$LEAF\",\"residual\":\"200d\"},{\"name\":\"ca\",\"expires\":\"$CA\",\"residual\":\"9y\",\"ca\":true}]}" ]
    [ "$(cat "$CALLS")" = "kubeadm certs check-expiration" ]
    [[ $stderr != *WARNING* ]]
}

@test "certs: less than 30 days left is a warning that says how to renew" {
    new_host
    cluster_at 1.35.9 cp1
    table 12
    export KC_RENEW=false
    step certs
    [ "$status" -eq 0 ]
    [[ $output == *'"residualDays":12,'* ]]
    [[ $stderr == *"[testhost] WARNING: certificate(s) admin.conf apiserver on testhost expire within 30 days (first on $LEAF): renew with certificateRenewal: true"* ]]
}

@test "certs: renewal renews, restarts the static pods, refreshes root's kubeconfig; asked again it does not repeat" {
    new_host
    cluster_at 1.35.9 cp1
    table 364
    mkdir -p "$ROOT/root/.kube"
    cp "$ROOT/etc/kubernetes/admin.conf" "$ROOT/root/.kube/config"
    export KC_RENEW=true
    step certs
    [ "$status" -eq 0 ]
    [ "$(grep -c '^kubeadm' "$CALLS")" = 2 ]
    [ "$(grep '^kubeadm' "$CALLS")" = "$(printf 'kubeadm certs renew all\nkubeadm certs check-expiration')" ]
    # The API server went away and came back.
    [[ $stderr == *"waiting up to 2 minutes for the API server to stop"*"moved the static pod manifests back"*"the control plane runs with the renewed certificates"* ]]
    [ -e "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ] && [ -e "$ROOT/etc/kubernetes/manifests/etcd.yaml" ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/manifests-paused" ]
    cmp "$ROOT/etc/kubernetes/admin.conf" "$ROOT/root/.kube/config"
    [[ $output == *'"residualDays":364,'* ]]

    : >"$CALLS"
    step certs
    [ "$status" -eq 0 ]
    [ "$(cat "$CALLS")" = "kubeadm certs check-expiration" ]
    [[ $stderr == *"certificates renewed "*"; renewed again when less than 30 days remain"* ]]

    # Turned off, then on again: a new request.
    export KC_RENEW=false
    step certs
    [ ! -e "$ROOT/etc/kubeadm-cluster/certs-renewed" ]
    export KC_RENEW=true
    : >"$CALLS"
    step certs
    [ "$(grep -c 'certs renew all' "$CALLS")" = 1 ]
}

@test "certs: left on, the renewal repeats once fewer than 30 days remain" {
    new_host
    cluster_at 1.35.9 cp1
    table 20
    mkdir -p "$ROOT/etc/kubeadm-cluster"
    echo "renewed 2025-11-01T00:00:00Z" >"$ROOT/etc/kubeadm-cluster/certs-renewed"
    export KC_RENEW=true
    step certs
    [ "$status" -eq 0 ]
    [ "$(grep -c 'certs renew all' "$CALLS")" = 1 ]
}

@test "certs: manifests left moved away by a cut run are put back first" {
    new_host
    cluster_at 1.35.9 cp1
    table 300
    mkdir -p "$ROOT/etc/kubeadm-cluster/manifests-paused"
    mv "$ROOT/etc/kubernetes/manifests/"*.yaml "$ROOT/etc/kubeadm-cluster/manifests-paused/"
    export KC_RENEW=false
    step certs
    [ "$status" -eq 0 ]
    [[ $stderr == *"moved the static pod manifests back to $ROOT/etc/kubernetes/manifests"* ]]
    [ -e "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/manifests-paused" ]
}

@test "certs: a failed renewal changes nothing and says so" {
    new_host
    cluster_at 1.35.9 cp1
    table 300
    echo x >"$S/fail/renew"
    export KC_RENEW=true
    step certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm certs renew all failed on testhost (see above)"* ]]
    [ -e "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/certs-renewed" ]
}

@test "certs: an API server that does not stop, or does not come back, is an error; the manifests are back" {
    new_host
    cluster_at 1.35.9 cp1
    table 300
    : >"$S/api-stuck"
    export KC_RENEW=true
    step certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the API server on testhost still answers 2 minutes after its manifest was moved away, so it still uses the old certificates"* ]]
    [ -e "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]

    rm "$S/api-stuck"
    : >"$S/api-down"
    step certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the API server on testhost did not come back within 5 minutes after the certificate renewal: check 'crictl ps -a' and 'journalctl -u kubelet' there"* ]]
    [ -e "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/manifests-paused" ]
}

@test "EXIT_HOOKS run however a step ends, before the error line" {
    export KC_HOST=h1
    bats_run bash -c "$(sed '1{/^#!/d}' "$SCRIPTS_DIR/lib/core.sh"; echo 'put_back() { log "put back"; }; EXIT_HOOKS+=(put_back); kill -TERM $$; sleep 5')" kc-demo
    [ "$status" -eq 143 ]
    [[ $output == "[h1] put back"* ]]
}
