#!/usr/bin/env bash
# Step ca-hash: prints "sha256:<hex>" of the cluster CA's public key, which every join pins
# (--discovery-token-ca-cert-hash).

readonly CA_CERT=/etc/kubernetes/pki/ca.crt

main() {
    [[ -s $CA_CERT ]] ||
        die "$CA_CERT is missing on $KC_HOST: the control plane is not initialised (control-plane-init has not run or failed there)"
    local hash
    # pkey rather than rsa: the CA key may also be ECDSA (kubeadm's encryptionAlgorithm).
    hash=$(openssl x509 -pubkey -noout -in "$CA_CERT" | openssl pkey -pubin -outform der 2>/dev/null |
        openssl dgst -sha256 -hex | sed 's/^.* //') || hash=""
    [[ $hash =~ ^[0-9a-f]{64}$ ]] || die "could not compute the public-key hash of $CA_CERT on $KC_HOST: is it a valid certificate?"
    printf 'sha256:%s\n' "$hash"
}

main "$@"
