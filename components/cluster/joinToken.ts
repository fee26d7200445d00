// A short-lived bootstrap token for one join, created on the control plane just before that
// join and deleted with the resource. A worker added weeks later gets its own fresh token.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterSpec, HostSpec } from "../config/spec";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { ControlPlane } from "./controlPlane";

export interface JoinTokenArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control plane that issues the token. */
    controlPlane: ControlPlane;
    /** The node the token is for. */
    node: HostSpec;
    /** What must be done first (the joining node's preparation, an earlier join), so the token is fresh when used. */
    after: pulumi.Resource | pulumi.Resource[];
}

export class JoinToken extends pulumi.ComponentResource {
    /** "[a-z0-9]{6}.[a-z0-9]{16}" (secret). */
    public readonly token: pulumi.Output<string>;
    public readonly create: command.remote.Command;

    constructor(name: string, args: JoinTokenArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:JoinToken", name, {}, opts);
        const charset = { upper: false, special: false, lower: true, numeric: true };
        const id = new random.RandomString(`${name}-id`, { length: 6, ...charset }, { parent: this });
        const secretPart = new random.RandomPassword(`${name}-secret`, { length: 16, ...charset }, { parent: this });
        this.token = pulumi.secret(pulumi.interpolate`${id.result}.${secretPart.result}`);
        const cp = args.controlPlane.host;
        this.create = remoteStep(
            `${name}-create`,
            STEPS.joinToken,
            { on: cp, args: { spec: args.spec, node: args.node }, secrets: { KC_TOKEN: this.token } },
            { parent: this, dependsOn: [args.controlPlane.init, ...(Array.isArray(args.after) ? args.after : [args.after])] },
        );
        this.registerOutputs({ token: this.token });
    }
}
