// How a step's script is assembled from the library: scripts/lib/core.sh, the modules the step's
// `# kc-modules: a b` line names (each module may name modules of its own the same way, which come
// first), then the step's own script. One text per step; its hash names the file the host runs, and
// covers exactly what the step runs.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

let scriptsDir = path.join(__dirname, "..", "..", "scripts");
const cache = new Map<string, AssembledStep>();

/** Read scripts from another directory (tests and benches use this to change a script). */
export function useScriptsDir(dir: string): void {
    scriptsDir = dir;
    cache.clear();
}

export function currentScriptsDir(): string {
    return scriptsDir;
}

export interface AssembledStep {
    step: string;
    /** The library modules it is assembled with, in order (dependencies first; core not listed). */
    modules: string[];
    /** The whole text the host runs. */
    text: string;
    /**
     * sha256 of what the text does: the text without its comment lines and blank lines (outside
     * here-documents), so that a comment changes the file's content but not which steps re-run.
     */
    codeHash: string;
}

const MODULES_LINE = /^# kc-modules:(.*)$/m;

function read(rel: string): string {
    return fs.readFileSync(path.join(scriptsDir, rel), "utf8");
}

/** The modules a script's `# kc-modules:` line names. */
export function declaredModules(text: string): string[] {
    const m = MODULES_LINE.exec(text);
    return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/** Modules in assembly order: each after the ones it names. */
function resolve(names: string[], seen: string[] = [], chain: string[] = []): string[] {
    for (const name of names) {
        if (seen.includes(name)) continue;
        if (chain.includes(name)) throw new Error(`scripts/lib: modules name each other in a circle: ${[...chain, name].join(" -> ")}`);
        if (!/^[a-z0-9-]+$/.test(name) || !fs.existsSync(path.join(scriptsDir, "lib", `${name}.sh`))) {
            throw new Error(`scripts/lib/${name}.sh does not exist (named by a kc-modules line)`);
        }
        resolve(declaredModules(read(`lib/${name}.sh`)), seen, [...chain, name]);
        seen.push(name);
    }
    return seen;
}

const withoutShebang = (t: string) => t.replace(/^#!.*\n/, "");

/** What a text does, for its hash: comment-only and blank lines dropped, except inside here-documents. */
export function codeLines(text: string): string {
    const out: string[] = [];
    let heredocEnd: string | undefined;
    for (const line of text.split("\n")) {
        if (heredocEnd !== undefined) {
            out.push(line);
            if (line.replace(/^\t+/, "") === heredocEnd) heredocEnd = undefined;
            continue;
        }
        if (/^\s*(#.*)?$/.test(line)) continue;
        out.push(line);
        const h = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(line.replace(/#[^'"]*$/, ""));
        if (h) heredocEnd = h[2];
    }
    return out.join("\n");
}

/** A step's assembled script: core, its modules, itself. */
export function assembleStep(step: string): AssembledStep {
    const hit = cache.get(step);
    if (hit) return hit;
    const own = read(`${step}.sh`);
    const modules = resolve(declaredModules(own));
    const parts = [withoutShebang(read("lib/core.sh")), ...modules.map((m) => withoutShebang(read(`lib/${m}.sh`))), withoutShebang(own)];
    const text = `#!/usr/bin/env bash\n# kubeadm-cluster step: ${step} (core${modules.map((m) => ` + ${m}`).join("")})\n${parts.join("\n")}`;
    const codeHash = crypto.createHash("sha256").update(codeLines(text)).digest("hex");
    const assembled = { step, modules, text, codeHash };
    cache.set(step, assembled);
    return assembled;
}

/** Every step script under scripts/ (lib/ holds the library). */
export function allSteps(): string[] {
    return fs
        .readdirSync(scriptsDir)
        .filter((f) => f.endsWith(".sh"))
        .map((f) => f.slice(0, -3))
        .sort();
}
