// Node preparation: system settings, firewall, time sync. Three steps so that changing one
// setting re-runs only its step; they run one after another because each may use the
// package manager, which holds a lock.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { Host } from "./host";

export interface NodePrepArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The host to prepare. */
    host: Host;
    /**
     * Resolves once every host's facts passed the cross-host checks, and never otherwise.
     * Used as a dependency only, so a new host's unknown facts in a preview never show up as
     * a change on the existing hosts.
     */
    preflight: pulumi.Output<string>;
}

/** The value of an Output as a plain promise (undefined while unknown in a preview). */
function outputPromise<T>(o: pulumi.Output<T>): Promise<T | undefined> {
    return (o as unknown as { promise(): Promise<T | undefined> }).promise();
}

export class NodePrep extends pulumi.ComponentResource {
    public readonly system: command.remote.Command;
    public readonly firewall: command.remote.Command;
    public readonly timesync: command.remote.Command;
    /** The last step; what comes next depends on it. */
    public readonly done: command.remote.Command;

    constructor(name: string, args: NodePrepArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:nodes:NodePrep", name, {}, opts);
        const { spec, host } = args;
        const on = { on: host, args: { spec, host: host.spec } };
        this.system = remoteStep(
            `${name}-system`,
            STEPS.prepSystem,
            on,
            // A promise, not the Output: the gate must not add every host's facts to this step's
            // recorded dependencies (adding a host would then touch every existing host's state).
            // In a preview with unknown facts it resolves at once.
            { parent: this, dependsOn: [host.factsStep, outputPromise(args.preflight).then(() => host.factsStep)] },
        );
        this.firewall = remoteStep(
            `${name}-firewall`,
            STEPS.prepFirewall,
            on,
            { parent: this, dependsOn: [this.system] },
        );
        this.timesync = remoteStep(
            `${name}-timesync`,
            STEPS.prepTimesync,
            on,
            { parent: this, dependsOn: [this.firewall] },
        );
        this.done = this.timesync;
        this.registerOutputs({});
    }
}
