// Day-2 changes of the real program under Pulumi's mock engine (stood in for: the Pulumi engine
// and providers). The engine leaves a resource alone when its inputs are unchanged, so comparing
// the registered inputs of two runs shows what a `pulumi up` would create, update or delete.
import { loadStackConfig } from "../../tools/stackConfig";
import { ProgramRun, Registered, remoteSteps, runProgram, stackWithInlineKey, stepOf } from "./harness";

const baseHosts = () => JSON.parse(loadStackConfig("dev").config["kubeadm-cluster:hosts"]) as { name: string; address: string; role: string }[];
const dev = (overrides: Record<string, unknown> = {}) => stackWithInlineKey(loadStackConfig("dev"), overrides);
const worker03 = { name: "worker03", address: "192.168.10.14", role: "worker" };

function byName(run: ProgramRun): Map<string, Registered> {
    return new Map(run.resources.map((r) => [r.name, r]));
}

/** Dependencies as resource names, so two runs compare. */
function depNames(run: ProgramRun, r: Registered): string[] {
    return r.dependencies.map((d) => run.byUrn(d)?.name ?? d).sort();
}

function stepOn(run: ProgramRun, host: string, step: string): Registered[] {
    return remoteSteps(run).filter((r) => {
        const s = stepOf(String(r.inputs.create));
        return s.host === host && s.step === step;
    });
}

describe("scale out: adding a worker", () => {
    let two: ProgramRun;
    let three: ProgramRun;
    beforeAll(async () => {
        two = await runProgram(dev());
        three = await runProgram(dev({ hosts: [...baseHosts(), worker03] }));
    });

    test("every resource present before keeps identical inputs (the engine leaves it alone)", () => {
        const after = byName(three);
        for (const r of two.resources) {
            const same = after.get(r.name);
            expect({ name: r.name, present: same !== undefined }).toEqual({ name: r.name, present: true });
            expect({ name: r.name, inputs: same!.inputs }).toEqual({ name: r.name, inputs: r.inputs });
        }
    });

    test("and identical dependencies, except the aggregate 'nodes ready' gate, which also waits for the new node", () => {
        const after = byName(three);
        for (const r of two.resources) {
            const before = depNames(two, r);
            const now = depNames(three, after.get(r.name)!);
            if (r.name === "dev-nodes-ready") {
                expect(now.filter((d) => !before.includes(d))).toEqual(["dev-worker03-join-registration"]);
                expect(before.every((d) => now.includes(d))).toBe(true);
            } else {
                expect({ name: r.name, deps: now }).toEqual({ name: r.name, deps: before });
            }
        }
    });

    test("the new resources are only the new host's own steps and its token", () => {
        const before = new Set(two.resources.map((r) => r.name));
        const added = three.resources.filter((r) => !before.has(r.name));
        for (const r of added) expect(r.name).toMatch(/^dev-worker03(-|$)/);
        const steps = added.filter((r) => r.type === "command:remote:Command").map((r) => {
            const s = stepOf(String(r.inputs.create));
            return `${s.host}:${s.step}`;
        });
        expect(steps.sort()).toEqual(
            [
                "worker03:facts", "worker03:prep-system", "worker03:prep-firewall", "worker03:prep-timesync",
                "worker03:runtime-containerd", "worker03:kube-packages", "worker03:worker-join",
                "master01:join-token", "master01:node-registration",
                // its step files: the upload (below) and their install
                "worker03:install-steps",
            ].sort(),
        );
        expect(added.filter((r) => r.type.startsWith("random:")).length).toBe(2);
        expect(added.filter((r) => r.type === "command:remote:CopyToRemote").map((r) => r.name)).toEqual(["dev-worker03-steps-upload"]);
    });
});

describe("scale in: removing a worker", () => {
    test("only that worker's resources go; on delete its Node is drained and deleted before the host is reset", async () => {
        const full = await runProgram(dev());
        const fewer = await runProgram(dev({ hosts: baseHosts().filter((h) => h.name !== "worker02") }));
        const kept = new Set(fewer.resources.map((r) => r.name));
        const removed = full.resources.filter((r) => !kept.has(r.name));
        for (const r of removed) expect(r.name).toMatch(/^dev-worker02(-|$)/);
        const after = byName(fewer);
        for (const r of fewer.resources) {
            const before = full.resources.find((x) => x.name === r.name);
            expect({ name: r.name, inputs: r.inputs }).toEqual({ name: r.name, inputs: before!.inputs });
        }
        expect(after.size).toBe(fewer.resources.length);
        // The engine deletes in reverse dependency order: the registration (drain + delete Node,
        // on the control plane) depends on the join, so it goes first; then the join's delete
        // resets the host; then the token is deleted.
        const reg = stepOn(full, "master01", "node-registration").find((r) => String(r.inputs.create).includes("KC_NODE='worker02'"))!;
        const join = stepOn(full, "worker02", "worker-join")[0];
        expect(full.dependsOn(reg.name, join.name)).toBe(true);
        expect(String(reg.inputs.delete)).toMatch(/kc-node-registration delete <\/dev\/null$/);
        expect(String(join.inputs.delete)).toMatch(/kc-worker-join delete <\/dev\/null$/);
    });
});

describe("upgrade: one minor at a time, control plane first, then worker by worker", () => {
    test("a new stack, or an unchanged version, has no upgrade steps", async () => {
        for (const deployedOutputs of [undefined, { kubernetesVersion: "1.35.9" }]) {
            const run = await runProgram({ ...dev(), deployedOutputs });
            expect(run.resources.filter((r) => r.type === "kubeadm:cluster:Upgrade")).toEqual([]);
        }
    });

    test("1.34.3 -> 1.35.9: control plane, then each worker drained, upgraded and uncordoned before the next", async () => {
        const run = await runProgram({ ...dev(), deployedOutputs: { kubernetesVersion: "1.34.3" } });
        const chain = ["dev-upgrade-1.35.9-control-plane"];
        for (const w of ["worker01", "worker02"]) chain.push(`dev-upgrade-1.35.9-${w}-drain`, `dev-upgrade-1.35.9-${w}-upgrade`, `dev-upgrade-1.35.9-${w}-uncordon`);
        for (let i = 1; i < chain.length; i++) expect({ step: chain[i], after: chain[i - 1], ok: run.dependsOn(chain[i], chain[i - 1]) }).toEqual({ step: chain[i], after: chain[i - 1], ok: true });
        const where = (n: string) => stepOf(String(run.byName(n).inputs.create));
        expect(where("dev-upgrade-1.35.9-control-plane")).toEqual({ host: "master01", step: "upgrade-control-plane" });
        expect(where("dev-upgrade-1.35.9-worker01-drain")).toEqual({ host: "master01", step: "node-drain" });
        expect(where("dev-upgrade-1.35.9-worker01-upgrade")).toEqual({ host: "worker01", step: "upgrade-node" });
        expect(String(run.byName("dev-upgrade-1.35.9-worker01-upgrade").inputs.create)).toContain("KC_KUBE_VERSION='1.35.9'");
        // Workloads wait for the whole upgrade.
        expect(run.dependsOn("dev-nodes-ready", "dev-upgrade-1.35.9-worker02-uncordon")).toBe(true);
        // The kube-packages step moves the repo file to the new minor (its inputs change).
        const pkg = stepOn(run, "worker01", "kube-packages")[0];
        const repo = Buffer.from(/KC_KUBE_REPO_B64='([^']*)'/.exec(String(pkg.inputs.create))![1], "base64").toString();
        expect(repo).toContain("v1.35/rpm/");
    });

    test("after an upgrade the kubeconfig is read again and the certificates checked, once the whole chain is done", async () => {
        const run = await runProgram({ ...dev(), deployedOutputs: { kubernetesVersion: "1.34.3" } });
        const kubeconfig = stepOn(run, "master01", "read-kubeconfig")[0];
        expect(run.dependsOn(kubeconfig.name, "dev-upgrade-1.35.9-worker02-uncordon")).toBe(true);
        expect(kubeconfig.inputs.triggers).toContain("1.35.9");
        expect(run.dependsOn(stepOn(run, "master01", "certs")[0].name, "dev-upgrade-1.35.9-worker02-uncordon")).toBe(true);
    });

    test("adding a host in the same run as an upgrade is refused", async () => {
        const nodes = baseHosts();
        await expect(
            runProgram({ ...dev({ hosts: [...nodes, worker03] }), deployedOutputs: { kubernetesVersion: "1.34.3", nodes } }),
        ).rejects.toThrow("hosts adds worker03 in the same pulumi up as the upgrade from 1.34.3 to 1.35.9: upgrade first, then add the new hosts in a second pulumi up (or add them at 1.34.3 first).");
    });

    test("upgradeBatchSize 2: both workers are drained together after the control plane", async () => {
        const run = await runProgram({ ...dev({ upgradeBatchSize: 2 }), deployedOutputs: { kubernetesVersion: "1.34.3" } });
        expect(run.dependsOn("dev-upgrade-1.35.9-worker02-drain", "dev-upgrade-1.35.9-worker01-uncordon")).toBe(false);
        expect(run.dependsOn("dev-upgrade-1.35.9-worker02-drain", "dev-upgrade-1.35.9-control-plane")).toBe(true);
    });

    test("a skipped minor is refused before anything is registered, naming the versions to go through", async () => {
        await expect(runProgram({ ...dev(), deployedOutputs: { kubernetesVersion: "1.32.4" } })).rejects.toThrow(
            "upgrading from 1.32.4 to 1.35.9 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.33.x, run pulumi up, then 1.34.x, then 1.35.9.",
        );
    });

    test("a downgrade is refused", async () => {
        await expect(runProgram({ ...dev({ kubernetesVersion: "1.34.2" }), deployedOutputs: { kubernetesVersion: "1.35.9" } })).rejects.toThrow(
            "kubernetesVersion 1.34.2 is older than the deployed 1.35.9: downgrades are not supported; set kubernetesVersion back to 1.35.9.",
        );
    });

    test("the facts step on the control plane gets the target version (it checks the running cluster too)", async () => {
        const run = await runProgram(dev());
        expect(String(stepOn(run, "master01", "facts")[0].inputs.create)).toContain("KC_KUBE_VERSION='1.35.9'");
    });

    test("the deployed version is exported, so the next run knows where it starts from", async () => {
        const run = await runProgram(dev());
        expect(run.outputs.kubernetesVersion).toBe("1.35.9");
    });
});

describe("changing a prep setting re-runs only that step, and never a join", () => {
    test("firewall: open-ports -> disable", async () => {
        const before = await runProgram(dev());
        const after = await runProgram(dev({ firewall: "disable" }));
        const a = byName(after);
        const changed = before.resources.filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(a.get(r.name)?.inputs));
        expect(changed.map((r) => stepOf(String(r.inputs.create)).step)).toEqual(["prep-firewall", "prep-firewall", "prep-firewall"]);
    });

    test("sysctl: an extra key changes only prep-system", async () => {
        const before = await runProgram(dev());
        const after = await runProgram(dev({ sysctl: { "fs.inotify.max_user_watches": 1048576 } }));
        const a = byName(after);
        const changed = before.resources.filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(a.get(r.name)?.inputs));
        expect(new Set(changed.map((r) => stepOf(String(r.inputs.create)).step))).toEqual(new Set(["prep-system"]));
    });
});

describe("certificates and etcd backup", () => {
    test("the control plane's certificate expiry is a stack output, checked once a day", async () => {
        const stdout = (step: string) =>
            step === "certs" ? '{"earliestExpiry":"2027-11-23T10:00:00Z","residualDays":364,"certificates":[]}\n' : undefined;
        const run = await runProgram({ ...dev(), stdout });
        expect(run.outputs.certificateExpiry).toEqual({ earliestExpiry: "2027-11-23T10:00:00Z", residualDays: 364 });
        const certs = stepOn(run, "master01", "certs")[0];
        expect(certs.inputs.triggers[1]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(String(certs.inputs.create)).toContain("KC_RENEW='false'");
    });

    test("certificateRenewal: true asks the step to renew", async () => {
        const run = await runProgram(dev({ certificateRenewal: true }));
        expect(String(stepOn(run, "master01", "certs")[0].inputs.create)).toContain("KC_RENEW='true'");
    });

    test("etcdBackup: a timer on the control plane, removed with the resource", async () => {
        const none = await runProgram(dev());
        expect(stepOn(none, "master01", "etcd-backup")).toEqual([]);
        const run = await runProgram(dev({ etcdBackup: { enabled: true, dir: "/srv/etcd-snapshots", retention: 3 } }));
        const step = stepOn(run, "master01", "etcd-backup")[0];
        expect(String(step.inputs.create)).toContain("KC_BACKUP_DIR='/srv/etcd-snapshots'");
        expect(String(step.inputs.create)).toContain("KC_RETENTION='3'");
        expect(String(step.inputs.delete)).toMatch(/kc-etcd-backup delete <\/dev\/null$/);
        expect(run.dependsOn(step.name, "dev-control-plane-init")).toBe(true);
    });
});
