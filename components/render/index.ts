// Pure renderers: everything written to a host or applied to the cluster, as text or plain objects.
export * from "./header";
export * from "./kubeadm";
export * from "./containerd";
export * from "./docker";
export * from "./repos";
export * from "./node";
export * from "./cni";
export * from "./ha";
