// Control-plane housekeeping: certificate expiry (checked once a day, renewed on request) and
// scheduled etcd snapshots.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { ControlPlane } from "./controlPlane";

export interface CertificatesArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control plane whose certificates are checked. */
    controlPlane: ControlPlane;
    /** Today's date (YYYY-MM-DD): the check re-runs on the first `pulumi up` of each day. */
    today: string;
    /** What must finish first (an upgrade: a renewal restarts the API server). */
    after: pulumi.Resource[];
}

export interface CertificateExpiry {
    earliestExpiry: string;
    residualDays: number;
}

/** Parse the certs step's JSON line; an empty object means no cluster yet. */
export function parseCertificateExpiry(stdout: string): CertificateExpiry | undefined {
    const line = stdout.trim().split("\n").pop() ?? "";
    try {
        const v = JSON.parse(line) as Partial<CertificateExpiry>;
        if (typeof v.earliestExpiry !== "string") return undefined;
        return { earliestExpiry: v.earliestExpiry, residualDays: Number(v.residualDays) };
    } catch {
        return undefined;
    }
}

export class Certificates extends pulumi.ComponentResource {
    public readonly check: command.remote.Command;
    /** The earliest expiry of the control plane's certificates. */
    public readonly expiry: pulumi.Output<CertificateExpiry | undefined>;

    constructor(name: string, args: CertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:Certificates", name, {}, opts);
        const cp = args.controlPlane.host;
        this.check = remoteStep(
            `${name}-check`,
            STEPS.certs,
            { on: cp, args: { spec: args.spec }, extraTriggers: [args.today] },
            { parent: this, dependsOn: [args.controlPlane.init, ...args.after] },
        );
        this.expiry = this.check.stdout.apply(parseCertificateExpiry);
        this.registerOutputs({ expiry: this.expiry });
    }
}

export interface EtcdBackupArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control plane that runs etcd. */
    controlPlane: ControlPlane;
}

export class EtcdBackup extends pulumi.ComponentResource {
    public readonly timer: command.remote.Command;

    constructor(name: string, args: EtcdBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:EtcdBackup", name, {}, opts);
        const cp = args.controlPlane.host;
        this.timer = remoteStep(
            `${name}-timer`,
            STEPS.etcdBackup,
            { on: cp, args: { spec: args.spec } },
            { parent: this, dependsOn: [args.controlPlane.init] },
        );
        this.registerOutputs({});
    }
}
