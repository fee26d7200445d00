// A worker joins with its own token and the pinned CA hash; the control plane then waits for
// the Node to register. Deleting it drains and deletes the Node, then resets the host.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes/host";
import { remoteStep } from "../remote/step";
import { STEPS, workerJoinSecretParams } from "../steps";
import { ControlPlane } from "./controlPlane";
import { JoinToken } from "./joinToken";

export interface WorkerJoinArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The worker host. */
    host: Host;
    /** The control plane it joins. */
    controlPlane: ControlPlane;
    /** This join's token. */
    token: JoinToken;
    /** What must be done first (kube packages on the worker). */
    after: pulumi.Resource;
}

/**
 * The two steps every join has: `kubeadm join --config` on the host (reset on delete), then the
 * Node's registration on the first control plane (waits until Ready; drains and deletes on delete).
 */
export function joinAndRegister(
    parent: pulumi.Resource,
    name: string,
    args: {
        spec: ClusterSpec;
        step: typeof STEPS.workerJoin | typeof STEPS.controlPlaneJoin;
        host: Host;
        controlPlane: ControlPlane;
        joinConfig: pulumi.Output<string>;
        after: pulumi.Resource[];
    },
): { join: command.remote.Command; registration: command.remote.Command } {
    const { host, controlPlane } = args;
    const join = remoteStep(
        `${name}-join`,
        args.step,
        { on: host, args: { spec: args.spec }, secrets: { KC_JOIN_CONFIG_B64: pulumi.secret(args.joinConfig) } },
        { parent, dependsOn: args.after },
    );
    const cp = controlPlane.host;
    const registration = remoteStep(
        `${name}-registration`,
        STEPS.nodeRegistration,
        { on: cp, args: { node: host.spec } },
        { parent, dependsOn: [join] },
    );
    return { join, registration };
}

export class WorkerJoin extends pulumi.ComponentResource {
    public readonly join: command.remote.Command;
    /** Runs on the control plane: waits for the Node on create, drains and deletes it on delete. */
    public readonly registration: command.remote.Command;

    constructor(name: string, args: WorkerJoinArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:WorkerJoin", name, {}, opts);
        const { spec, host, controlPlane, token } = args;
        const joinConfig = pulumi
            .all([token.token, controlPlane.caCertHash])
            .apply(([t, hash]) => workerJoinSecretParams(spec, host.spec, t, hash).KC_JOIN_CONFIG_B64);
        ({ join: this.join, registration: this.registration } = joinAndRegister(this, name, {
            spec, step: STEPS.workerJoin, host, controlPlane, joinConfig, after: [args.after, token.create],
        }));
        this.registerOutputs({});
    }
}
