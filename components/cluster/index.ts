export * from "./controlPlane";
export * from "./joinToken";
export * from "./workerJoin";
export * from "./kubeadmCluster";
