export * from "./cni";
export * from "./workloads";
