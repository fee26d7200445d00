#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here are read by the steps assembled after it
# Module join: the join configuration of a worker or control plane.

# ---------------------------------------------------------------------------------------------
# Joins

# write_join_config PATH: KC_JOIN_CONFIG_B64 written 0600 to PATH; it holds a bootstrap token
# (and for a control plane the certificate key), so it is removed however the step ends.
write_join_config() {
    b64d KC_JOIN_CONFIG_B64
    CLEANUP_FILES+=("$1")
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$1" 0600 < <(printf '%s' "$DECODED")
}

# validate_join_config PATH: kubeadm accepts the join configuration.
validate_join_config() {
    run_redacted kubeadm config validate --config "$1" ||
        die "kubeadm rejects the join configuration on $KC_HOST (see above): the program that rendered it has a bug, or kubeadm is not the expected version"
}
