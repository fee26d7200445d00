// The first control plane: `kubeadm init --config` once, then the admin kubeconfig and the
// CA public-key hash that every join pins.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes/host";
import { remoteStep } from "../remote/step";
import { controlPlaneInitParams } from "../steps";

export interface ControlPlaneArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control-plane host. */
    host: Host;
    /** What must be done first (kube packages on this host, its load balancer). */
    after: pulumi.Resource[];
    /** With a load balancer: the key init encrypts the uploaded certificates with (secret). */
    certificateKey?: pulumi.Output<string>;
    /**
     * What rewrites admin.conf after init (an upgrade, a certificate renewal): the kubeconfig is
     * read after it. A promise, because those resources are created after this component.
     */
    kubeconfigAfter?: Promise<pulumi.Resource[]>;
}

export class ControlPlane extends pulumi.ComponentResource {
    public readonly init: command.remote.Command;
    /** Admin kubeconfig (secret). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** "sha256:<hex>" of the cluster CA's public key. */
    public readonly caCertHash: pulumi.Output<string>;
    public readonly host: Host;

    constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:ControlPlane", name, {}, opts);
        const { spec, host } = args;
        this.host = host;
        const base = { host: host.spec, connection: host.connection };
        this.init = remoteStep(
            `${name}-init`,
            {
                ...base,
                step: "control-plane-init",
                params: controlPlaneInitParams(spec, host.spec),
                ...(args.certificateKey ? { secretParams: { KC_CERTIFICATE_KEY: args.certificateKey } } : {}),
                hasDelete: true,
            },
            { parent: this, dependsOn: args.after },
        );
        const rewriters: Promise<pulumi.Resource[]> = args.kubeconfigAfter ?? Promise.resolve([]);
        const kubeconfigDeps: Promise<pulumi.Input<pulumi.Resource>[]> = rewriters.then((r) => [this.init, ...r]);
        const kubeconfigStep = remoteStep(
            `${name}-kubeconfig`,
            // Read again after an upgrade or a certificate renewal, which rewrite admin.conf.
            {
                ...base,
                step: "read-kubeconfig",
                secretStdout: true,
                extraTriggers: [spec.kubernetesVersion.full, String(spec.certificateRenewal)],
            },
            { parent: this, dependsOn: kubeconfigDeps },
        );
        this.kubeconfig = pulumi.secret(kubeconfigStep.stdout);
        const caHashStep = remoteStep(
            `${name}-ca-hash`,
            { ...base, step: "ca-hash" },
            { parent: this, dependsOn: [this.init] },
        );
        this.caCertHash = caHashStep.stdout.apply((s) => s.trim());
        this.registerOutputs({ kubeconfig: this.kubeconfig, caCertHash: this.caCertHash });
    }
}
