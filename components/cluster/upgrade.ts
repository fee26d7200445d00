// A Kubernetes upgrade, one minor at a time: the first control plane (kubeadm upgrade apply),
// the other control planes one by one (kubeadm upgrade node), then the workers in batches, each drained, upgraded (kubeadm upgrade node + kubelet) and
// uncordoned once Ready before the next batch starts. The order is a chain in the graph, so
// `pulumi preview` shows it. Registered only while the deployed version differs from the
// configured one; every step skips a node that is already at the target version, so an
// interrupted upgrade resumes where it stopped.
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes/host";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { ControlPlane } from "./controlPlane";

export interface UpgradeArgs {
    /** The validated cluster spec (its kubernetesVersion is the target). */
    spec: ClusterSpec;
    /** The control plane, upgraded first. */
    controlPlane: ControlPlane;
    /** The other control planes, upgraded one at a time right after the first, each with what must exist first. */
    controlPlanes: { host: Host; after: pulumi.Resource }[];
    /** The workers in upgrade order, each with what must exist first (its registration). */
    workers: { host: Host; after: pulumi.Resource }[];
    /** What must be done before the upgrade starts on the control plane. */
    after: pulumi.Resource[];
}

/** Split a list into consecutive batches of at most `size`. */
export function batches<T>(items: T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}

export class Upgrade extends pulumi.ComponentResource {
    /** The last steps of the chain; whatever needs the upgraded cluster depends on them. */
    public readonly done: pulumi.Resource[];

    constructor(name: string, args: UpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:Upgrade", name, {}, opts);
        const { spec, controlPlane } = args;
        const cp = controlPlane.host;
        const cpUpgrade = remoteStep(
            `${name}-control-plane`,
            STEPS.upgradeControlPlane,
            { on: cp, args: { spec, host: cp.spec } },
            { parent: this, dependsOn: [controlPlane.init, ...args.after] },
        );
        let previous: pulumi.Resource[] = [cpUpgrade];
        // Control planes strictly one at a time (etcd quorum), then the workers batch by batch.
        const order = [...args.controlPlanes.map((c) => [c]), ...batches(args.workers, spec.upgradeBatchSize)];
        for (const batch of order) {
            previous = batch.map(({ host, after }) => {
                const node = host.spec;
                const drain = remoteStep(
                    `${name}-${node.name}-drain`,
                    STEPS.nodeDrain,
                    { on: cp, args: { spec, node, action: "drain" } },
                    { parent: this, dependsOn: [...previous, after] },
                );
                const upgrade = remoteStep(
                    `${name}-${node.name}-upgrade`,
                    STEPS.upgradeNode,
                    { on: host, args: { spec } },
                    { parent: this, dependsOn: [drain] },
                );
                return remoteStep(
                    `${name}-${node.name}-uncordon`,
                    STEPS.nodeDrain,
                    { on: cp, args: { spec, node, action: "uncordon" } },
                    { parent: this, dependsOn: [upgrade] },
                );
            });
        }
        this.done = previous;
        this.registerOutputs({});
    }
}
