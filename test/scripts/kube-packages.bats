#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# kube-packages: the repo file always follows the wanted minor; the packages are installed at
# exactly the wanted version, except on a node in a cluster, where the upgrade steps move them.

bats_require_minimum_version 1.5.0
load helpers
load standins

setup() {
    new_host
    KC_KUBE_REPO_B64=$(repo_b64 1.35)
    export KC_KUBE_VERSION=1.35.9 KC_KUBE_REPO_B64 KC_NODE_IP=10.0.0.11
}

@test "a fresh host: the repo, the three packages in one install, the kubelet enabled; a second run changes nothing" {
    step kube-packages
    [ "$status" -eq 0 ]
    grep -qx 'baseurl=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/' "$ROOT/etc/yum.repos.d/kubernetes.repo"
    diff <(changing_calls) - <<'E'
dnf install -y --disableexcludes=kubernetes kubeadm-1.35.9 kubelet-1.35.9 kubectl-1.35.9
systemctl enable kubelet
E
    [ "$(cat "$ROOT/etc/sysconfig/kubelet")" = "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.11" ]
    : >"$CALLS"
    step kube-packages
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
    [[ $stderr != *wrote* ]]
}

@test "a node in a cluster at another version: the repo moves to the new minor, the packages stay" {
    cluster_at 1.34.2 cp1
    printf '[kubernetes]\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/\n' >"$ROOT/etc/yum.repos.d/kubernetes.repo"
    mkdir -p "$ROOT/etc/sysconfig"
    echo "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.11" >"$ROOT/etc/sysconfig/kubelet"
    step kube-packages
    [ "$status" -eq 0 ]
    grep -q '/v1.35/' "$ROOT/etc/yum.repos.d/kubernetes.repo"
    [[ $stderr == *"[testhost] kubeadm/kubelet/kubectl 1.34.2 installed, 1.35.9 wanted: the upgrade steps move this node"* ]]
    [ -z "$(changing_calls)" ]
    [ "$(cat "$S/rpm/kubelet")" = 1.34.2 ]
}

@test "a node in a cluster half way through its upgrade names each version; a missing package is installed" {
    cluster_at 1.34.2 cp1
    installed 1.35.9 kubeadm
    rm "$S/rpm/kubectl"
    step kube-packages
    [ "$status" -eq 0 ]
    [[ $stderr == *"[testhost] kubelet 1.34.2 installed, 1.35.9 wanted: the upgrade steps move this node"* ]]
    [ "$(changing_calls | grep dnf)" = "dnf install -y --disableexcludes=kubernetes kubectl-1.35.9" ]
    [ "$(cat "$S/rpm/kubelet")" = 1.34.2 ]

    installed 1.34.2 kubectl
    step kube-packages
    [[ $stderr == *"[testhost] kubelet/kubectl 1.34.2 installed, 1.35.9 wanted: the upgrade steps move this node"* ]]
    installed 1.34.9 kubectl
    step kube-packages
    [[ $stderr == *"[testhost] kubelet 1.34.2, kubectl 1.34.9 installed, 1.35.9 wanted: the upgrade steps move this node"* ]]
}

@test "a node not in a cluster: older packages are upgraded, newer ones downgraded, to exactly the wanted version" {
    installed 1.34.2 kubeadm kubelet
    installed 1.36.1 kubectl
    step kube-packages
    [ "$status" -eq 0 ]
    [[ $stderr == *"kubeadm 1.34.2, kubelet 1.34.2, kubectl 1.36.1 installed on a node that is not in a cluster: moving it to 1.35.9"* ]]
    diff <(changing_calls) - <<'E'
dnf install -y --disableexcludes=kubernetes kubeadm-1.35.9 kubelet-1.35.9
dnf downgrade -y --disableexcludes=kubernetes kubectl-1.35.9
systemctl enable kubelet
E
    for p in kubeadm kubelet kubectl; do [ "$(cat "$S/rpm/$p")" = 1.35.9 ]; done
}

@test "CentOS 7: yum downgrade with yum's install options" {
    printf 'ID="centos"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n' >"$ROOT/etc/os-release"
    KC_KUBE_REPO_B64=$(repo_b64 1.33)
    export KC_KUBE_VERSION=1.33.5 KC_KUBE_REPO_B64
    installed 1.34.0 kubeadm kubelet kubectl
    step kube-packages
    [ "$status" -eq 0 ]
    [ "$(changing_calls | grep yum)" = "yum downgrade -y --setopt=skip_missing_names_on_install=False --disableexcludes=kubernetes kubeadm-1.33.5 kubelet-1.33.5 kubectl-1.33.5" ]
}

@test "a version the repo does not have: the step says which package and where to look" {
    echo always >"$S/fail/install"
    step kube-packages
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: dnf could not install --disableexcludes=kubernetes kubeadm-1.35.9 kubelet-1.35.9 kubectl-1.35.9 on testhost"* ]]
}
