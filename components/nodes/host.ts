// One machine: its SSH connection, the step files shipped to it once (remote/bundle.ts), and the
// facts step that vets it before anything changes.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BastionSpec, ClusterSpec, HostSpec } from "../config/spec";
import { STEPS_DIR, UPLOAD_DIR, stepBundle, writeBundle } from "../remote/bundle";
import { shellQuote } from "../remote/command";
import { Connection, hostConnection } from "../remote/connection";
import { StepTarget, remoteStep } from "../remote/step";
import { STEPS } from "../steps";
import { HostFacts, parseFacts } from "./facts";

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

/**
 * The command that moves an uploaded bundle into place (scripts/bundle/install.sh, as root), or,
 * when the upload is gone because it was installed already, checks that this bundle is the one in place.
 */
export function installStepsCommand(host: HostSpec, bundleHash: string): string {
    const sudo = host.user === "root" ? "" : "sudo -n ";
    const script = [
        `b=${bundleHash}; u=$(getent passwd ${host.user} | cut -d: -f6)/${UPLOAD_DIR}/$b`,
        `if [ -f "$u/install.sh" ]; then bash "$u/install.sh" ${host.name} "$b"`,
        `elif [ "$(cat ${STEPS_DIR}/.bundle 2>/dev/null)" = "$b" ]; then echo "[${host.name}] step scripts (bundle $b) already in place" >&2`,
        `else echo "[${host.name}] ERROR: the upload of bundle $b is missing from $u: run pulumi up again" >&2; exit 1; fi`,
    ].join("; ");
    return `${sudo}bash -c ${shellQuote(script)} </dev/null`;
}

export class Host extends pulumi.ComponentResource implements StepTarget {
    public readonly spec: HostSpec;
    public readonly connection: Connection;
    /** The bundle upload (the SSH user's ~/.kubeadm-cluster/<bundle>/). */
    public readonly upload: command.remote.CopyToRemote;
    /** The step files in place in /var/lib/kubeadm-cluster/steps: every step runs after it. */
    public readonly steps: command.remote.Command;
    /** The facts step; later steps depend on it. */
    public readonly factsStep: command.remote.Command;
    /** The facts as one JSON line. */
    public readonly facts: pulumi.Output<string>;
    /** The facts, parsed (the run fails with a sentence naming the host when they cannot be). */
    public readonly parsedFacts: pulumi.Output<HostFacts>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:nodes:Host", name, {}, opts);
        this.spec = args.host;
        this.connection = hostConnection(args.host, args.privateKey, args.bastion);
        const bundle = stepBundle();
        this.upload = new command.remote.CopyToRemote(
            `${name}-steps-upload`,
            { connection: this.connection, source: new pulumi.asset.FileArchive(writeBundle()), remotePath: UPLOAD_DIR },
            { parent: this },
        );
        this.steps = new command.remote.Command(
            `${name}-steps`,
            {
                connection: this.connection,
                create: installStepsCommand(args.host, bundle.hash),
                // A replaced upload (`pulumi up --replace` of it, after the host lost its files) installs
                // again. No delete: a replacement's delete would run after the new install, and an undo
                // step retried after a reset still needs its file. The step files stay after destroy.
                triggers: [this.upload.id],
                logging: "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [this.upload] },
        );
        this.factsStep = remoteStep(`${name}-facts`, STEPS.facts, { on: this, args: { spec: args.spec, host: args.host } }, { parent: this });
        this.facts = this.factsStep.stdout;
        this.parsedFacts = this.facts.apply((f) => parseFacts(args.host.name, f));
        this.registerOutputs({ facts: this.facts });
    }
}
