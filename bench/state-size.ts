// How much the program registers per host: the JSON size of every resource's inputs under the mock
// engine (the state stores them, and a remote.Command's outputs repeat its command text), for the
// dev stack and for a fleet of 100 hosts; and which part of it is command text.
// Figures only; nothing here passes or fails.
//
//   npx ts-node --transpile-only bench/state-size.ts [hosts...]     (default: 3 100)
import * as path from "path";
import { collect, installMocks, stepOf } from "../tools/mockEngine";
import { loadStackConfig, ROOT } from "../tools/stackConfig";

function hostsFor(n: number): unknown[] {
    const hosts: unknown[] = [{ name: "master01", address: "10.20.0.10", role: "control-plane" }];
    for (let i = 1; i < n; i++) {
        hosts.push({ name: `worker${String(i).padStart(4, "0")}`, address: `10.20.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`, role: "worker" });
    }
    return hosts;
}

async function measure(n: number): Promise<void> {
    const base = loadStackConfig("dev");
    const config = {
        ...base.config,
        "kubeadm-cluster:hosts": JSON.stringify(hostsFor(n)),
        "kubeadm-cluster:sshPrivateKeyPath": "",
        "kubeadm-cluster:sshPrivateKey": "bench-key",
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const rec = installMocks(pulumi, { config, secretKeys: ["kubeadm-cluster:sshPrivateKey"], preview: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index")) as Parameters<typeof collect>[1];
    const run = await collect(pulumi, program, rec);
    let total = 0;
    let command = 0;
    const perHost = new Map<string, number>();
    for (const r of run.resources) {
        const bytes = Buffer.byteLength(JSON.stringify(r.inputs));
        total += bytes;
        const text = [r.inputs.create, r.inputs.delete, r.inputs.update].filter((x) => typeof x === "string").join("");
        command += Buffer.byteLength(text);
        const host = typeof r.inputs.create === "string" ? stepOf(r.inputs.create).host : "";
        if (host && host !== "?") perHost.set(host, (perHost.get(host) ?? 0) + bytes);
    }
    const hostBytes = [...perHost.values()];
    const avg = hostBytes.reduce((a, b) => a + b, 0) / Math.max(hostBytes.length, 1);
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
    console.log(
        `${n} hosts: ${run.resources.length} resources, ${kb(total)} of inputs (${((100 * command) / total).toFixed(0)} % command text); ` +
            `per host ${kb(avg)} on average, ${kb(Math.max(...hostBytes))} at most (${[...perHost.entries()].sort((a, b) => b[1] - a[1])[0][0]})`,
    );
}

async function main(): Promise<void> {
    const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
    for (const n of sizes.length > 0 ? sizes : [3, 100]) {
        // A fresh module registry per size: the Pulumi SDK keeps global state.
        for (const k of Object.keys(require.cache)) delete require.cache[k];
        await measure(n);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
