#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# The first control plane of a highly-available cluster: control-plane-init with the certificates
# uploaded (the certificate key never on a command line or in the log), kube-vip switched between
# super-admin.conf and admin.conf around init, upload-certs before each further control plane, and
# the facts a virtual IP needs (the interface carrying the host's address).

bats_require_minimum_version 1.5.0
load helpers
load standins

readonly KEY=3f1a9c7e5b2d8f403f1a9c7e5b2d8f403f1a9c7e5b2d8f403f1a9c7e5b2d8f40
readonly SOCKET=unix:///var/run/containerd/containerd.sock

init_config() {
    printf '# managed by kubeadm-cluster\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.11\n  bindPort: 6443\nnodeRegistration:\n  name: cp1\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.35.9\ncontrolPlaneEndpoint: 10.0.0.100:8443\n---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n'
}

kube_vip_manifest() { # KUBECONFIG FILE NAME
    printf '# managed by kubeadm-cluster\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: kube-vip\n      volumeMounts:\n        - name: kubeconfig\n          mountPath: /etc/kubernetes/admin.conf\n          readOnly: true\n  volumes:\n    - name: kubeconfig\n      hostPath:\n        path: /etc/kubernetes/%s\n        type: File\n' "$1"
}

setup() {
    new_host
    rm -f "$ROOT/etc/kubernetes/manifests/"*
    KC_KUBEADM_CONFIG_B64=$(init_config | base64 -w0)
    export KC_KUBEADM_CONFIG_B64 KC_CRI_SOCKET=$SOCKET KC_UPLOAD_CERTS=true KC_CERTIFICATE_KEY=$KEY
}

# no_key: the certificate key is in nothing the step printed and on no command line.
no_key() {
    [[ $output != *"$KEY"* && $stderr != *"$KEY"* ]]
    ! grep -q "$KEY" "$CALLS"
}

# --- control-plane-init -----------------------------------------------------------------------

@test "control-plane-init: the certificates are uploaded with the key in the InitConfiguration of a passing copy; a second run changes nothing" {
    step control-plane-init create
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
kubeadm config images pull --config /etc/kubeadm-cluster/kubeadm-init.yaml
kubeadm init --config /etc/kubeadm-cluster/kubeadm-init-upload.yaml --upload-certs
E
    grep -qx 'kubeadm config validate --config /etc/kubeadm-cluster/kubeadm-init-upload.yaml' "$CALLS"
    # What kubeadm init read: the key right below the InitConfiguration's kind, nowhere else.
    diff "$S/init-config" <(init_config | sed "3a certificateKey: \"$KEY\"")
    # The copy with the key is gone; the configuration kept on the host has none.
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-init-upload.yaml" ]
    cmp "$ROOT/etc/kubeadm-cluster/kubeadm-init.yaml" <(init_config)
    [ "$(stat -c %a "$ROOT/etc/kubeadm-cluster/kubeadm-init.yaml")" = 600 ]
    # kubeadm printed the key on a line of its own and in the control-plane join command.
    [[ $stderr == *"[testhost] [upload-certs] Using certificate key:"*"[testhost]     <redacted key>"* ]]
    [[ $stderr == *"[testhost]     <join command redacted>"* ]]
    [[ $stderr == *"it uploads the control-plane certificates, encrypted with the certificate key, for the other control planes to join with"* ]]
    no_key
    cmp "$ROOT/root/.kube/config" "$ROOT/etc/kubernetes/admin.conf"
    [ -e "$ROOT/etc/kubeadm-cluster/init-done" ]

    : >"$CALLS"
    step control-plane-init create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] already initialised: the API server answers"* ]]
    [ -z "$(changing_calls)" ]
    no_key
}

@test "control-plane-init: without KC_UPLOAD_CERTS (or with false) nothing is uploaded and no key is needed" {
    unset KC_UPLOAD_CERTS KC_CERTIFICATE_KEY
    step control-plane-init create
    [ "$status" -eq 0 ]
    [ "$(grep '^kubeadm init' "$CALLS")" = "kubeadm init --config /etc/kubeadm-cluster/kubeadm-init.yaml" ]
    cmp "$S/init-config" <(init_config)

    new_host
    rm -f "$ROOT/etc/kubernetes/manifests/"*
    KC_UPLOAD_CERTS=false step control-plane-init create
    [ "$status" -eq 0 ]
    [ "$(grep '^kubeadm init' "$CALLS")" = "kubeadm init --config /etc/kubeadm-cluster/kubeadm-init.yaml" ]
    [[ $stderr != *upload* ]]
}

@test "control-plane-init: a wrong KC_UPLOAD_CERTS, a missing or malformed key are refused without showing the key" {
    KC_UPLOAD_CERTS=yes step control-plane-init create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: parameter KC_UPLOAD_CERTS must be true or false (got 'yes'): the program that sent this step has a bug"* ]]

    KC_CERTIFICATE_KEY="" step control-plane-init create
    [ "$status" -eq 1 ]
    [[ $stderr == *"missing parameter(s) KC_CERTIFICATE_KEY for control-plane-init"* ]]

    KC_CERTIFICATE_KEY=${KEY}00 step control-plane-init create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: parameter KC_CERTIFICATE_KEY is not 64 hex digits (value not shown): the program that sent this step has a bug"* ]]
    no_key
    [ "$(grep -c '^kubeadm' "$CALLS")" = 0 ]
}

@test "control-plane-init: a configuration without an InitConfiguration gets no key and is refused" {
    KC_KUBEADM_CONFIG_B64=$(init_config | sed 's/kind: InitConfiguration/kind: JoinConfiguration/' | base64 -w0)
    step control-plane-init create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the kubeadm configuration sent to testhost has no InitConfiguration document to put the certificate key in: the program that rendered it has a bug"* ]]
    [ "$(grep -c '^kubeadm' "$CALLS")" = 0 ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-init-upload.yaml" ]
}

@test "control-plane-init: kube-vip uses super-admin.conf while kubeadm init runs and admin.conf afterwards; lb-kube-vip run again keeps it so" {
    export KC_KUBE_VIP_MANIFEST_B64 KC_FIRST_CONTROL_PLANE=true KC_VIP=10.0.0.100
    KC_KUBE_VIP_MANIFEST_B64=$(kube_vip_manifest admin.conf | base64 -w0)
    local m=$ROOT/etc/kubernetes/manifests/kube-vip.yaml
    step lb-kube-vip create
    [ "$status" -eq 0 ]
    cmp "$m" <(kube_vip_manifest super-admin.conf)

    step control-plane-init create
    [ "$status" -eq 0 ]
    cmp "$S/kube-vip-at-init" <(kube_vip_manifest super-admin.conf)
    cmp "$m" <(kube_vip_manifest admin.conf)
    [ "$(stat -c %a "$m")" = 600 ]
    [[ $stderr == *"[testhost] kube-vip now uses admin.conf instead of super-admin.conf ($m)"* ]]

    step lb-kube-vip create
    [ "$status" -eq 0 ]
    [[ $stderr != *"wrote"* ]]
    cmp "$m" <(kube_vip_manifest admin.conf)
    step control-plane-init create
    [ "$status" -eq 0 ]
    [[ $stderr != *"kube-vip now uses"* ]]
}

@test "control-plane-init: a kube-vip manifest mounting admin.conf before init is switched to super-admin.conf for init; a run cut after init switches it back" {
    local m=$ROOT/etc/kubernetes/manifests/kube-vip.yaml
    kube_vip_manifest admin.conf >"$m"
    step control-plane-init create
    [ "$status" -eq 0 ]
    cmp "$S/kube-vip-at-init" <(kube_vip_manifest super-admin.conf)
    [[ $stderr == *"[testhost] kube-vip now uses super-admin.conf instead of admin.conf ($m)"*"[testhost] kube-vip now uses admin.conf instead of super-admin.conf ($m)"* ]]
    cmp "$m" <(kube_vip_manifest admin.conf)

    # Initialised, but the step was cut before it switched the manifest back.
    kube_vip_manifest super-admin.conf >"$m"
    : >"$CALLS"
    step control-plane-init create
    [ "$status" -eq 0 ]
    [ "$(grep -c '^kubeadm init' "$CALLS")" = 0 ]
    cmp "$m" <(kube_vip_manifest admin.conf)
}

@test "control-plane-init: a half-done init is reset, keeping kube-vip's manifest, and the next init uploads again" {
    local m=$ROOT/etc/kubernetes/manifests/kube-vip.yaml
    kube_vip_manifest super-admin.conf >"$m"
    chmod 0600 "$m"
    echo x >"$S/fail/init"
    step control-plane-init create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm init failed on testhost (see above); the next run resets this half-done init and tries again."* ]]
    # The copy with the key went however the step ended.
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-init-upload.yaml" ]
    no_key

    : >"$CALLS"
    step control-plane-init create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] found a half-done kubeadm init (files in $ROOT/etc/kubernetes, API server not answering): resetting it first"* ]]
    [[ $stderr == *"[testhost] kept kube-vip's static pod ($m) for the next attempt"* ]]
    # The images the first attempt pulled are there: nothing is pulled again.
    [[ $stderr == *"[testhost] the control-plane images are present"* ]]
    diff <(changing_calls) - <<E
kubeadm reset -f --cri-socket $SOCKET
kubeadm init --config /etc/kubeadm-cluster/kubeadm-init-upload.yaml --upload-certs
E
    cmp "$S/kube-vip-at-init" <(kube_vip_manifest super-admin.conf)
    cmp "$m" <(kube_vip_manifest admin.conf)
    grep -qx "certificateKey: \"$KEY\"" "$S/init-config"
    no_key
}

@test "control-plane-init: images already in the runtime (loaded from archives, no registry) are not pulled; a missing one is" {
    mkdir -p "$S/images"
    for image in kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns pause etcd; do : >"$S/images/$image"; done
    step control-plane-init create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] the control-plane images are present"* ]]
    ! grep -q 'images pull' "$CALLS"
    grep -qx 'crictl inspecti registry.k8s.io/etcd:3.6.6-0' "$CALLS"

    step control-plane-init delete
    rm -f "$S/images/etcd"
    : >"$CALLS"
    step control-plane-init create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] pulling the control-plane images (missing: registry.k8s.io/etcd:3.6.6-0)"* ]]
    grep -qx 'kubeadm config images pull --config /etc/kubeadm-cluster/kubeadm-init.yaml' "$CALLS"
}

# --- upload-certs -----------------------------------------------------------------------------

@test "upload-certs: uploads the certificates with the key; kubeadm's print of it is hidden; again on the next run" {
    cluster_at 1.35.9 cp1
    export -n KC_KUBEADM_CONFIG_B64 KC_UPLOAD_CERTS KC_CRI_SOCKET
    step upload-certs
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubeadm init phase upload-certs --upload-certs --certificate-key $KEY" ]
    [ "$(cat "$S/uploaded-key")" = "$KEY" ]
    [[ $stderr == *"[testhost] [upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace"* ]]
    [[ $stderr == *"[testhost] [upload-certs] Using certificate key:"$'\n'"[testhost]     <redacted key>"* ]]
    [[ $stderr == *"[testhost] control-plane certificates uploaded; a control plane can join with the certificate key for the next two hours"* ]]
    [[ $output != *"$KEY"* && $stderr != *"$KEY"* ]]

    : >"$CALLS"
    step upload-certs
    [ "$status" -eq 0 ]
    [ "$(grep -c 'upload-certs' "$CALLS")" = 1 ]
}

@test "upload-certs: refused without a cluster, with a malformed key, and when kubeadm keeps failing" {
    export -n KC_KUBEADM_CONFIG_B64 KC_UPLOAD_CERTS KC_CRI_SOCKET
    step upload-certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: $ROOT/etc/kubernetes/admin.conf is missing on testhost: the control plane is not initialised, so there are no certificates to upload; run pulumi up again once control-plane-init has succeeded there"* ]]
    [ -z "$(changing_calls)" ]

    cluster_at 1.35.9 cp1
    KC_CERTIFICATE_KEY=not-a-key step upload-certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"parameter KC_CERTIFICATE_KEY is not 64 hex digits (value not shown)"* ]]
    [[ $stderr != *not-a-key* ]]

    echo always >"$S/fail/upload"
    step upload-certs
    [ "$status" -eq 1 ]
    [ "$(grep -c 'upload-certs' "$CALLS")" = 3 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm could not upload the control-plane certificates on testhost (see above)"* ]]
    [[ $output != *"$KEY"* && $stderr != *"$KEY"* ]]
}

@test "upload-certs: an API server that does not answer is waited for, then refused" {
    cluster_at 1.35.9 cp1
    : >"$S/api-down"
    step upload-certs
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the API server on testhost does not answer, so the certificates cannot be uploaded for the next control plane"* ]]
    [ -z "$(changing_calls)" ]
}

# --- facts ------------------------------------------------------------------------------------

facts_params() {
    export KC_ROLE=control-plane KC_MIN_CPUS=1 KC_MIN_MEMORY_MB=1 KC_CHECK_PORTS="" KC_KUBE_MINOR=35 KC_KUBE_VERSION=1.35.9 KC_ADDRESS=10.0.0.11
}

@test "facts: the interface carrying the host's address and the address with its prefix; a virtual IP held here does not count" {
    facts_params
    step facts
    [ "$status" -eq 0 ]
    [[ $output == '{"os":"rocky",'*',"arch":"x86_64","interface":"eth0","addressCidr":"10.0.0.11/24","clusterVersion":""}' ]]
    [ "$(wc -l <<<"$output")" = 1 ]
    [[ $stderr == *", 10.0.0.11/24 on eth0"* ]]

    # keepalived or kube-vip holding 10.0.0.100 on another interface listed first; 10.0.0.1 is
    # a prefix of the address, not it.
    printf '%s\n' '1: lo    inet 127.0.0.1/8 scope host lo' \
        '3: ens192    inet 10.0.0.100/32 scope global ens192' \
        '3: ens192    inet 10.0.0.1/16 scope global ens192' \
        '3: ens192    inet 10.0.0.11/22 brd 10.0.3.255 scope global noprefixroute ens192\       valid_lft forever' >"$S/addrs"
    step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"interface":"ens192","addressCidr":"10.0.0.11/22","clusterVersion":""}' ]]
}

@test "facts: an address no interface carries, or none given, gives empty fields and is not an error" {
    facts_params
    KC_ADDRESS=192.168.99.9 step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"interface":"","addressCidr":"","clusterVersion":""}' ]]
    [[ $stderr == *"[testhost] no interface carries the configured address 192.168.99.9 (see 'ip -o -4 addr show' on testhost)"* ]]

    KC_ADDRESS="" step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"interface":"","addressCidr":"","clusterVersion":""}' ]]
}

@test "facts: haproxy and keepalived may own a checked port (a re-run on a working control plane); anything else may not" {
    facts_params
    export KC_CHECK_PORTS="tcp:6443 tcp:8443"
    printf '%s\n' 'LISTEN 0      4096               *:8443             *:*    users:(("haproxy",pid=812,fd=7))' \
        'LISTEN 0      4096               *:6443             *:*    users:(("kube-apiserver",pid=901,fd=3))' >"$S/ss-tcp"
    step facts
    [ "$status" -eq 0 ]

    printf '%s\n' 'LISTEN 0      511                *:8443             *:*    users:(("nginx",pid=700,fd=6))' >"$S/ss-tcp"
    step facts
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: port 8443/tcp is already in use by nginx on testhost: Kubernetes needs it; stop that service or move it to another port, then run again"* ]]
}

# --- library ----------------------------------------------------------------------------------

@test "redact_secrets hides a certificate key inside a line too" {
    load_lib
    local out
    out=$(printf '%s\n' "certificateKey: Invalid value: \"$KEY\": bad" "sha256:$KEY" 'image registry.k8s.io/pause:3.10 pulled' | redact_secrets)
    [[ $out != *"$KEY"* ]]
    [[ $out == *'certificateKey: Invalid value: "<redacted key>": bad'* ]]
    [[ $out == *"registry.k8s.io/pause:3.10 pulled"* ]]
}

@test "kube_vip_switch changes only the host path of the mounted kubeconfig, both ways" {
    load_lib
    local m=$BATS_TEST_TMPDIR/kube-vip.yaml
    kube_vip_manifest admin.conf >"$m"
    kube_vip_mounts admin.conf "$m"
    ! kube_vip_mounts super-admin.conf "$m"
    diff <(kube_vip_switch admin.conf super-admin.conf <"$m") <(kube_vip_manifest super-admin.conf)
    diff <(kube_vip_manifest super-admin.conf | kube_vip_switch super-admin.conf admin.conf) "$m"
    # Nothing to switch: unchanged.
    diff <(kube_vip_switch super-admin.conf admin.conf <"$m") "$m"
}

@test "is_managed: the header on the first line, or on the second after a #! line" {
    load_lib
    local f=$BATS_TEST_TMPDIR/f
    printf '# managed by kubeadm-cluster\nx\n' >"$f"
    is_managed "$f"
    printf '#!/bin/bash\n# managed by kubeadm-cluster\n' >"$f"
    is_managed "$f"
    printf 'x\n# managed by kubeadm-cluster\n' >"$f"
    ! is_managed "$f"
    printf '#!/bin/bash\n' >"$f"
    ! is_managed "$f"
    : >"$f"
    ! is_managed "$f"
    ! is_managed "$BATS_TEST_TMPDIR/missing"
}
