// Figures for the remote steps on test hosts (test/hosts): seconds for a full node prep on a fresh
// host, seconds for its idempotent re-run, and SSH sessions per host for a full 3-host deployment
// (counted from the sessions actually opened). Prints figures only; never passes or fails on time.
// Run as root: bash bench/host-steps.sh
import { Cluster, TestHost, createCluster } from "../test/hosts/harness";
import { FAST, NODE_PREP_STEPS, joinTokenParams, newToken, nodeRegistrationParams, nodeStep, specFor, workerJoinParams } from "../test/hosts/params";
import * as steps from "../components/steps";

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t = process.hrtime.bigint();
    const r = await f();
    return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

async function must(c: Cluster, h: TestHost, step: string, params: Record<string, string>, mode?: string): Promise<string> {
    const r = await c.runStep(h, step, { ...params, ...FAST }, mode);
    if (r.code !== 0) throw new Error(`${step} on ${h.name} exited ${r.code}:\n${r.stderr}`);
    return r.stdout;
}

async function main(): Promise<void> {
    const c = await createCluster([
        { name: "master01", ip: "10.250.0.231", os: "rocky9", role: "control-plane" },
        { name: "worker01", ip: "10.250.0.232", os: "rocky8" },
        { name: "worker02", ip: "10.250.0.233", os: "centos7" },
    ]);
    try {
        const spec = specFor(c.hosts);
        const [cp, ...ws] = c.hosts;
        const prep = async (h: TestHost) => {
            for (const s of NODE_PREP_STEPS) {
                const { step, params } = nodeStep(spec, h, s);
                await must(c, h, step, params);
            }
        };
        console.log("host steps on test hosts (real SSH and bash; package manager, systemd and kube binaries stood in)");
        console.log(`node prep = ${NODE_PREP_STEPS.join(", ")}`);
        // facts first on every host, as the program does
        for (const h of c.hosts) await must(c, h, "facts", nodeStep(spec, h, "facts").params);
        // one host at a time, so each figure is one host's own time
        for (const h of c.hosts) {
            const [, fresh] = await timed(() => prep(h));
            const [, again] = await timed(() => prep(h));
            console.log(`${h.name} (${h.os}): full node prep on a fresh host ${fresh.toFixed(2)} s; idempotent re-run ${again.toFixed(2)} s`);
        }
        // the rest of a deployment
        await must(c, cp, "control-plane-init", nodeStep(spec, cp, "control-plane-init").params, "create");
        await must(c, cp, "read-kubeconfig", {});
        const hash = (await must(c, cp, "ca-hash", {})).trim();
        for (const w of ws) {
            const token = newToken();
            await must(c, cp, "join-token", joinTokenParams(spec, w, token), "create");
            await must(c, w, "worker-join", workerJoinParams(spec, w, token, hash), "create");
            await must(c, cp, "node-registration", nodeRegistrationParams(spec, w), "create");
        }
        await must(c, cp, "wait-nodes-ready", steps.waitNodesReadyParams(spec));
        // sessions of one deployment: the measured ones above include the re-run of the node prep
        const rerun = NODE_PREP_STEPS.length;
        console.log("SSH sessions per host for a full deployment of a 3-host stack (1 control plane, 2 workers):");
        for (const h of c.hosts) {
            const n = (c.sshSessions.get(h.name) ?? 0) - rerun;
            console.log(`  ${h.name} (${h.role}): ${n}`);
        }
    } finally {
        await c.destroy();
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
