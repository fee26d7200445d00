// How much the program registers per host: the JSON size of every resource's inputs under the mock
// engine (the state stores them, and a remote.Command's outputs repeat its command text), for the
// dev stack and for a fleet of 100 hosts; and which part of it is command text. A step counts for the
// host it is about (a join token made on the control plane counts for the joining node).
// Figures only; nothing here passes or fails.
//
//   npx ts-node --transpile-only bench/state-size.ts [hosts...]     (default: 3 100)
import * as path from "path";
import { parseCommand } from "../components/remote/command";
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
    const hostOfConnection = new Map((hostsFor(n) as { name: string; address: string }[]).map((h) => [h.address, h.name]));
    let total = 0;
    let command = 0;
    const perHost = new Map<string, number>();
    for (const r of run.resources) {
        const bytes = Buffer.byteLength(JSON.stringify(r.inputs));
        total += bytes;
        const text = [r.inputs.create, r.inputs.delete, r.inputs.update].filter((x) => typeof x === "string").join("");
        command += Buffer.byteLength(text);
        // A step counts for the host it is about: the node a control-plane step acts for (join
        // token, registration, drain), else the host it runs on.
        const create = typeof r.inputs.create === "string" ? r.inputs.create : "";
        const parsed = parseCommand(create);
        const about = parsed?.params.KC_NODE ?? /^kubeadm-cluster join of (\S+)$/.exec(parsed?.params.KC_DESCRIPTION ?? "")?.[1];
        const host = about ?? (create ? stepOf(create).host : r.type === "command:remote:CopyToRemote" ? hostOfConnection.get(String(r.inputs.connection?.host)) : undefined);
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
