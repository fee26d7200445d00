#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# The upgrade steps: upgrade-control-plane (first control plane), node-drain (drain and
# uncordon a worker from the control plane) and upgrade-node (on the worker). What each calls, in
# which order; what they skip; how a run cut short resumes.

bats_require_minimum_version 1.5.0
load helpers
load standins

setup() {
    new_host
    KC_KUBE_REPO_B64=$(repo_b64 1.35)
    export KC_KUBE_VERSION=1.35.9 KC_KUBE_REPO_B64 KC_NODE=cp1 KC_DRAIN_TIMEOUT=5m \
        KC_CRI_SOCKET=unix:///var/run/containerd/containerd.sock KC_READY_TIMEOUT=10m
}

# --- upgrade-control-plane --------------------------------------------------------------------

readonly CP_UPGRADE_CALLS='dnf install -y --disableexcludes=kubernetes kubeadm-1.35.9
kubeadm upgrade plan v1.35.9
kubeadm upgrade apply v1.35.9 -y
kubectl --kubeconfig /etc/kubernetes/admin.conf drain cp1 --ignore-daemonsets --delete-emptydir-data --timeout=5m
dnf install -y --disableexcludes=kubernetes kubelet-1.35.9 kubectl-1.35.9
systemctl daemon-reload
systemctl restart kubelet
kubectl --kubeconfig /etc/kubernetes/admin.conf uncordon cp1'

@test "upgrade-control-plane: no cluster yet, nothing to upgrade" {
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] no cluster yet: nothing to upgrade"* ]]
    [ ! -s "$CALLS" ]
}

@test "upgrade-control-plane: one minor up, in kubeadm's order; a second run changes nothing" {
    cluster_at 1.34.2 cp1
    mkdir -p "$ROOT/root/.kube"
    cp "$ROOT/etc/kubernetes/admin.conf" "$ROOT/root/.kube/config"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(echo "$CP_UPGRADE_CALLS")
    grep -q '/v1.35/' "$ROOT/etc/yum.repos.d/kubernetes.repo"
    [ "$(cat "$S/nodes/cp1")" = "True v1.35.9 " ]
    [ ! -e "$ROOT/etc/kubeadm-cluster/upgrading" ]
    # kubeadm renewed admin.conf; root's copy follows it.
    cmp "$ROOT/etc/kubernetes/admin.conf" "$ROOT/root/.kube/config"
    [[ $stderr == *"[testhost] cluster upgraded to 1.35.9"* ]]

    : >"$CALLS"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] already at 1.35.9: the cluster and the kubelet on testhost"* ]]
    [ -z "$(changing_calls)" ]
}

@test "upgrade-control-plane to 1.35: a cluster made without failCgroupV1 in its kubelet-config ConfigMap gets it first, so cgroup v1 nodes' kubelets start" {
    cluster_at 1.34.2 cp1
    : >"$S/kubelet-config-old"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] set failCgroupV1: false in the kubelet-config ConfigMap: from 1.35 the kubelet refuses cgroup v1 hosts (EL8, CentOS 7) otherwise"* ]]
    # The rest of the document kept, the field added, before kubeadm upgrade apply writes the nodes' configuration.
    printf 'apiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\nkind: KubeletConfiguration\nfailCgroupV1: false\n' | diff "$S/kubelet-config" -
    local patch apply
    patch=$(grep -n 'patch configmap kubelet-config' "$CALLS" | cut -d: -f1)
    apply=$(grep -n 'kubeadm upgrade apply' "$CALLS" | cut -d: -f1)
    [ -n "$patch" ] && [ "$patch" -lt "$apply" ]
    diff <(changing_calls | grep -v 'patch configmap kubelet-config') <(echo "$CP_UPGRADE_CALLS")
}

@test "upgrade-control-plane: a patch upgrade takes the same way" {
    cluster_at 1.35.2 cp1
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(echo "$CP_UPGRADE_CALLS")
}

@test "upgrade-control-plane: skipped minors and downgrades are refused before anything changes" {
    cluster_at 1.33.4 cp1
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: upgrading from 1.33.4 to 1.35.9 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.34.x, run pulumi up, then 1.35.9"* ]]
    [ -z "$(changing_calls)" ]

    new_host
    cluster_at 1.36.0 cp1
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubernetesVersion 1.35.9 is older than the running 1.36.0: downgrades are not supported; set kubernetesVersion back to 1.36.0"* ]]
    [ -z "$(changing_calls)" ]
}

@test "upgrade-control-plane: an interrupted kubeadm upgrade apply is repeated by the next run, which then finishes" {
    cluster_at 1.34.2 cp1
    echo x >"$S/fail/apply"
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm upgrade apply v1.35.9 failed on testhost (see above): fix what it reports, then run pulumi up again; the upgrade resumes from here"* ]]
    # The API server runs the new version, kubeadm-config still says the old one.
    [ "$(cat "$S/server") $(cat "$S/cm")" = "1.35.9 1.34.2" ]
    [ "$(grep -c ' drain ' "$CALLS")" = 0 ]

    : >"$CALLS"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    # kubeadm is at the target already: not installed again.
    diff <(changing_calls) <(sed 1d <<<"$CP_UPGRADE_CALLS")
    [ "$(cat "$S/nodes/cp1")" = "True v1.35.9 " ]
}

@test "upgrade-control-plane: a failed kubeadm upgrade plan is logged and the upgrade goes on" {
    cluster_at 1.34.2 cp1
    echo x >"$S/fail/plan"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"kubeadm upgrade plan failed (see above); kubeadm upgrade apply checks again"* ]]
    diff <(changing_calls) <(echo "$CP_UPGRADE_CALLS")
}

@test "upgrade-control-plane: a single node that cannot be drained is upgraded anyway" {
    cluster_at 1.34.2 cp1
    echo x >"$S/fail/drain"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"draining cp1 failed (see above); it is the only node, so its pods stay on it while its kubelet is upgraded"* ]]
    diff <(changing_calls) <(echo "$CP_UPGRADE_CALLS")
}

@test "upgrade-control-plane: with workers a failed drain stops; the next run resumes at the drain" {
    cluster_at 1.34.2 cp1
    echo "True v1.34.2" >"$S/nodes/w1"
    echo x >"$S/fail/drain"
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: draining node cp1 failed within 5m (see above); it stays cordoned and its kubelet is not upgraded yet."*"then run pulumi up again: the upgrade resumes from here"* ]]
    [ "$(cat "$ROOT/etc/kubeadm-cluster/upgrading")" = 1.35.9 ]
    [ "$(cat "$S/nodes/cp1")" = "True v1.34.2 true" ]

    : >"$CALLS"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(sed '1,3d' <<<"$CP_UPGRADE_CALLS")
    [ "$(cat "$S/nodes/cp1")" = "True v1.35.9 " ]
}

@test "upgrade-control-plane: a kubelet that does not come back Ready stops the run; the next one restarts it and uncordons" {
    cluster_at 1.34.2 cp1
    echo always >"$S/fail/ready"
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: node cp1 did not become Ready with kubelet v1.35.9 within 5 minutes: check 'journalctl -u kubelet' on testhost; the next 'pulumi up' resumes the upgrade from here"* ]]
    [[ $stderr == *"[testhost] cp1   False   v1.35.9"* ]]
    # The packages are at the target; only the marker says the node part is not finished.
    [ "$(cat "$S/rpm/kubelet")" = 1.35.9 ]
    [ -e "$ROOT/etc/kubeadm-cluster/upgrading" ]

    rm "$S/fail/ready"
    : >"$CALLS"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
kubectl --kubeconfig /etc/kubernetes/admin.conf drain cp1 --ignore-daemonsets --delete-emptydir-data --timeout=5m
systemctl daemon-reload
systemctl restart kubelet
kubectl --kubeconfig /etc/kubernetes/admin.conf uncordon cp1
E
    [ ! -e "$ROOT/etc/kubeadm-cluster/upgrading" ]
}

@test "upgrade-control-plane: this host's API server manifest, not a load-balanced answer, tells whether apply is done" {
    cluster_at 1.35.9 cp1
    installed 1.34.2 kubelet kubectl
    echo "True v1.34.2" >"$S/nodes/cp1"
    printf 'spec:\n  containers:\n  - command:\n    - kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.35.9\n' \
        >"$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    echo 1.34.2 >"$S/server" # another control plane answered
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    [[ $stderr == *"kubeadm upgrade apply v1.35.9 is done already"* ]]
    [ "$(grep -c 'kubeadm upgrade' "$CALLS")" = 0 ]

    # The manifest still at the old version: apply runs (and moves it), whatever answered.
    new_host
    cluster_at 1.34.2 cp1
    printf '    image: registry.k8s.io/kube-apiserver:v1.34.2\n' >"$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    echo 1.35.9 >"$S/cm"
    echo 1.35.9 >"$S/server"
    step upgrade-control-plane
    [ "$status" -eq 0 ]
    grep -qx 'kubeadm upgrade apply v1.35.9 -y' "$CALLS"
    grep -q 'kube-apiserver:v1.35.9' "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
}

@test "upgrade-control-plane: an API server that does not answer is an error naming where to look" {
    cluster_at 1.34.2 cp1
    rm "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    step upgrade-control-plane
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the API server on testhost does not answer, so the cluster cannot be upgraded: check 'systemctl status kubelet', 'crictl ps -a' and 'journalctl -u kubelet' there, then run pulumi up again"* ]]
    [ -z "$(changing_calls)" ]
}

# --- upgrade-node -----------------------------------------------------------------------------

# A worker joined at VERSION (its API calls go to a control plane the stand-ins cannot reach).
worker_at() {
    : >"$ROOT/etc/kubernetes/kubelet.conf"
    installed "$1" kubeadm kubelet kubectl
    echo "enabled active" >"$S/units/kubelet.service"
}

readonly NODE_UPGRADE_CALLS='dnf install -y --disableexcludes=kubernetes kubeadm-1.35.9
kubeadm upgrade node
dnf install -y --disableexcludes=kubernetes kubelet-1.35.9 kubectl-1.35.9
systemctl daemon-reload
systemctl restart kubelet'

@test "upgrade-node: a node that has not joined, and one at the target, are left alone" {
    step upgrade-node
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] not joined to a cluster ($ROOT/etc/kubernetes/kubelet.conf is missing): nothing to upgrade"* ]]
    [ ! -s "$CALLS" ]

    worker_at 1.35.9
    step upgrade-node
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] kubelet 1.35.9 already runs on testhost"* ]]
    [ -z "$(changing_calls)" ]
}

@test "upgrade-node: repo, kubeadm, kubeadm upgrade node, kubelet and kubectl, restart; a second run changes nothing" {
    worker_at 1.34.2
    step upgrade-node
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(echo "$NODE_UPGRADE_CALLS")
    grep -q '/v1.35/' "$ROOT/etc/yum.repos.d/kubernetes.repo"
    [ ! -e "$ROOT/etc/kubeadm-cluster/upgrading" ]
    : >"$CALLS"
    step upgrade-node
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}

@test "upgrade-node: a failed kubeadm upgrade node is resumed by the next run" {
    worker_at 1.34.2
    echo x >"$S/fail/upgrade-node"
    step upgrade-node
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: kubeadm upgrade node failed on testhost (see above): check that testhost reaches the control-plane endpoint, then run pulumi up again; the upgrade resumes from here"* ]]
    [ "$(cat "$S/rpm/kubelet")" = 1.34.2 ]
    : >"$CALLS"
    step upgrade-node
    [ "$status" -eq 0 ]
    diff <(changing_calls) <(sed 1d <<<"$NODE_UPGRADE_CALLS")
}

@test "upgrade-node: cut after the kubelet package was installed: the next run still restarts the kubelet" {
    worker_at 1.35.9
    installed 1.34.2 kubectl
    mkdir -p "$ROOT/etc/kubeadm-cluster"
    echo 1.35.9 >"$ROOT/etc/kubeadm-cluster/upgrading"
    step upgrade-node
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
kubeadm upgrade node
dnf install -y --disableexcludes=kubernetes kubectl-1.35.9
systemctl daemon-reload
systemctl restart kubelet
E
    [ ! -e "$ROOT/etc/kubeadm-cluster/upgrading" ]
}

@test "upgrade-node: refused while the control plane is older than the target" {
    worker_at 1.34.2
    echo 1.34.2 >"$S/cm"
    : >"$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    step upgrade-node
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: the cluster is at 1.34.2, older than 1.35.9: a kubelet may not be newer than the API server, so upgrade-control-plane must finish first; run pulumi up again"* ]]
    grep -qx "kubectl --kubeconfig /etc/kubernetes/kubelet.conf --request-timeout=20s -n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}" "$CALLS"
    [ -z "$(changing_calls)" ]

    # Once kubeadm-config says the target, the node goes on.
    echo 1.35.9 >"$S/cm"
    step upgrade-node
    [ "$status" -eq 0 ]
}

# --- node-drain -------------------------------------------------------------------------

@test "node-drain: nothing to do without a cluster" {
    export KC_NODE=w1
    for a in drain uncordon; do
        export KC_ACTION=$a
        step node-drain
        [ "$status" -eq 0 ]
        [[ $stderr == *"[testhost] no cluster yet: nothing to $a"* ]]
    done
    [ ! -s "$CALLS" ]
}

@test "node-drain drain: drains a node below the target, skips one at it and one not registered" {
    cluster_at 1.35.9 cp1
    echo "True v1.34.2" >"$S/nodes/w1"
    echo "True v1.35.9" >"$S/nodes/w2"
    export KC_ACTION=drain KC_NODE=w1
    step node-drain
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubectl --kubeconfig /etc/kubernetes/admin.conf drain w1 --ignore-daemonsets --delete-emptydir-data --force --timeout=5m" ]
    [ "$(cat "$S/nodes/w1")" = "True v1.34.2 true" ]

    : >"$CALLS"
    export KC_NODE=w2
    step node-drain
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] node w2 is already at 1.35.9, not drained"* ]]
    [ -z "$(changing_calls)" ]

    export KC_NODE=w9
    step node-drain
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] node w9 is not registered: nothing to drain"* ]]
    [ -z "$(changing_calls)" ]
}

@test "node-drain drain: a drain that fails stops the upgrade and says what to look at" {
    cluster_at 1.35.9 cp1
    echo "True v1.34.2" >"$S/nodes/w1"
    echo x >"$S/fail/drain"
    export KC_ACTION=drain KC_NODE=w1
    step node-drain
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: draining node w1 failed within 5m (see above); it stays cordoned and is not upgraded. See what holds it with 'kubectl get pods -A -o wide --field-selector spec.nodeName=w1'"* ]]
}

@test "node-drain uncordon: uncordons and waits for Ready at the target; idempotent" {
    cluster_at 1.35.9 cp1
    echo "True v1.35.9 true" >"$S/nodes/w1"
    export KC_ACTION=uncordon KC_NODE=w1
    step node-drain
    [ "$status" -eq 0 ]
    [ "$(changing_calls)" = "kubectl --kubeconfig /etc/kubernetes/admin.conf uncordon w1" ]
    [ "$(cat "$S/nodes/w1")" = "True v1.35.9 " ]
    [[ $stderr == *"[testhost] node w1 is Ready with kubelet v1.35.9 and schedulable"* ]]
    step node-drain
    [ "$status" -eq 0 ]
}

@test "node-drain uncordon: a node that does not come back is an error with its state" {
    cluster_at 1.35.9 cp1
    echo "False v1.35.9 true" >"$S/nodes/w1"
    export KC_ACTION=uncordon KC_NODE=w1 KC_READY_TIMEOUT=10s
    step node-drain
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] w1   False   v1.35.9"* ]]
    [[ $stderr == *"[testhost] ERROR: node w1 did not become Ready with kubelet v1.35.9 within 10s: check 'journalctl -u kubelet' on w1; the next 'pulumi up' resumes the upgrade from here"* ]]

    # Ready, but its kubelet was not upgraded.
    echo "True v1.34.2" >"$S/nodes/w1"
    step node-drain
    [ "$status" -eq 1 ]
    [[ $stderr == *"did not become Ready with kubelet v1.35.9 within 10s"* ]]
}
