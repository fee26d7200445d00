#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2034,SC2154 # each test exports its own parameters; variables are read by the steps; stderr is set by bats' run --separate-stderr
# Version arithmetic (lib/kube.sh) and the facts step's check of the running cluster's version:
# kubeadm upgrades one minor at a time and never downgrades.

bats_require_minimum_version 1.5.0
load helpers
load standins

@test "version_cmp orders versions numerically, a leading v allowed" {
    load_lib
    [ "$(version_cmp 1.35.9 1.35.9)" = 0 ]
    [ "$(version_cmp v1.35.9 1.35.9)" = 0 ]
    [ "$(version_cmp 1.34.12 1.35.0)" = -1 ]
    [ "$(version_cmp 1.35.10 1.35.9)" = 1 ]
    [ "$(version_cmp 1.9.0 1.10.0)" = -1 ]
    [ "$(version_cmp 2.0.0 1.99.99)" = 1 ]
    [ "$(version_minor v1.35.9)" = 35 ]
    is_version 1.35.9 && is_version v1.35.9
    local v
    for v in 1.35 1.35.9-rc.0 "" x.y.z; do
        if is_version "$v"; then echo "$v taken for a version"; return 1; fi
    done
}

@test "version_change_problem: the same version, a patch and one minor up are fine" {
    load_lib
    [ -z "$(version_change_problem 1.35.9 1.35.9)" ]
    [ -z "$(version_change_problem 1.35.2 1.35.9)" ]
    [ -z "$(version_change_problem 1.34.2 1.35.9)" ]
    [ -z "$(version_change_problem v1.34.12 1.35.0)" ]
}

@test "version_change_problem: a downgrade, also of a patch, is refused with the version to go back to" {
    load_lib
    [ "$(version_change_problem 1.35.9 1.34.2)" = "kubernetesVersion 1.34.2 is older than the running 1.35.9: downgrades are not supported; set kubernetesVersion back to 1.35.9" ]
    [ "$(version_change_problem 1.35.9 1.35.8)" = "kubernetesVersion 1.35.8 is older than the running 1.35.9: downgrades are not supported; set kubernetesVersion back to 1.35.9" ]
}

@test "version_change_problem: skipped minors are refused with every step to take" {
    load_lib
    [ "$(version_change_problem 1.32.4 1.35.9)" = "upgrading from 1.32.4 to 1.35.9 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.33.x, run pulumi up, then 1.34.x, then 1.35.9" ]
    [ "$(version_change_problem 1.33.1 1.35.0)" = "upgrading from 1.33.1 to 1.35.0 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.34.x, run pulumi up, then 1.35.0" ]
}

@test "duration_seconds reads kubectl durations and refuses anything else" {
    load_lib
    [ "$(duration_seconds 10m)" = 600 ]
    [ "$(duration_seconds 1h30m)" = 5400 ]
    [ "$(duration_seconds 90s)" = 90 ]
    [ "$(duration_seconds 300)" = 300 ]
    bats_run duration_seconds 10x
    [ "$status" -ne 0 ]
    bats_run duration_seconds ""
    [ "$status" -ne 0 ]
}

@test "server_version and configmap_version parse kubectl's JSON and kubeadm-config's YAML" {
    new_host
    cluster_at 1.35.9 cp1
    load_lib
    PATH=$BIN:$PATH
    [ "$(server_version)" = 1.35.9 ]
    [ "$(configmap_version)" = 1.35.9 ]
    echo 1.34.2 >"$S/cm"
    [ "$(configmap_version)" = 1.34.2 ]
    [ "$(cluster_version)" = 1.35.9 ]
    # The API server gone: nothing, not an error.
    rm "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    [ -z "$(server_version)" ]
    [ -z "$(cluster_version)" ]
}

facts_params() { # ROLE VERSION
    export KC_ROLE=$1 KC_MIN_CPUS=1 KC_MIN_MEMORY_MB=1 KC_CHECK_PORTS="" KC_KUBE_VERSION=$2
    KC_KUBE_MINOR=$(cut -d. -f2 <<<"$2")
    export KC_KUBE_MINOR
}

@test "facts: a control plane of a running cluster reports its version and accepts one minor up" {
    new_host
    cluster_at 1.34.2 cp1
    facts_params control-plane 1.35.9
    step facts
    [ "$status" -eq 0 ]
    [[ $output == '{"os":"rocky",'*',"clusterVersion":"1.34.2"}' ]]
    [ "$(wc -l <<<"$output")" = 1 ]
}

@test "facts: a downgrade is refused with the other problems, before anything changes" {
    new_host
    cluster_at 1.35.9 cp1
    facts_params control-plane 1.34.2
    export KC_MIN_CPUS=4096
    step facts
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == *"[testhost] ERROR: kubernetesVersion 1.34.2 is older than the running 1.35.9: downgrades are not supported; set kubernetesVersion back to 1.35.9"* ]]
    [[ $stderr == *"CPU(s); a control-plane needs at least 4096"* ]]
    [[ $stderr == *"[testhost] ERROR: testhost is not ready for Kubernetes: 2 problem(s) above; nothing was changed"* ]]
    [ -z "$(changing_calls)" ]
}

@test "facts: skipping minor versions is refused" {
    new_host
    cluster_at 1.32.4 cp1
    facts_params control-plane 1.35.9
    step facts
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: upgrading from 1.32.4 to 1.35.9 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.33.x, run pulumi up, then 1.34.x, then 1.35.9"* ]]
}

@test "facts: the API server's version counts, else kubeadm-config's" {
    new_host
    cluster_at 1.33.0 cp1
    echo 1.34.1 >"$S/server" # an upgrade cut after the static pods were upgraded
    facts_params control-plane 1.35.9
    step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"clusterVersion":"1.34.1"}' ]]
}

@test "facts: workers, hosts without a cluster and an API server that does not answer report no version" {
    new_host
    facts_params control-plane 1.35.9
    step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"clusterVersion":""}' ]]
    [ "$(grep -c kubectl "$CALLS")" = 0 ]

    cluster_at 1.32.0 cp1
    facts_params worker 1.35.9
    step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"clusterVersion":""}' ]]

    facts_params control-plane 1.35.9
    rm "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    step facts
    [ "$status" -eq 0 ]
    [[ $output == *'"clusterVersion":""}' ]]
    [[ $stderr == *"the API server does not answer: the running Kubernetes version is not checked"* ]]
}

@test "facts: KC_KUBE_VERSION must match KC_KUBE_MINOR" {
    new_host
    facts_params control-plane 1.35.9
    export KC_KUBE_MINOR=34
    step facts
    [ "$status" -eq 1 ]
    [[ $stderr == *"parameter KC_KUBE_VERSION '1.35.9' is not a version 1.34.N"* ]]
}
