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
    /** Non-secret parameters (KC_*); they go into the command text and the trigger hash. */
    params?: Record<string, string>;
    /** Secret parameters (names from SECRET_PARAMS); they make the command text a secret and are never logged. */
    secretParams?: Record<string, pulumi.Input<string>>;
    /**
     * Steps with an undo (`create`/`delete` modes) are updated in place when their script or
     * parameters change; they are never replaced, because a replacement would run the undo
     * (e.g. `kubeadm reset`) on a working node.
     */
    hasDelete?: boolean;
    /** The step prints a secret on stdout (e.g. the kubeconfig): stdout becomes a secret output and is not logged. */
    secretStdout?: boolean;
}

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    for (const k of Object.keys(args.secretParams ?? {})) {
        if (!(SECRET_PARAMS as readonly string[]).includes(k)) throw new Error(`step ${args.step}: secret parameter ${k} must be listed in SECRET_PARAMS`);
    }
    for (const k of Object.keys(args.params ?? {})) {
        if ((SECRET_PARAMS as readonly string[]).includes(k)) throw new Error(`step ${args.step}: ${k} is a secret parameter; pass it in secretParams`);
    }
    const publicParams: Record<string, string> = { KC_HOST: args.host.name, ...(args.params ?? {}) };
    const secretParams = args.secretParams && Object.keys(args.secretParams).length > 0 ? args.secretParams : undefined;
    // Plain strings where nothing is secret: cheaper to evaluate, and readable in a preview diff.
    const render = (mode?: string): pulumi.Input<string> =>
        secretParams
            ? pulumi.secret(pulumi.output(secretParams).apply((s) => renderCommand(args.host.user, args.step, { ...publicParams, ...s }, mode)))
            : renderCommand(args.host.user, args.step, publicParams, mode);
    // Nothing a step prints may carry a secret into the Pulumi log.
    const logging = args.secretStdout || secretParams ? "stderr" : "stdoutAndStderr";
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: render(args.hasDelete ? "create" : undefined),
            ...(args.hasDelete ? { delete: render("delete") } : {}),
            // Steps without an undo re-run when their script or parameters change.
            ...(args.hasDelete ? {} : { triggers: [stepFingerprint(args.step, publicParams)] }),
            logging,
            addPreviousOutputInEnv: false,
        },
        {
            ...opts,
            additionalSecretOutputs: args.secretStdout ? ["stdout"] : opts.additionalSecretOutputs,
        },
    );
}
