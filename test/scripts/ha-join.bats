#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# A further control plane joins (control-plane-join): once, a half-done join reset first (kube-vip's
# manifest kept), the token and the certificate key never shown, delete resets it. Then the first
# control plane waits until the node is registered and Ready (node-registration create).

bats_require_minimum_version 1.5.0
load helpers
load standins

readonly KEY=9e8d7c6b5a49382716059e8d7c6b5a49382716059e8d7c6b5a4938271605abcd
readonly TOKEN=k7x2qa.m4n8p1r5t9v3w6y0
readonly SOCKET=unix:///var/run/containerd/containerd.sock

join_config() { # [controlPlane section: yes|no]
    printf '# managed by kubeadm-cluster\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.100:8443\n    token: %s\n    caCertHashes:\n      - sha256:%s\nnodeRegistration:\n  name: cp2\n' "$TOKEN" "$(printf '1%.0s' {1..64})"
    if [[ ${1:-yes} == yes ]]; then
        printf 'controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: 10.0.0.12\n    bindPort: 6443\n  certificateKey: %s\n' "$KEY"
    fi
}

setup() {
    new_host
    rm -rf "$ROOT/etc/kubernetes"
    KC_JOIN_CONFIG_B64=$(join_config | base64 -w0)
    export KC_JOIN_CONFIG_B64 KC_CRI_SOCKET=$SOCKET
}

# no_secret: neither the certificate key nor the token is in what the step printed or on a command line.
no_secret() {
    local s
    for s in "$KEY" "$TOKEN"; do
        [[ $output != *"$s"* && $stderr != *"$s"* ]]
        ! grep -q "$s" "$CALLS"
    done
}

# joined_host: what a control plane that has joined looks like.
joined_host() {
    mkdir -p "$ROOT/etc/kubernetes/manifests" "$ROOT/etc/kubernetes/pki" "$ROOT/var/lib/etcd/member"
    : >"$ROOT/etc/kubernetes/admin.conf"
    : >"$ROOT/etc/kubernetes/kubelet.conf"
    : >"$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    : >"$ROOT/etc/kubernetes/manifests/etcd.yaml"
    echo "enabled active" >"$S/units/kubelet.service"
}

@test "control-plane-join: joins once with the configuration, removed afterwards; root gets admin.conf; a second run changes nothing" {
    step control-plane-join create
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml" ]
    grep -qx 'kubeadm config validate --config /etc/kubeadm-cluster/kubeadm-join.yaml' "$CALLS"
    cmp "$S/join-config" <(join_config)
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-join.yaml" ]
    cmp "$ROOT/root/.kube/config" "$ROOT/etc/kubernetes/admin.conf"
    [ "$(stat -c %a "$ROOT/root/.kube/config")" = 600 ]
    [[ $stderr == *"[testhost] running kubeadm join as a control plane (up to 20 minutes)"* ]]
    [[ $stderr == *"[testhost] joined the cluster as a control plane"* ]]
    no_secret

    : >"$CALLS"
    step control-plane-join create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] already joined: $ROOT/etc/kubernetes/admin.conf and the control-plane manifests exist, the kubelet runs and the local API server answers"* ]]
    [ -z "$(changing_calls)" ]
    # Its own API server was asked, by a name its certificate carries.
    grep -qx "kubectl --kubeconfig /etc/kubernetes/admin.conf --server=https://127.0.0.1:6443 --tls-server-name=kubernetes --request-timeout=15s get --raw=/readyz" "$CALLS"
    no_secret
}

@test "control-plane-join: a half-done join is reset (etcd's data too, kube-vip's manifest kept) before the next one" {
    mkdir -p "$ROOT/etc/kubernetes/manifests"
    printf '# managed by kubeadm-cluster\nkind: Pod\n' >"$ROOT/etc/kubernetes/manifests/kube-vip.yaml"
    chmod 0600 "$ROOT/etc/kubernetes/manifests/kube-vip.yaml"
    echo x >"$S/fail/join"
    step control-plane-join create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm join failed on testhost (see above); the next run resets this half-done join and tries again."* ]]
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-join.yaml" ]
    no_secret
    # etcd's data dir of a join cut before etcd's manifest was written.
    rm -f "$ROOT/etc/kubernetes/manifests/etcd.yaml"
    mkdir -p "$ROOT/var/lib/etcd/member"

    : >"$CALLS"
    step control-plane-join create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] found a half-done kubeadm join (files in $ROOT/etc/kubernetes, no control plane answering here): resetting it first"* ]]
    diff <(changing_calls) - <<E
kubeadm reset -f --cri-socket $SOCKET
kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml
E
    [[ $stderr == *"[testhost] removed $ROOT/var/lib/etcd"* ]]
    cmp "$S/kube-vip-at-join" <(printf '# managed by kubeadm-cluster\nkind: Pod\n')
    [ -e "$ROOT/etc/kubernetes/manifests/kube-vip.yaml" ]
    no_secret
}

@test "control-plane-join: files of a join but a stopped kubelet, or an API server that never answers, count as half-done" {
    joined_host
    echo "enabled inactive" >"$S/units/kubelet.service"
    step control-plane-join create
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<E
kubeadm reset -f --cri-socket $SOCKET
kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml
E

    new_host
    rm -rf "$ROOT/etc/kubernetes"
    joined_host
    : >"$S/local-api-down"
    step control-plane-join create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] this control plane has joined and its kubelet runs; waiting up to 180s for its API server"* ]]
    [ "$(grep -c '^kubeadm reset' "$CALLS")" = 1 ]
    [ "$(grep -c '^kubeadm join' "$CALLS")" = 1 ]
}

@test "control-plane-join: a configuration without a controlPlane section is refused" {
    KC_JOIN_CONFIG_B64=$(join_config no | base64 -w0)
    step control-plane-join create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the join configuration sent to testhost has no controlPlane section, so it would join as a worker: the program that rendered it has a bug"* ]]
    [ "$(grep -c '^kubeadm' "$CALLS")" = 0 ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/kubeadm-join.yaml" ]
    no_secret
}

@test "control-plane-join delete: kubeadm reset removes the etcd member; everything kubeadm left goes; a second delete does nothing" {
    joined_host
    mkdir -p "$ROOT/root/.kube" && cp "$ROOT/etc/kubernetes/admin.conf" "$ROOT/root/.kube/config"
    step control-plane-join delete
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubeadm reset -f --cri-socket $SOCKET" ]
    [[ $stderr == *"[testhost] resetting this control plane: kubeadm reset removes its etcd member from the cluster"* ]]
    [ ! -e "$ROOT/etc/kubernetes" ] && [ ! -e "$ROOT/var/lib/etcd" ] && [ ! -e "$ROOT/root/.kube/config" ]

    : >"$CALLS"
    step control-plane-join delete
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
    [[ $stderr != *"etcd member"* ]]
}

# --- node-registration create: registered, then Ready -----------------------------------------------

@test "node-registration create: waits for the registration, then for Ready within KC_READY_TIMEOUT" {
    new_host
    cluster_at 1.35.9 cp1
    echo "True v1.35.9" >"$S/nodes/cp2"
    export KC_NODE=cp2 KC_DRAIN_TIMEOUT=5m KC_READY_TIMEOUT=10m
    step node-registration create
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] node cp2 is registered"*"[testhost] node cp2 is Ready"* ]]
    [ -z "$(changing_calls)" ]
}

@test "node-registration create: a node that stays NotReady is an error that names the CNI and the kubelet" {
    new_host
    cluster_at 1.35.9 cp1
    echo "False v1.35.9" >"$S/nodes/cp2"
    export KC_NODE=cp2 KC_DRAIN_TIMEOUT=5m KC_READY_TIMEOUT=1m
    step node-registration create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] waiting up to 1m for node cp2 to be Ready"* ]]
    [[ $stderr == *"[testhost] cp2   False   v1.35.9"* ]]
    [[ $stderr == *"[testhost] ERROR: node cp2 did not become Ready within 1m. A node stays NotReady until the CNI (pod network) runs on it: check the CNI pods ('kubectl get pods -A -o wide --field-selector spec.nodeName=cp2') and 'journalctl -u kubelet' on cp2"* ]]
    # 1m in 5-second polls, plus the first look.
    [ "$(grep -c 'get node cp2 -o jsonpath' "$CALLS")" = 14 ]
}

@test "node-registration create: without KC_READY_TIMEOUT only the registration counts; a malformed one is refused" {
    new_host
    cluster_at 1.35.9 cp1
    echo "False v1.35.9" >"$S/nodes/cp2"
    export KC_NODE=cp2 KC_DRAIN_TIMEOUT=5m
    step node-registration create
    [ "$status" -eq 0 ]
    [[ $stderr != *"Ready"* ]]

    KC_READY_TIMEOUT=soon step node-registration create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: parameter KC_READY_TIMEOUT 'soon' is not a duration like 10m: the program that sent this step has a bug"* ]]
}
