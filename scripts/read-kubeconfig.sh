#!/usr/bin/env bash
# Step read-kubeconfig: prints the cluster's admin kubeconfig on stdout (a secret: the program
# keeps this step's output out of its logs).

main() {
    [[ -s $ADMIN_CONF ]] ||
        die "$ADMIN_CONF is missing on $KC_HOST: the control plane is not initialised (control-plane-init has not run or failed there)"
    cat "$ADMIN_CONF"
}

main "$@"
