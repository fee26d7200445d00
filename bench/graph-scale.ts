// Evaluates the program under the mock engine for 3, 100 and 1000 hosts and prints, for each,
// wall time, peak memory (RSS) and the sequential remote steps on the critical path.
// Figures only; nothing here passes or fails.
//
//   npm run bench            (or: npx ts-node --transpile-only bench/graph-scale.ts [sizes...])
//
// Each size runs twice, in fresh processes: through ts-node, as `pulumi up` runs a TypeScript
// program, and precompiled to JavaScript (a Pulumi project can point `main` at compiled output).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { collect, criticalPath, installMocks, remoteSteps } from "../tools/mockEngine";
import { loadStackConfig, ROOT } from "../tools/stackConfig";

function hostsFor(n: number): unknown[] {
    const hosts: unknown[] = [{ name: "cp01", address: "10.20.0.10", role: "control-plane" }];
    for (let i = 1; i < n; i++) {
        hosts.push({ name: `worker${String(i).padStart(4, "0")}`, address: `10.20.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`, role: "worker" });
    }
    return hosts;
}

async function child(n: number): Promise<void> {
    const base = loadStackConfig("dev");
    const config = {
        ...base.config,
        "kubeadm-cluster:hosts": JSON.stringify(hostsFor(n)),
        "kubeadm-cluster:sshPrivateKeyPath": "",
        "kubeadm-cluster:sshPrivateKey": "bench-key",
    };
    const started = process.hrtime.bigint();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const rec = installMocks(pulumi, { config, secretKeys: ["kubeadm-cluster:sshPrivateKey"], preview: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index")) as Parameters<typeof collect>[1];
    const run = await collect(pulumi, program, rec);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cp = criticalPath(run);
    console.log(JSON.stringify({
        hosts: n,
        seconds,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
        resources: run.resources.length,
        remoteSteps: remoteSteps(run).length,
        criticalPath: cp.length,
    }));
}

/** Compile the project to JavaScript in a temporary directory laid out like the repository. */
function compile(): string {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "kc-bench-"));
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.json"), "--outDir", out, "--noEmit", "false", "--sourceMap", "false"], { encoding: "utf8" });
    // Type errors are the test suite's business; all this needs is the emitted JavaScript.
    if (!fs.existsSync(path.join(out, "bench", "graph-scale.js"))) throw new Error(`tsc emitted nothing:\n${tsc.stdout}${tsc.stderr}`);
    for (const f of fs.readdirSync(ROOT).filter((x) => /^Pulumi(\.[a-z0-9-]+)?\.yaml$/.test(x))) fs.copyFileSync(path.join(ROOT, f), path.join(out, f));
    fs.symlinkSync(path.join(ROOT, "scripts"), path.join(out, "scripts"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(out, "node_modules"));
    return out;
}

function parent(sizes: number[]): void {
    const compiled = compile();
    try {
        for (const mode of ["ts-node", "compiled"] as const) {
            console.log(`\n${mode === "ts-node" ? "through ts-node (as pulumi runs index.ts)" : "precompiled JavaScript"}`);
            console.log("hosts  resources  remote-steps  critical-path  wall-time  peak-RSS");
            for (const n of sizes) run(mode, n, compiled);
        }
    } finally {
        fs.rmSync(compiled, { recursive: true, force: true });
    }
}

function run(mode: "ts-node" | "compiled", n: number, compiled: string): void {
    {
        const args = mode === "ts-node"
            ? ["-r", "ts-node/register/transpile-only", __filename, "--child", String(n)]
            : [path.join(compiled, "bench", "graph-scale.js"), "--child", String(n)];
        const r = spawnSync(process.execPath, args, {
            cwd: mode === "ts-node" ? ROOT : compiled,
            encoding: "utf8",
            maxBuffer: 1 << 26,
        });
        const line = r.stdout.trim().split("\n").pop() ?? "";
        if (r.status !== 0 || !line.startsWith("{")) {
            console.log(`${n}: failed (exit ${r.status})\n${r.stderr.slice(-2000)}`);
            return;
        }
        const f = JSON.parse(line);
        console.log(
            `${String(f.hosts).padStart(5)}  ${String(f.resources).padStart(9)}  ${String(f.remoteSteps).padStart(12)}  ${String(f.criticalPath).padStart(13)}  ${f.seconds.toFixed(2).padStart(8)}s  ${f.maxRssMiB.toFixed(0).padStart(5)} MiB`,
        );
    }
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
    child(Number(argv[1])).catch((e) => {
        console.error(e);
        process.exit(1);
    });
} else {
    parent(argv.length > 0 ? argv.map(Number) : [3, 100, 1000]);
}
