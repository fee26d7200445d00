// One remote step = one remote.Command running one script from scripts/ on one host.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../config/spec";
import { SECRET_PARAMS } from "../steps";
import { Connection } from "./connection";
import { renderCommand, stepFingerprint } from "./command";

export interface RemoteStepArgs {
    /** Script name under scripts/, without ".sh". */
    step: string;
    host: HostSpec;
    connection: Connection;
    /**
     * Non-secret parameters (KC_*); they go into the command text and the trigger hash. Plain
     * values normally; an Output when a parameter comes from another step (e.g. an interface name from the facts).
     */
    params?: Record<string, string> | pulumi.Output<Record<string, string>>;
    /** Secret parameters (names from SECRET_PARAMS); they make the command text a secret and are never logged. */
    secretParams?: Record<string, pulumi.Input<string>>;
    /**
     * Steps with an undo (`create`/`delete` modes) are updated in place when their script or
     * parameters change; they are never replaced, because a replacement would run the undo
     * (e.g. `kubeadm reset`) on a working node.
     */
    hasDelete?: boolean;
    /** More values that re-run the step when they change, without reaching the script (e.g. a date). */
    extraTriggers?: string[];
    /** The step prints a secret on stdout (e.g. the kubeconfig): stdout becomes a secret output and is not logged. */
    secretStdout?: boolean;
}

function checkNames(step: string, params: Record<string, unknown>, secret: boolean): void {
    for (const k of Object.keys(params)) {
        const listed = (SECRET_PARAMS as readonly string[]).includes(k);
        if (secret && !listed) throw new Error(`step ${step}: secret parameter ${k} must be listed in SECRET_PARAMS`);
        if (!secret && listed) throw new Error(`step ${step}: ${k} is a secret parameter; pass it in secretParams`);
    }
}

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    checkNames(args.step, args.secretParams ?? {}, true);
    const withHost = (p: Record<string, string>): Record<string, string> => {
        checkNames(args.step, p, false);
        return { KC_HOST: args.host.name, ...p };
    };
    const secretParams = args.secretParams && Object.keys(args.secretParams).length > 0 ? args.secretParams : undefined;
    const lazy = pulumi.Output.isInstance(args.params);
    // Plain strings where nothing is secret or computed: cheaper to evaluate, and readable in a preview diff.
    const publicParams: Record<string, string> | pulumi.Output<Record<string, string>> = lazy
        ? (args.params as pulumi.Output<Record<string, string>>).apply(withHost)
        : withHost((args.params as Record<string, string> | undefined) ?? {});
    const render = (mode?: string): pulumi.Input<string> => {
        if (!secretParams && !lazy) return renderCommand(args.host.user, args.step, publicParams as Record<string, string>, mode);
        const text = pulumi
            .all([publicParams, pulumi.output(secretParams ?? {})])
            .apply(([p, s]) => renderCommand(args.host.user, args.step, { ...p, ...(s as Record<string, string>) }, mode));
        return secretParams ? pulumi.secret(text) : text;
    };
    const fingerprint = lazy
        ? (publicParams as pulumi.Output<Record<string, string>>).apply((p) => stepFingerprint(args.step, p))
        : stepFingerprint(args.step, publicParams as Record<string, string>);
    // Nothing a step prints may carry a secret into the Pulumi log.
    const logging = args.secretStdout || secretParams ? "stderr" : "stdoutAndStderr";
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: render(args.hasDelete ? "create" : undefined),
            ...(args.hasDelete ? { delete: render("delete") } : {}),
            // Steps without an undo re-run when their script or parameters change.
            ...(args.hasDelete ? {} : { triggers: [fingerprint, ...(args.extraTriggers ?? [])] }),
            logging,
            addPreviousOutputInEnv: false,
        },
        {
            ...opts,
            additionalSecretOutputs: args.secretStdout ? ["stdout"] : opts.additionalSecretOutputs,
        },
    );
}
