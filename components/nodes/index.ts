export * from "./facts";
export * from "./host";
export * from "./nodePrep";
export * from "./containerRuntime";
export * from "./kubePackages";
