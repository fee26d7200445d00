// The marker every generated file starts with, so an operator reading a host knows not to hand-edit it.

/** First line of every file this program writes on a host. */
export const MANAGED_HEADER = "# managed by kubeadm-cluster";
