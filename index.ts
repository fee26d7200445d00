// kubeadm-cluster: reads the stack config, builds the cluster, exports its outputs.
import * as pulumi from "@pulumi/pulumi";
import { KubeadmCluster } from "./components/cluster";
import { addedDuringUpgradeProblem, controlPlaneChangeProblem, upgradePathProblem } from "./components/cluster/upgradePath";
import { ConfigError } from "./components/config/validate";
import { loadClusterConfig, rawStackConfig } from "./components/config/load";

/** What this stack's last successful `pulumi up` left (its Kubernetes version and nodes), read from its own outputs. */
async function deployed(): Promise<{ version?: string; nodes?: unknown }> {
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const [version, nodes] = await Promise.all(
        ["kubernetesVersion", "nodes"].map((k) => self.getOutputValue(k).catch(() => undefined)),
    );
    return { version: typeof version === "string" && version !== "" ? version : undefined, nodes };
}

export = async () => {
    // Validate everything first: the engine starts creating resources as soon as they are registered.
    const config = loadClusterConfig(rawStackConfig(), pulumi.runtime.isDryRun());
    for (const w of config.warnings) pulumi.log.warn(w);
    const previous = await deployed();
    const problems = [
        upgradePathProblem(previous.version, config.spec.kubernetesVersion),
        controlPlaneChangeProblem(previous.nodes, config.spec.hosts),
        addedDuringUpgradeProblem(previous.version, config.spec.kubernetesVersion, previous.nodes, config.spec.hosts),
    ].filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new ConfigError(problems);

    const cluster = new KubeadmCluster(pulumi.getStack(), {
        spec: config.spec,
        privateKey: config.privateKey,
        userManifests: config.userManifests,
        deployedVersion: previous.version,
        today: new Date().toISOString().slice(0, 10),
    });
    return {
        kubeconfig: cluster.kubeconfig,
        apiServerEndpoint: cluster.apiServerEndpoint,
        nodes: cluster.nodes,
        demoUrl: cluster.demoUrl,
        preflight: cluster.preflight,
        certificateExpiry: cluster.certificateExpiry,
        kubernetesVersion: config.spec.kubernetesVersion.full,
    };
};
