// The step scripts, shipped to each host once instead of inside every command: every step's
// assembled script (assemble.ts) in a file named by its step and code hash, a MANIFEST of their
// sha256 (sha256sum's format) and the installer (scripts/bundle/install.sh). The program writes them
// to a local directory named by the bundle's hash; each host's CopyToRemote uploads that directory
// and its install-steps command moves the files into STEPS_DIR (nodes/host.ts).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { allSteps, assembleStep, currentScriptsDir } from "./assemble";

/** Where the step files live on a host (root's, 0700). */
export const STEPS_DIR = "/var/lib/kubeadm-cluster/steps";
/** Where CopyToRemote puts a bundle: below the SSH user's home (SFTP paths are relative to it). */
export const UPLOAD_DIR = ".kubeadm-cluster";
/** Where the program writes bundles, relative to the project directory (Pulumi runs the program there). */
export const LOCAL_BUNDLES = path.join(".kubeadm-cluster", "bundles");

const sha256 = (text: string) => crypto.createHash("sha256").update(text).digest("hex");

export interface StepFile {
    step: string;
    /** File name on the host: `<step>-<first 12 hex digits of its code hash>.sh`. */
    file: string;
    /** Its content: the assembled script. */
    text: string;
}

/** The file a step runs from. */
export function stepFile(step: string): StepFile {
    const a = assembleStep(step);
    return { step, file: `${step}-${a.codeHash.slice(0, 12)}.sh`, text: a.text };
}

/** The path on a host of the file a step runs from. */
export function stepPath(step: string): string {
    return `${STEPS_DIR}/${stepFile(step).file}`;
}

export interface Bundle {
    /** sha256 (first 16 hex digits) of the MANIFEST and the installer: names the bundle. */
    hash: string;
    files: StepFile[];
    manifest: string;
    installer: string;
}

let cached: { dir: string; bundle: Bundle } | undefined;

/** Every step's file, the MANIFEST and the installer. */
export function stepBundle(): Bundle {
    const dir = currentScriptsDir();
    if (cached?.dir === dir) return cached.bundle;
    const files = allSteps().map(stepFile);
    const manifest = files.map((f) => `${sha256(f.text)}  ${f.file}\n`).join("");
    const installer = fs.readFileSync(path.join(dir, "bundle", "install.sh"), "utf8");
    const bundle = { hash: sha256(`${manifest}\n${installer}`).slice(0, 16), files, manifest, installer };
    cached = { dir, bundle };
    return bundle;
}

/**
 * Writes the bundle under `<root>/.kubeadm-cluster/bundles/<hash>/` (once; other bundles there are
 * removed) and returns that path relative to root, as the state records it.
 */
export function writeBundle(root: string = process.cwd()): string {
    const b = stepBundle();
    const rel = path.join(LOCAL_BUNDLES, b.hash);
    const dir = path.join(root, rel);
    if (!fs.existsSync(path.join(dir, "MANIFEST"))) {
        const tmp = `${dir}.tmp-${process.pid}`;
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp, { recursive: true });
        for (const f of b.files) fs.writeFileSync(path.join(tmp, f.file), f.text);
        fs.writeFileSync(path.join(tmp, "install.sh"), b.installer);
        fs.writeFileSync(path.join(tmp, "MANIFEST"), b.manifest);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
    }
    // Earlier bundles go once they are an hour old (a run of another version may still be uploading one).
    for (const other of fs.readdirSync(path.dirname(dir))) {
        const p = path.join(path.dirname(dir), other);
        if (other !== b.hash && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) fs.rmSync(p, { recursive: true, force: true });
    }
    return rel;
}
