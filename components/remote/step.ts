// One remote step = one remote.Command running one script from scripts/ on one host.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../config/spec";
import { Connection } from "./connection";
import { renderCommand, stepFingerprint } from "./command";

export interface RemoteStepArgs {
    /** Script name under scripts/, without ".sh". */
    step: string;
    host: HostSpec;
    connection: Connection;
    /** Non-secret parameters (KC_*); they go into the command text and the trigger hash. */
    params?: Record<string, pulumi.Input<string>>;
    /** Secret parameters (KC_*); they make the command text a secret and are never logged. */
    secretParams?: Record<string, pulumi.Input<string>>;
    /**
     * Steps with an undo (`create`/`delete` modes) are updated in place when their script or
     * parameters change; they are never replaced, because a replacement would run the undo
     * (e.g. `kubeadm reset`) on a working node.
     */
    hasDelete?: boolean;
    /** The step prints a secret on stdout (e.g. the kubeconfig). */
    secretStdout?: boolean;
    /** Nothing the step prints is shown in the Pulumi log. */
    quiet?: boolean;
}

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const publicParams = pulumi.output({ KC_HOST: args.host.name, ...(args.params ?? {}) });
    const secretParams = args.secretParams && Object.keys(args.secretParams).length > 0 ? args.secretParams : undefined;
    const allParams = secretParams
        ? pulumi.secret(pulumi.all([publicParams, pulumi.output(secretParams)]).apply(([p, s]) => ({ ...p, ...s })))
        : publicParams;
    const render = (mode?: string) => allParams.apply((p) => renderCommand(args.host.user, args.step, p as Record<string, string>, mode));
    const logging = args.quiet || args.secretStdout ? "stderr" : secretParams ? "stderr" : "stdoutAndStderr";
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: render(args.hasDelete ? "create" : undefined),
            ...(args.hasDelete ? { delete: render("delete") } : {}),
            // Steps without an undo re-run when their script or parameters change.
            ...(args.hasDelete
                ? {}
                : { triggers: [publicParams.apply((p) => stepFingerprint(args.step, p as Record<string, string>))] }),
            logging,
            addPreviousOutputInEnv: false,
        },
        {
            ...opts,
            additionalSecretOutputs: args.secretStdout ? ["stdout"] : opts.additionalSecretOutputs,
        },
    );
}
