#!/usr/bin/env bash
# kc-modules: reset
# Step node-reset: kubeadm reset and cleanup of what Kubernetes and the CNI left on this node (the
# same as the delete mode of control-plane-init and worker-join). Does nothing on a clean node.

main() {
    host_lock
    reset_node "${KC_CRI_SOCKET:-}"
}

main "$@"
