// How many remote commands a script change touches on the prod stack (3 control planes, 3
// workers): the commands whose inputs change (command text, triggers), i.e. the steps `pulumi up`
// would run again, when (a) one step script's code changes, (b) one library module's code changes,
// (c) a comment in the library's core changes. Figures only; nothing here passes or fails.
//
//   npx ts-node --transpile-only bench/change-impact.ts
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { useScriptsDir } from "../components/remote/assemble";
import { collect, installMocks, Registered } from "../tools/mockEngine";
import { loadStackConfig, ROOT } from "../tools/stackConfig";

async function commands(scriptsDir: string): Promise<Map<string, string>> {
    for (const k of Object.keys(require.cache)) if (!k.includes("node_modules")) delete require.cache[k];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const base = loadStackConfig("prod");
    const config = { ...base.config, "kubeadm-cluster:sshPrivateKeyPath": "", "kubeadm-cluster:sshPrivateKey": "bench-key" };
    const rec = installMocks(pulumi, { config, secretKeys: ["kubeadm-cluster:sshPrivateKey"], preview: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("../components/remote/assemble") as { useScriptsDir: typeof useScriptsDir }).useScriptsDir(scriptsDir);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index")) as Parameters<typeof collect>[1];
    const run = await collect(pulumi, program, rec);
    const key = (r: Registered) => JSON.stringify([r.inputs.create, r.inputs.delete, r.inputs.triggers]);
    return new Map(run.resources.filter((r) => r.type === "command:remote:Command").map((r) => [r.name, key(r)]));
}

function copyScripts(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-impact-"));
    fs.cpSync(path.join(ROOT, "scripts"), dir, { recursive: true });
    return dir;
}

async function main(): Promise<void> {
    const before = await commands(path.join(ROOT, "scripts"));
    const cases: [string, (dir: string) => void][] = [
        ["(a) one step script's code (prep-firewall.sh)", (d) => fs.appendFileSync(path.join(d, "prep-firewall.sh"), "\n: one more line\n")],
        ["(b) one library module's code (lib/reset.sh)", (d) => fs.appendFileSync(path.join(d, "lib", "reset.sh"), "\nreset_extra() { :; }\n")],
        ["(c) a comment in the library's core (lib/core.sh)", (d) => fs.appendFileSync(path.join(d, "lib", "core.sh"), "\n# one more comment\n")],
        ["(d) a line of code in the library's core (lib/core.sh)", (d) => fs.appendFileSync(path.join(d, "lib", "core.sh"), "\ncore_extra() { :; }\n")],
    ];
    console.log(`prod stack: ${before.size} remote commands (every step on 6 hosts, and each host's install-steps)`);
    for (const [label, change] of cases) {
        const dir = copyScripts();
        change(dir);
        const after = await commands(dir);
        const changed = [...after.entries()].filter(([name, key]) => before.get(name) !== key).map(([name]) => name);
        const steps = changed.filter((n) => !/-steps$/.test(n));
        console.log(`${label}: ${steps.length} step commands change (plus ${changed.length - steps.length} install-steps, which only copy files)`);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
