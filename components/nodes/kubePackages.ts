// kubeadm, kubelet and kubectl pinned to the configured version from the per-minor repo.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { Host } from "./host";

export interface KubePackagesArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The host to install on. */
    host: Host;
    /** What must be done first (the container runtime). */
    after: pulumi.Resource;
}

export class KubePackages extends pulumi.ComponentResource {
    public readonly install: command.remote.Command;

    constructor(name: string, args: KubePackagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:nodes:KubePackages", name, {}, opts);
        this.install = remoteStep(
            `${name}-install`,
            STEPS.kubePackages,
            { on: args.host, args: { spec: args.spec, host: args.host.spec } },
            { parent: this, dependsOn: [args.after] },
        );
        this.registerOutputs({});
    }
}
