// One machine: its SSH connection and the facts step that vets it before anything changes.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BastionSpec, ClusterSpec, HostSpec } from "../config/spec";
import { Connection, hostConnection } from "../remote/connection";
import { remoteStep } from "../remote/step";
import { factsParams } from "../steps";

export interface HostArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** This host. */
    host: HostSpec;
    /** The SSH private key (secret). */
    privateKey: pulumi.Output<string>;
    /** Optional jump host. */
    bastion?: BastionSpec;
}

export class Host extends pulumi.ComponentResource {
    public readonly spec: HostSpec;
    public readonly connection: Connection;
    /** The facts step; later steps depend on it. */
    public readonly factsStep: command.remote.Command;
    /** The facts as one JSON line. */
    public readonly facts: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:nodes:Host", name, {}, opts);
        this.spec = args.host;
        this.connection = hostConnection(args.host, args.privateKey, args.bastion);
        this.factsStep = remoteStep(
            `${name}-facts`,
            { step: "facts", host: args.host, connection: this.connection, params: factsParams(args.spec, args.host) },
            { parent: this },
        );
        this.facts = this.factsStep.stdout;
        this.registerOutputs({ facts: this.facts });
    }
}
