#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here are read by the steps assembled after it
# Module kubevip: kube-vip's static pod and the kubeconfig it mounts.

# The kube-vip static pod (step lb-kube-vip) beside kubeadm's own in the manifests directory.
readonly KUBE_VIP_MANIFEST=/etc/kubernetes/manifests/kube-vip.yaml

# kube-vip reaches the API server with the kubeconfig its manifest mounts from the host (the
# hostPath's "path:" line). From Kubernetes 1.29 on, kubeadm init grants admin.conf its rights only
# at its end, so on the first control plane kube-vip must use super-admin.conf while init runs and
# admin.conf afterwards (kube-vip issue #684). The functions below take the kubeconfig's file name
# (admin.conf, super-admin.conf); the directory is the one the manifest names.

# kube_vip_mounts NAME [FILE]: the kube-vip manifest FILE (default $KUBE_VIP_MANIFEST) mounts the
# host's kubeconfig NAME.
kube_vip_mounts() {
    [[ -f ${2:-$KUBE_VIP_MANIFEST} ]] &&
        grep -qE "^[[:space:]]*path:[[:space:]]*[\"']?[^\"'[:space:]]*/${1//./[.]}[\"']?[[:space:]]*\$" "${2:-$KUBE_VIP_MANIFEST}"
}

# kube_vip_switch FROM TO: copies a kube-vip manifest from stdin to stdout with the host kubeconfig
# it mounts changed from FROM to TO (file names in the same directory); the path inside the pod stays.
kube_vip_switch() {
    sed -E "s#^([[:space:]]*path:[[:space:]]*[\"']?[^\"'[:space:]]*/)${1//./[.]}([\"']?[[:space:]]*)\$#\\1$2\\2#"
}

# kube_vip_use FROM TO: points the kube-vip static pod of this host, if it has one that mounts FROM,
# at TO instead (the kubelet restarts the pod when its manifest changes).
kube_vip_use() {
    kube_vip_mounts "$1" || return 0
    write_file "$KUBE_VIP_MANIFEST" 0600 < <(kube_vip_switch "$1" "$2" <"$KUBE_VIP_MANIFEST")
    log "kube-vip now uses $2 instead of $1 ($KUBE_VIP_MANIFEST)"
}
