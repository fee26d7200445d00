// The container runtime: containerd (default) or docker + cri-dockerd, systemd cgroup driver.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { remoteStep } from "../remote/step";
import { runtimeStepDef } from "../steps";
import { Host } from "./host";

export interface ContainerRuntimeArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The host to install on. */
    host: Host;
    /** What must be done first (node prep). */
    after: pulumi.Resource;
}

export class ContainerRuntime extends pulumi.ComponentResource {
    public readonly install: command.remote.Command;

    constructor(name: string, args: ContainerRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:nodes:ContainerRuntime", name, {}, opts);
        this.install = remoteStep(
            `${name}-install`,
            runtimeStepDef(args.spec),
            { on: args.host, args: { spec: args.spec, host: args.host.spec } },
            { parent: this, dependsOn: [args.after] },
        );
        this.registerOutputs({});
    }
}
