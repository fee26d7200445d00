// One remote step = one remote.Command running one registered step (steps/registry.ts) on one host,
// from the step file the host's install-steps command put in place (nodes/host.ts).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../config/spec";
import { Params, SECRET_PARAMS, StepDef } from "../steps";
import { Connection } from "./connection";
import { renderCommand, stepFingerprint } from "./command";

/** A host a step can run on: its spec, its SSH connection, and the resource that put the step files there. */
export interface StepTarget {
    spec: HostSpec;
    connection: Connection;
    /** The host's install-steps command: every step runs after it. */
    steps: pulumi.Resource;
}

export interface RemoteStepArgs<A> {
    /** Where the step runs. */
    on: StepTarget;
    /** What the step's registered parameter builder takes; an Output when it comes from another step (e.g. an interface name from the facts). */
    args: A | pulumi.Output<A>;
    /** The step's secret parameters, by the names the registry lists for it; they make the command text a secret and are never logged. */
    secrets?: Record<string, pulumi.Input<string>>;
    /** More values that re-run the step when they change, without reaching the script (e.g. a date). */
    extraTriggers?: string[];
}

function checkSecrets(def: StepDef<never>, secrets: Record<string, unknown>): void {
    const given = Object.keys(secrets).sort();
    const listed = [...def.secrets].sort();
    for (const k of given) {
        if (!listed.includes(k)) throw new Error(`step ${def.script}: secret parameter ${k} is not one the registry lists for it (${listed.join(", ") || "none"})`);
    }
}

function checkPublic(script: string, params: Params): void {
    for (const k of Object.keys(params)) {
        if (SECRET_PARAMS.includes(k)) throw new Error(`step ${script}: ${k} is a secret parameter; pass it in secrets`);
    }
}

/**
 * Steps with an undo (create/delete modes) are updated in place when their script or parameters
 * change; they are never replaced, because a replacement would run the undo (e.g. `kubeadm reset`) on
 * a working node. Steps without one re-run when their script's code or parameters change.
 */
export function remoteStep<A>(name: string, def: StepDef<A>, args: RemoteStepArgs<A>, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const host = args.on.spec;
    const secrets = args.secrets && Object.keys(args.secrets).length > 0 ? args.secrets : undefined;
    checkSecrets(def as StepDef<never>, secrets ?? {});
    const withHost = (a: A): Params => {
        const p = def.params(a);
        checkPublic(def.script, p);
        return { KC_HOST: host.name, ...p };
    };
    const lazy = pulumi.Output.isInstance(args.args);
    // Plain strings where nothing is secret or computed: cheaper to evaluate, and readable in a preview diff.
    const publicParams: Params | pulumi.Output<Params> = lazy ? (args.args as pulumi.Output<A>).apply(withHost) : withHost(args.args as A);
    const render = (mode?: string): pulumi.Input<string> => {
        if (!secrets && !lazy) return renderCommand(host.user, def.script, publicParams as Params, mode);
        const text = pulumi
            .all([publicParams, pulumi.output(secrets ?? {})])
            .apply(([p, s]) => renderCommand(host.user, def.script, { ...p, ...(s as Params) }, mode));
        return secrets ? pulumi.secret(text) : text;
    };
    const fingerprint = lazy ? (publicParams as pulumi.Output<Params>).apply((p) => stepFingerprint(def.script, p)) : stepFingerprint(def.script, publicParams as Params);
    // Nothing a step prints may carry a secret into the Pulumi log.
    const logging = def.secretStdout || secrets ? "stderr" : "stdoutAndStderr";
    const dependsOn = [args.on.steps, ...(opts.dependsOn ? (Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn]) : [])] as pulumi.Input<pulumi.Resource>[];
    return new command.remote.Command(
        name,
        {
            connection: args.on.connection,
            create: render(def.undo ? "create" : undefined),
            ...(def.undo ? { delete: render("delete") } : {}),
            // Steps without an undo re-run when their script or parameters change.
            ...(def.undo ? {} : { triggers: [fingerprint, ...(args.extraTriggers ?? [])] }),
            logging,
            addPreviousOutputInEnv: false,
        },
        {
            ...opts,
            dependsOn,
            additionalSecretOutputs: def.secretStdout ? ["stdout"] : opts.additionalSecretOutputs,
        },
    );
}
