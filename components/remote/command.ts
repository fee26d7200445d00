// How a remote step is run over SSH: the host already has the step's script (bundle.ts ships every
// step's assembled script once per host, in a file named by its code hash), so the command only
// names that file and passes the parameters as a quoted `env` prefix:
//   [sudo -n ]env KC_A='..' KC_HOST='h' bash -c 'f=/var/lib/kubeadm-cluster/steps/<step>-<hash>.sh; ...' kc-<step> [mode] </dev/null
// sshd's AcceptEnv is not needed, stdin is left alone, a non-root user runs it through `sudo -n`,
// and a host whose step files are gone says so instead of "No such file".
import * as crypto from "crypto";
import { assembleStep } from "./assemble";
import { stepPath } from "./bundle";

export { useScriptsDir } from "./assemble";

/** The full text a step runs (the content of its file on the host). */
export function stepScript(step: string): string {
    return assembleStep(step).text;
}

/** POSIX single-quote a value. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^KC_[A-Z0-9_]+$/;

/**
 * The `bash -c` program of a step: run its file. Without the file (a re-imaged host), an undo has
 * nothing left to do; anything else says the files are lost and where the README says what to do.
 */
function runner(step: string): string {
    return (
        `f=${stepPath(step)}; if [ -r "$f" ]; then . "$f"; elif [ "\${1:-}" = delete ]; then echo "[$KC_HOST] $f is gone: this host was reset already" >&2; ` +
        `else echo "[$KC_HOST] ERROR: $f is missing: the step files of kubeadm-cluster are gone from this host (see Lost step files in its README)" >&2; exit 1; fi`
    );
}

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
    return `${sudo}env ${env.join(" ")} bash -c ${shellQuote(runner(step))} ${args} </dev/null`;
}

export interface ParsedCommand {
    sudo: boolean;
    /** The KC_* parameters, unquoted. */
    params: Record<string, string>;
    step: string;
    /** The step file on the host. */
    file: string;
    mode?: string;
}

/** A command renderCommand made, taken apart again (for the plan tool and the mock engine); undefined for anything else. */
export function parseCommand(command: string): ParsedCommand | undefined {
    const m = /^(sudo -n )?env ((?:KC_[A-Z0-9_]+='(?:[^']|'\\'')*' ?)*)bash -c '(f=(\S+?); (?:[^']|'\\'')*)' kc-([a-z0-9-]+)(?: ([a-z]+))? <\/dev\/null$/.exec(command);
    if (!m) return undefined;
    const [, sudo, envText, , file, step, mode] = m;
    const params: Record<string, string> = {};
    for (const p of envText.matchAll(/(KC_[A-Z0-9_]+)='((?:[^']|'\\'')*)'/g)) params[p[1]] = p[2].replace(/'\\''/g, "'");
    return { sudo: Boolean(sudo), params, step, file, ...(mode ? { mode } : {}) };
}

/** A short, stable fingerprint of what a step runs (its code, not its comments) and its non-secret parameters, for `triggers`. */
export function stepFingerprint(step: string, publicParams: Record<string, string>): string {
    const h = crypto.createHash("sha256");
    h.update(assembleStep(step).codeHash);
    for (const k of Object.keys(publicParams).sort()) h.update(`\n${k}=${publicParams[k]}`);
    return h.digest("hex").slice(0, 16);
}
