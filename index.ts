// kubeadm-cluster: reads the stack config, builds the cluster, exports its outputs.
import * as pulumi from "@pulumi/pulumi";
import { KubeadmCluster } from "./components/cluster";
import { loadClusterConfig, rawStackConfig } from "./components/config/load";

// Validate everything first: the engine starts creating resources as soon as they are registered.
const config = loadClusterConfig(rawStackConfig(), pulumi.runtime.isDryRun());
for (const w of config.warnings) pulumi.log.warn(w);

const cluster = new KubeadmCluster(pulumi.getStack(), {
    spec: config.spec,
    privateKey: config.privateKey,
    userManifests: config.userManifests,
});

export const kubeconfig = cluster.kubeconfig;
export const apiServerEndpoint = cluster.apiServerEndpoint;
export const nodes = cluster.nodes;
export const demoUrl = cluster.demoUrl;
export const preflight = cluster.preflight;
