// The first control plane: `kubeadm init --config` once, then the admin kubeconfig and the
// CA public-key hash that every join pins.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes/host";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";

export interface ControlPlaneArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control-plane host. */
    host: Host;
    /** What must be done first (kube packages on this host, its load balancer). */
    after: pulumi.Resource[];
    /** With a load balancer: the key init encrypts the uploaded certificates with (secret). */
    certificateKey?: pulumi.Output<string>;
}

export class ControlPlane extends pulumi.ComponentResource {
    public readonly init: command.remote.Command;
    /** "sha256:<hex>" of the cluster CA's public key. */
    public readonly caCertHash: pulumi.Output<string>;
    public readonly host: Host;
    private readonly spec: ClusterSpec;
    private readonly name: string;

    constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:ControlPlane", name, {}, opts);
        const { spec, host } = args;
        this.host = host;
        this.spec = spec;
        this.name = name;
        const on = { on: host, args: { spec, host: host.spec } };
        this.init = remoteStep(
            `${name}-init`,
            STEPS.controlPlaneInit,
            { ...on, ...(args.certificateKey ? { secrets: { KC_CERTIFICATE_KEY: args.certificateKey } } : {}) },
            { parent: this, dependsOn: args.after },
        );
        const caHashStep = remoteStep(`${name}-ca-hash`, STEPS.caHash, { on: host, args: {} }, { parent: this, dependsOn: [this.init] });
        this.caCertHash = caHashStep.stdout.apply((s) => s.trim());
        this.registerOutputs({ caCertHash: this.caCertHash });
    }

    /**
     * The admin kubeconfig (secret), read after init and after whatever rewrites admin.conf (an
     * upgrade, a certificate renewal): called once, when those exist.
     */
    readKubeconfig(rewriters: pulumi.Resource[]): pulumi.Output<string> {
        const step = remoteStep(
            `${this.name}-kubeconfig`,
            STEPS.readKubeconfig,
            // Read again after an upgrade or a certificate renewal, which rewrite admin.conf.
            { on: this.host, args: {}, extraTriggers: [this.spec.kubernetesVersion.full, String(this.spec.certificateRenewal)] },
            { parent: this, dependsOn: [this.init, ...rewriters] },
        );
        return pulumi.secret(step.stdout);
    }
}
