#!/usr/bin/env bash
# kc-modules: kube
# Step upload-certs, on the first control plane, just before another control plane joins: uploads
# the control-plane certificates (the cluster, front-proxy and etcd CAs and the service-account
# key) into the kubeadm-certs Secret, encrypted with KC_CERTIFICATE_KEY. kubeadm deletes that
# Secret two hours after each upload, so a join later than that (a control plane added months after
# init) needs a fresh one. An upload replaces the Secret: running this again is harmless.
# The key is a secret: kubeadm prints it, and that line never reaches the log.

# How long the API server gets to answer (e.g. just after a reboot).
readonly API_WAIT_SECONDS=180

main() {
    check_certificate_key
    host_lock
    [[ -f $ADMIN_CONF ]] ||
        die "$ADMIN_CONF is missing on $KC_HOST: the control plane is not initialised, so there are no certificates to upload; run pulumi up again once control-plane-init has succeeded there"
    if ! api_ready; then
        log "waiting up to 3 minutes for the API server"
        wait_for_api "$API_WAIT_SECONDS" ||
            die "the API server on $KC_HOST does not answer, so the certificates cannot be uploaded for the next control plane: check 'systemctl status kubelet', 'crictl ps -a' and 'journalctl -u kubelet' there, then run pulumi up again"
    fi
    log "uploading the control-plane certificates, encrypted with the certificate key, to the kubeadm-certs Secret (kubeadm deletes it after two hours)"
    retry 3 run_redacted timeout 5m kubeadm init phase upload-certs --upload-certs --certificate-key "$KC_CERTIFICATE_KEY" ||
        die "kubeadm could not upload the control-plane certificates on $KC_HOST (see above): check that the API server answers ('kubectl --kubeconfig $ADMIN_CONF get --raw=/readyz') and that /etc/kubernetes/pki holds the CAs, then run pulumi up again"
    log "control-plane certificates uploaded; a control plane can join with the certificate key for the next two hours"
}

main "$@"
