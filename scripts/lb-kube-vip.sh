#!/usr/bin/env bash
# kc-modules: kubevip
# Step lb-kube-vip, on each control plane before its kubeadm init or join: kube-vip's static pod,
# which holds the virtual IP KC_VIP (ARP, leader election among the control planes) once the
# kubelet runs it.
#   create: writes $KUBE_VIP_MANIFEST (0600). On the first control plane before kubeadm init (no
#           admin.conf yet) kube-vip gets super-admin.conf: from Kubernetes 1.29 on admin.conf has
#           its rights only when init ends, and init needs the virtual IP before that (kube-vip issue
#           #684); control-plane-init points it at admin.conf afterwards. Otherwise the manifest is
#           written as rendered, with admin.conf (which kubeadm join writes on the others).
#   delete: removes the manifest; the kubelet stops the pod.

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == delete ]]; then
        remove_file "$KUBE_VIP_MANIFEST"
        log "kube-vip removed from $KC_HOST${KC_VIP:+; it no longer holds $KC_VIP here}"
        return 0
    fi
    require KC_KUBE_VIP_MANIFEST_B64 KC_FIRST_CONTROL_PLANE KC_VIP
    [[ $KC_FIRST_CONTROL_PLANE == true || $KC_FIRST_CONTROL_PLANE == false ]] ||
        die "parameter KC_FIRST_CONTROL_PLANE must be true or false (got '$KC_FIRST_CONTROL_PLANE'): the program that sent this step has a bug"
    b64d KC_KUBE_VIP_MANIFEST_B64
    local manifest=$DECODED
    if [[ $KC_FIRST_CONTROL_PLANE == true && ! -f $ADMIN_CONF ]]; then
        manifest=$(printf '%s' "$DECODED" | kube_vip_switch admin.conf super-admin.conf && printf x)
        manifest=${manifest%x}
        [[ $manifest != "$DECODED" ]] ||
            die "the kube-vip manifest sent to $KC_HOST mounts no admin.conf from the host (a hostPath 'path: .../admin.conf'): the program that rendered it has a bug"
        log "kube-vip uses super-admin.conf until kubeadm init has finished here (admin.conf gets its rights only at the end of init)"
    fi
    mkdir -p "$(dirname "$KUBE_VIP_MANIFEST")"
    write_file "$KUBE_VIP_MANIFEST" 0600 < <(printf '%s' "$manifest")
    log "kube-vip's static pod is in place: it holds $KC_VIP on one control plane once the kubelet runs it"
}

main "$@"
