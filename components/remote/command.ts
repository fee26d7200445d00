// How a remote step is sent over SSH: its assembled script (assemble.ts: the library's core, the
// modules it names, its own lines) passed as a single argument to `bash -c`, parameters as a quoted
// `env` prefix. sshd's AcceptEnv is not needed, stdin is left alone (so nothing in the script can
// swallow it), and a non-root user runs everything through `sudo -n`.
import * as crypto from "crypto";
import { assembleStep } from "./assemble";

export { useScriptsDir } from "./assemble";

const HEREDOC_END = "KUBEADM_CLUSTER_SCRIPT_END";

/** The full text sent for a step. */
export function stepScript(step: string): string {
    const text = assembleStep(step).text;
    if (text.split("\n").includes(HEREDOC_END)) {
        throw new Error(`scripts/${step}.sh or a module it uses must not contain a line "${HEREDOC_END}"`);
    }
    return text;
}

/** POSIX single-quote a value. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^KC_[A-Z0-9_]+$/;

/**
 * The exact command line run on the host for one step.
 * @param user  SSH user; anything but root gets `sudo -n`.
 * @param step  script name under scripts/ without ".sh".
 * @param params environment for the script; names must be KC_*.
 * @param mode  an optional first argument for the script (e.g. "create" / "delete").
 */
export function renderCommand(user: string, step: string, params: Record<string, string>, mode?: string): string {
    const env = Object.keys(params)
        .sort()
        .map((k) => {
            if (!ENV_NAME.test(k)) throw new Error(`step ${step}: parameter name ${k} must match ${ENV_NAME}`);
            return `${k}=${shellQuote(params[k])}`;
        });
    const sudo = user === "root" ? "" : "sudo -n ";
    const args = [`kc-${step}`, ...(mode ? [mode] : [])].join(" ");
    return `${sudo}env ${env.join(" ")} bash -c "$(cat <<'${HEREDOC_END}'\n${stepScript(step)}\n${HEREDOC_END}\n)" ${args} </dev/null`;
}

/** A short, stable fingerprint of a step's script and its non-secret parameters, for `triggers`. */
export function stepFingerprint(step: string, publicParams: Record<string, string>): string {
    const h = crypto.createHash("sha256");
    h.update(stepScript(step));
    for (const k of Object.keys(publicParams).sort()) h.update(`\n${k}=${publicParams[k]}`);
    return h.digest("hex").slice(0, 16);
}
