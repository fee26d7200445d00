#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# Removing a node whose host is gone or broken: node-registration's delete still deletes the Node when
# the drain cannot finish, and worker-join's delete cleans up a host whose kubeadm is missing.

bats_require_minimum_version 1.5.0
load helpers
load standins

@test "node-registration delete: a NotReady node whose drain times out is deleted anyway" {
    new_host
    cluster_at 1.35.9 cp1
    echo "False v1.35.9" >"$S/nodes/w1"
    echo x >"$S/fail/drain"
    export KC_NODE=w1 KC_DRAIN_TIMEOUT=5m
    step node-registration delete
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
kubectl --kubeconfig /etc/kubernetes/admin.conf drain w1 --ignore-daemonsets --delete-emptydir-data --force --timeout=5m
kubectl --kubeconfig /etc/kubernetes/admin.conf delete node w1 --ignore-not-found
E
    [[ $stderr == *"[testhost] draining w1 failed (see above); deleting the node anyway"* ]]
    [[ $stderr == *"[testhost] node w1 removed from the cluster"* ]]
    [ ! -e "$S/nodes/w1" ]
}

@test "node-registration delete: a node already gone, or a cluster whose API server is gone, is fine" {
    new_host
    cluster_at 1.35.9 cp1
    export KC_NODE=w9 KC_DRAIN_TIMEOUT=5m
    step node-registration delete
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node w9 --ignore-not-found" ]

    rm "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    : >"$CALLS"
    step node-registration delete
    [ "$status" -eq 0 ]
    [[ $stderr == *"the API server does not answer (the cluster is being destroyed?): nothing to remove for node w9"* ]]
    [ -z "$(changing_calls)" ]
}

@test "worker-join delete: a host without kubeadm is still cleaned up and the step succeeds" {
    if PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v kubeadm >/dev/null; then skip "a real kubeadm is installed here"; fi
    new_host
    rm "$BIN/kubeadm"
    mkdir -p "$ROOT/var/lib/kubelet" "$ROOT/etc/cni/net.d" "$ROOT/etc/kubeadm-cluster"
    : >"$ROOT/etc/kubernetes/kubelet.conf"
    : >"$ROOT/var/lib/kubelet/config.yaml"
    : >"$ROOT/etc/cni/net.d/10-calico.conflist"
    echo "enabled active" >"$S/units/kubelet.service"
    step worker-join delete
    [ "$status" -eq 0 ]
    [ "$(grep -c '^kubeadm' "$CALLS")" = 0 ]
    grep -qx 'systemctl stop kubelet' "$CALLS"
    [ ! -e "$ROOT/etc/kubernetes" ] && [ ! -e "$ROOT/var/lib/kubelet" ] && [ ! -e "$ROOT/etc/kubeadm-cluster" ]
    # The CNI's configuration goes; its directory stays (containerd 2.x stops its CRI service when it goes).
    [ -d "$ROOT/etc/cni/net.d" ] && [ -z "$(ls -A "$ROOT/etc/cni/net.d")" ]
    [[ $stderr == *"[testhost] node reset done"* ]]
    # Nothing left: a second delete does nothing.
    : >"$CALLS"
    step worker-join delete
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}
