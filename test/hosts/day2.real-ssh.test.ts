// Day-2 operations on clusters built by the real init/join flow at 1.34.2, every step run over real
// SSH exactly as the program sends it (parameters from components/steps.ts):
//   - the upgrade to 1.35.9 of a control plane and two workers (facts' version check, then
//     upgrade-control-plane, then per worker node-drain drain -> upgrade-node -> uncordon),
//     and a second run of every step;
//   - an upgrade interrupted (kubeadm upgrade apply failing, SSH sessions cut inside kubeadm
//     upgrade apply and kubeadm upgrade node) that converges on re-run to the end state of the
//     undisturbed cluster;
//   - node removal while the worker's host is unreachable (its link into the bridge down);
//   - certs (expiry report, renewal with the static pods restarted) and etcd-backup.
// Real: SSH (harness -> hosts, worker stand-ins -> control plane), sshd, sudo, bash and every
// file the scripts write, openssl (the CA and the kubeconfigs' certificates, whose expiry the
// certs report must match), the network (the unreachable host is a real link down).
// Stood in (README.md): dnf/yum/rpm, systemctl, kubeadm (upgrade, certs), kubectl (API server,
// nodes, kubeadm-config), crictl (etcd container, etcdctl snapshot), kubelet.
import * as crypto from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Cluster, HOST_SH, StepResult, TestHost, changingCalls, createCluster, stepCalls } from "./harness";
import {
    FAST,
    NODE_PREP_STEPS,
    certsParams,
    etcdBackupParams,
    joinTokenParams,
    newToken,
    nodeDrainParams,
    nodeRegistrationParams,
    nodeStep,
    specFor,
    upgradeControlPlaneParams,
    upgradeNodeParams,
    workerJoinParams,
} from "./params";
import { version } from "../fixtures/spec";
import { ClusterSpec } from "../../components/config/spec";

jest.setTimeout(180_000);

const FROM = "1.34.2";
const TO = "1.35.9";
const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const NODE_STATE_JSONPATH = `{.status.conditions[?(@.type=="Ready")].status}{" "}{.status.nodeInfo.kubeletVersion}{" "}{.spec.unschedulable}`;

/** Calls that change a host; `kubectl ... version` and `kubeadm certs check-expiration` are queries too. */
const changing = (calls: string[]) => changingCalls(calls).filter((l) => !/^kubectl .*\bversion\b|^kubeadm certs check-expiration\b/.test(l));

interface Built {
    c: Cluster;
    cp: TestHost;
    workers: TestHost[];
    /** The spec at FROM and at TO. */
    from: ClusterSpec;
    to: ClusterSpec;
    caHash: string;
}

function ok(r: StepResult, what: string): StepResult {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}`);
    return r;
}

const run = (b: Built, h: TestHost, step: string, params: Record<string, string>, mode?: string) => b.c.runStep(h, step, { ...params, ...FAST }, mode);

/** facts, node preparation, control-plane-init, then each worker's token, join and registration: the program's init/join flow at FROM. */
async function build(c: Cluster): Promise<Built> {
    const cp = c.hosts.find((h) => h.role === "control-plane")!;
    const workers = c.hosts.filter((h) => h.role === "worker");
    const b: Built = { c, cp, workers, from: specFor(c.hosts, { kubernetesVersion: version(FROM) }), to: specFor(c.hosts, { kubernetesVersion: version(TO) }), caHash: "" };
    await Promise.all(
        c.hosts.map(async (h) => {
            for (const s of ["facts", ...NODE_PREP_STEPS]) {
                const { step, params } = nodeStep(b.from, h, s);
                ok(await run(b, h, step, params), `${step} on ${h.name}`);
            }
        }),
    );
    ok(await run(b, cp, "control-plane-init", nodeStep(b.from, cp, "control-plane-init").params, "create"), "control-plane-init");
    const caHash = ok(await run(b, cp, "ca-hash", {}), "ca-hash").stdout.trim();
    b.caHash = caHash;
    for (const w of workers) {
        const token = newToken();
        ok(await run(b, cp, "join-token", joinTokenParams(b.from, w, token), "create"), `join-token ${w.name}`);
        ok(await run(b, w, "worker-join", workerJoinParams(b.from, w, token, caHash), "create"), `worker-join ${w.name}`);
        ok(await run(b, cp, "node-registration", nodeRegistrationParams(b.from, w), "create"), `node-registration create ${w.name}`);
    }
    for (const h of c.hosts) c.clearJournal(h);
    return b;
}

/** The node's state as the scripts read it: "<Ready> <kubelet version> <unschedulable>". */
function nodeState(b: Built, node: string): string {
    return b.c.shOk(b.cp, `kubectl --kubeconfig /etc/kubernetes/admin.conf get node ${node} -o jsonpath='${NODE_STATE_JSONPATH}'`);
}

function clusterConfigVersion(b: Built): string {
    const yaml = b.c.shOk(b.cp, `kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'`);
    return /^kubernetesVersion: (\S+)$/m.exec(yaml)?.[1] ?? "";
}

function images(b: Built): string[] {
    return b.c.shOk(b.cp, "grep -h 'image:' /etc/kubernetes/manifests/*.yaml").split("\n").filter((l) => l).map((l) => l.trim());
}

const pkgs = (c: Cluster, h: TestHost) => ["kubeadm", "kubelet", "kubectl"].map((p) => c.rpm(h, p));

/** Waits until no step holds the host lock (the session of a cut step has died). */
function waitLockFree(c: Cluster, h: TestHost): void {
    c.shOk(h, "flock -w 30 /run/lock/kubeadm-cluster.lock true");
}

/** What an upgrade leaves that must not depend on how it got there (names are the same in both clusters, addresses and CAs differ). */
function upgradeState(b: Built, h: TestHost): Record<string, string> {
    const c = b.c;
    const out: Record<string, string> = c.checksum(
        h,
        ["/etc/yum.repos.d/kubernetes.repo", "/etc/kubernetes/manifests", "/etc/kubeadm-cluster", "/var/lib/kc-standin/rpm", "/var/lib/kc-standin/units", "/var/lib/kubelet/config.yaml"],
        [/\/kubeadm-init\.yaml$/],
    );
    out["node"] = nodeState(b, h.name);
    out["kubelet"] = c.sh(h, "systemctl is-enabled kubelet; systemctl is-active kubelet").stdout;
    if (h === b.cp) {
        out["kubeadm-config"] = clusterConfigVersion(b);
        out["server"] = c.shOk(h, "kubectl --kubeconfig /etc/kubernetes/admin.conf version -o json | grep -A8 serverVersion | grep gitVersion").trim();
    }
    return out;
}

/** /root/.kube/config holds the bytes of admin.conf (control-plane-init made it a copy). */
const rootKubeconfigIsAdmin = (b: Built) => b.c.sh(b.cp, "cmp -s /root/.kube/config /etc/kubernetes/admin.conf").code === 0;

function cpUpgradeCalls(node: string): string[] {
    return [
        `dnf install -y --disableexcludes=kubernetes kubeadm-${TO}`,
        `kubeadm upgrade plan v${TO}`,
        `kubeadm upgrade apply v${TO} -y`,
        `${ADMIN} drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=5m`,
        `dnf install -y --disableexcludes=kubernetes kubelet-${TO} kubectl-${TO}`,
        "systemctl daemon-reload",
        "systemctl restart kubelet",
        `${ADMIN} uncordon ${node}`,
    ];
}

/**
 * A worker's upgrade calls. On a cgroup v1 host (EL8: Rocky 8 here; EL9 boots with v2) kubeadm 1.35's
 * system verification refuses cgroup v1, so the step skips that one check there (kubeadm_preflight).
 */
function nodeUpgradeCalls(w: TestHost): string[] {
    const v1 = w.os === "rocky8" || w.os === "centos7";
    return [
        `dnf install -y --disableexcludes=kubernetes kubeadm-${TO}`,
        v1 ? "kubeadm upgrade node --ignore-preflight-errors=SystemVerification" : "kubeadm upgrade node",
        `dnf install -y --disableexcludes=kubernetes kubelet-${TO} kubectl-${TO}`,
        "systemctl daemon-reload",
        "systemctl restart kubelet",
    ];
}

const REPO_1_35 = `# managed by kubeadm-cluster
[kubernetes]
name=Kubernetes v1.35
baseurl=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
`;

let A: Built; // master01 (Rocky 9), worker01 (Rocky 8), worker02 (AlmaLinux 9, a sudoer): the undisturbed upgrade
let B: Built; // master01 (Rocky 9), worker01 (Rocky 8): the interrupted one
let undisturbed: { cp: Record<string, string>; worker: Record<string, string> };

beforeAll(async () => {
    const [ca, cb] = await Promise.all([
        createCluster([
            { name: "master01", ip: "10.250.0.101", os: "rocky9", role: "control-plane" },
            { name: "worker01", ip: "10.250.0.102", os: "rocky8" },
            { name: "worker02", ip: "10.250.0.103", os: "alma9", user: "kcadmin" },
        ]),
        createCluster([
            { name: "master01", ip: "10.250.0.111", os: "rocky9", role: "control-plane" },
            { name: "worker01", ip: "10.250.0.112", os: "rocky8" },
        ]),
    ]);
    [A, B] = await Promise.all([build(ca), build(cb)]);
});

afterAll(async () => {
    await Promise.all([A?.c.destroy(), B?.c.destroy()]);
});

describe(`upgrade ${FROM} -> ${TO}: control plane and two workers (real SSH; stood in: dnf, rpm, systemctl, kubeadm, kubectl)`, () => {
    test("facts on the control plane reports the running version and refuses skipped minors and a downgrade before anything changes", async () => {
        const { c, cp } = A;
        const f = ok(await run(A, cp, "facts", nodeStep(A.to, cp, "facts").params), "facts");
        expect(JSON.parse(f.stdout).clusterVersion).toBe(FROM);
        const wf = ok(await run(A, A.workers[0], "facts", nodeStep(A.to, A.workers[0], "facts").params), "facts on a worker");
        expect(JSON.parse(wf.stdout).clusterVersion).toBe("");

        const refusals: [string, string][] = [
            ["1.36.1", `upgrading from ${FROM} to 1.36.1 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.35.x, run pulumi up, then 1.36.1`],
            ["1.37.0", `upgrading from ${FROM} to 1.37.0 skips minor versions: upgrade one minor at a time — set kubernetesVersion to 1.35.x, run pulumi up, then 1.36.x, then 1.37.0`],
            ["1.33.5", `kubernetesVersion 1.33.5 is older than the running ${FROM}: downgrades are not supported; set kubernetesVersion back to ${FROM}`],
        ];
        for (const [want, sentence] of refusals) {
            c.clearJournal(cp);
            const before = c.snapshot(cp);
            const spec = specFor(c.hosts, { kubernetesVersion: version(want) });
            const r = await run(A, cp, "facts", nodeStep(spec, cp, "facts").params);
            expect(r.code).toBe(1);
            expect(r.stdout).toBe("");
            expect(r.stderr).toContain(`[master01] ERROR: ${sentence}\n`);
            expect(r.stderr).toContain("[master01] ERROR: master01 is not ready for Kubernetes: 1 problem(s) above; nothing was changed\n");
            expect(changing(stepCalls(c.journal(cp), "facts"))).toEqual([]);
            expect(c.snapshot(cp)).toEqual(before);
        }
    });

    test("upgrade-control-plane: repo file for 1.35, kubeadm, upgrade plan, upgrade apply, drain, kubelet+kubectl, restart, uncordon, in that order", async () => {
        const { c, cp } = A;
        c.clearJournal(cp);
        const adminBefore = c.readFile(cp, "/etc/kubernetes/admin.conf");
        expect(c.readFile(cp, "/root/.kube/config")).toBe(adminBefore);
        const r = ok(await run(A, cp, "upgrade-control-plane", upgradeControlPlaneParams(A.to, cp)), "upgrade-control-plane");
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain(`[master01] upgrading the cluster from ${FROM} to ${TO}\n`);
        expect(r.stderr).toContain(`[master01] cluster upgraded to ${TO}\n`);
        expect(changing(stepCalls(c.journal(cp), "upgrade-control-plane"))).toEqual(cpUpgradeCalls("master01"));
        expect(c.readFile(cp, "/etc/yum.repos.d/kubernetes.repo")).toBe(REPO_1_35);
        expect(images(A)).toEqual([
            `image: registry.k8s.io/etcd:v${FROM}`,
            `image: registry.k8s.io/kube-apiserver:v${TO}`,
            `image: registry.k8s.io/kube-controller-manager:v${TO}`,
            `image: registry.k8s.io/kube-scheduler:v${TO}`,
        ]);
        expect(clusterConfigVersion(A)).toBe(`v${TO}`);
        expect(nodeState(A, "master01")).toBe(`True v${TO} `);
        expect(pkgs(c, cp)).toEqual([`kubeadm ${TO}-150500.1.1 x86_64`, `kubelet ${TO}-150500.1.1 x86_64`, `kubectl ${TO}-150500.1.1 x86_64`]);
        expect(c.exists(cp, "/etc/kubeadm-cluster/upgrading")).toBe(false);
        // kubeadm upgrade apply renewed admin.conf; root's copy followed it
        const admin = c.readFile(cp, "/etc/kubernetes/admin.conf");
        expect(admin).not.toBe(adminBefore);
        expect(c.readFile(cp, "/root/.kube/config")).toBe(admin);
        for (const w of A.workers) expect(nodeState(A, w.name)).toBe(`True v${FROM} `);
    });

    test("each worker in turn: node-drain drain (control plane) -> upgrade-node (worker) -> node-drain uncordon (waits until Ready at 1.35.9)", async () => {
        const { c, cp } = A;
        for (const w of A.workers) {
            const other = A.workers.find((x) => x !== w)!;
            const otherBefore = nodeState(A, other.name);
            c.clearJournal(cp);
            c.clearJournal(w);
            ok(await run(A, cp, "node-drain", nodeDrainParams(A.to, w, "drain")), `drain ${w.name}`);
            expect(changing(stepCalls(c.journal(cp), "node-drain"))).toEqual([`${ADMIN} drain ${w.name} --ignore-daemonsets --delete-emptydir-data --force --timeout=5m`]);
            expect(nodeState(A, w.name)).toBe(`True v${FROM} true`);

            const u = ok(await run(A, w, "upgrade-node", upgradeNodeParams(A.to)), `upgrade-node ${w.name}`);
            expect(u.stderr).toContain(`[${w.name}] upgrading ${w.name} from kubelet ${FROM} to ${TO}\n`);
            const calls = stepCalls(c.journal(w), "upgrade-node");
            expect(changing(calls)).toEqual(nodeUpgradeCalls(w));
            // the kubelet may not be newer than the API server: kubeadm-config is read first, with the kubelet's credentials
            const read = calls.indexOf("kubectl --kubeconfig /etc/kubernetes/kubelet.conf --request-timeout=20s -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}'");
            expect(read).toBeGreaterThanOrEqual(0);
            expect(read).toBeLessThan(calls.indexOf(nodeUpgradeCalls(w)[0]));
            expect(c.readFile(w, "/etc/yum.repos.d/kubernetes.repo")).toBe(REPO_1_35);
            expect(pkgs(c, w).map((p) => p?.replace(/ x86_64$/, ""))).toEqual([`kubeadm ${TO}-150500.1.1`, `kubelet ${TO}-150500.1.1`, `kubectl ${TO}-150500.1.1`]);
            expect(c.exists(w, "/etc/kubeadm-cluster/upgrading")).toBe(false);
            // the restarted kubelet reports its new version; the node stays cordoned until uncordon
            expect(nodeState(A, w.name)).toBe(`True v${TO} true`);

            c.clearJournal(cp);
            const un = ok(await run(A, cp, "node-drain", nodeDrainParams(A.to, w, "uncordon")), `uncordon ${w.name}`);
            expect(un.stderr).toContain(`[master01] node ${w.name} is Ready with kubelet v${TO} and schedulable\n`);
            expect(changing(stepCalls(c.journal(cp), "node-drain"))).toEqual([`${ADMIN} uncordon ${w.name}`]);
            expect(nodeState(A, w.name)).toBe(`True v${TO} `);
            // one worker at a time (upgradeBatchSize 1): the other one was not touched meanwhile
            if (w === A.workers[0]) expect(nodeState(A, other.name)).toBe(otherBefore);
        }
    });

    test("a second run of every step changes nothing: no install, no restart, no drain, files byte-identical", async () => {
        const { c, cp } = A;
        const hosts = [cp, ...A.workers];
        for (const h of hosts) c.clearJournal(h);
        const before = hosts.map((h) => c.snapshot(h));
        const r = ok(await run(A, cp, "upgrade-control-plane", upgradeControlPlaneParams(A.to, cp)), "upgrade-control-plane again");
        expect(r.stderr).toContain(`[master01] already at ${TO}: the cluster and the kubelet on master01\n`);
        for (const w of A.workers) {
            const d = ok(await run(A, cp, "node-drain", nodeDrainParams(A.to, w, "drain")), "drain again");
            expect(d.stderr).toContain(`[master01] node ${w.name} is already at ${TO}, not drained\n`);
            const u = ok(await run(A, w, "upgrade-node", upgradeNodeParams(A.to)), "upgrade-node again");
            expect(u.stderr).toContain(`[${w.name}] kubelet ${TO} already runs on ${w.name}\n`);
            ok(await run(A, cp, "node-drain", nodeDrainParams(A.to, w, "uncordon")), "uncordon again");
        }
        // uncordon of a schedulable node is the one call that is not a query; it changes nothing
        expect(changing(c.journal(cp).map((l) => l.replace(/^\S+: /, "")))).toEqual(A.workers.map((w) => `${ADMIN} uncordon ${w.name}`));
        for (const w of A.workers) expect(changing(c.journal(w).map((l) => l.replace(/^\S+: /, "")))).toEqual([]);
        hosts.forEach((h, i) => expect(c.snapshot(h)).toEqual(before[i]));
        // kube-packages of the next `pulumi up` (the program runs node preparation again) leaves the upgraded packages as they are
        for (const h of hosts) {
            ok(await run(A, h, "kube-packages", nodeStep(A.to, h, "kube-packages").params), `kube-packages on ${h.name}`);
            expect(changing(stepCalls(c.journal(h), "kube-packages"))).toEqual([]);
        }
        hosts.forEach((h, i) => expect(c.snapshot(h)).toEqual(before[i]));
    });

    test("packages stay pinned: every host has the 1.35 repo excluding them and exactly 1.35.9 installed", () => {
        const { c } = A;
        for (const h of c.hosts) {
            expect(c.readFile(h, "/etc/yum.repos.d/kubernetes.repo")).toBe(REPO_1_35);
            expect(c.sh(h, "rpm -q --queryformat '%{NAME}-%{VERSION}-%{RELEASE}\\n' kubeadm kubelet kubectl").stdout).toBe(
                `kubeadm-${TO}-150500.1.1\nkubelet-${TO}-150500.1.1\nkubectl-${TO}-150500.1.1\n`,
            );
            expect(c.sh(h, "systemctl is-enabled kubelet; systemctl is-active kubelet").stdout).toBe("enabled\nactive\n");
        }
        undisturbed = { cp: upgradeState(A, A.cp), worker: upgradeState(A, A.workers[0]) };
    });
});

describe("an interrupted upgrade converges on re-run to the undisturbed end state (real SSH cut mid-step; stood in: kubeadm told to fail or hang)", () => {
    test("kubeadm upgrade apply fails: the step stops before the node is touched; the cluster stays at 1.34.2", async () => {
        const { c, cp } = B;
        c.failNext(cp, "kubeadm", "^kubeadm upgrade apply");
        const r = await run(B, cp, "upgrade-control-plane", upgradeControlPlaneParams(B.to, cp));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
            `[master01] ERROR: kubeadm upgrade apply v${TO} failed on master01 (see above): fix what it reports, then run pulumi up again; the upgrade resumes from here (kubeadm upgrade apply may be repeated)\n`,
        );
        expect(changing(stepCalls(c.journal(cp), "upgrade-control-plane"))).toEqual([...cpUpgradeCalls("master01").slice(0, 2), `kubeadm upgrade apply v${TO} -y  # injected: fail`]);
        expect(clusterConfigVersion(B)).toBe(`v${FROM}`);
        expect(nodeState(B, "master01")).toBe(`True v${FROM} `);
        expect(pkgs(c, cp)).toEqual([`kubeadm ${TO}-150500.1.1 x86_64`, `kubelet ${FROM}-150500.1.1 x86_64`, `kubectl ${FROM}-150500.1.1 x86_64`]);
    });

    test("the SSH session is cut inside kubeadm upgrade apply (after the kubeadm install, before the kubelet): the re-run applies again and finishes", async () => {
        const { c, cp } = B;
        c.clearJournal(cp);
        c.failNext(cp, "kubeadm", "^kubeadm upgrade apply", { mode: "partialhang" });
        const running = c.startStep(cp, "upgrade-control-plane", { ...upgradeControlPlaneParams(B.to, cp), ...FAST });
        await c.waitHung(cp);
        running.cut();
        c.killHung(cp, "TERM");
        expect((await running.result).code).not.toBe(0);
        waitLockFree(c, cp);
        // half-way: the static pods at 1.35.9, kubeadm-config still at 1.34.2, the kubelet untouched
        expect(images(B)).toContain(`image: registry.k8s.io/kube-apiserver:v${TO}`);
        expect(clusterConfigVersion(B)).toBe(`v${FROM}`);
        expect(c.rpm(cp, "kubelet")).toBe(`kubelet ${FROM}-150500.1.1 x86_64`);
        c.clearJournal(cp);
        ok(await run(B, cp, "upgrade-control-plane", upgradeControlPlaneParams(B.to, cp)), "upgrade-control-plane after the cut");
        // kubeadm is installed already; apply is repeated because kubeadm-config is not at the target
        expect(changing(stepCalls(c.journal(cp), "upgrade-control-plane"))).toEqual(cpUpgradeCalls("master01").slice(1));
        expect(nodeState(B, "master01")).toBe(`True v${TO} `);
    });

    test("worker: the SSH session of upgrade-node is cut inside kubeadm upgrade node: the re-run finishes the node", async () => {
        const { c, cp } = B;
        const w = B.workers[0];
        ok(await run(B, cp, "node-drain", nodeDrainParams(B.to, w, "drain")), "drain");
        c.clearJournal(w);
        c.failNext(w, "kubeadm", "^kubeadm upgrade node", { mode: "partialhang" });
        const running = c.startStep(w, "upgrade-node", { ...upgradeNodeParams(B.to), ...FAST });
        await c.waitHung(w);
        running.cut();
        c.killHung(w, "TERM");
        expect((await running.result).code).not.toBe(0);
        waitLockFree(c, w);
        expect(c.readFile(w, "/etc/kubeadm-cluster/upgrading")).toBe(`${TO}\n`);
        expect(c.rpm(w, "kubeadm")).toBe(`kubeadm ${TO}-150500.1.1 x86_64`);
        expect(c.rpm(w, "kubelet")).toBe(`kubelet ${FROM}-150500.1.1 x86_64`);
        expect(nodeState(B, w.name)).toBe(`True v${FROM} true`);
        // the program's next run: drain again (still at 1.34.2: drains), upgrade-node, uncordon
        ok(await run(B, cp, "node-drain", nodeDrainParams(B.to, w, "drain")), "drain again");
        c.clearJournal(w);
        ok(await run(B, w, "upgrade-node", upgradeNodeParams(B.to)), "upgrade-node after the cut");
        expect(changing(stepCalls(c.journal(w), "upgrade-node"))).toEqual(nodeUpgradeCalls(w).slice(1));
        ok(await run(B, cp, "node-drain", nodeDrainParams(B.to, w, "uncordon")), "uncordon");
        expect(nodeState(B, w.name)).toBe(`True v${TO} `);
    });

    test("the end state equals the undisturbed cluster's: files, packages, unit states, kubeadm-config, node versions", () => {
        expect(undisturbed).toBeDefined();
        expect(upgradeState(B, B.cp)).toEqual(undisturbed.cp);
        expect(upgradeState(B, B.workers[0])).toEqual(undisturbed.worker);
        expect(rootKubeconfigIsAdmin(A)).toBe(true);
    });

    // kubeadm upgrade apply renews admin.conf before it updates kubeadm-config, so a run cut in
    // between leaves root's copy different from the renewed admin.conf; the next run still knows
    // it for a copy (same cluster CA and server, the admin user: root_kubeconfig_is_copy) and refreshes it.
    test("...and, as after the undisturbed upgrade, /root/.kube/config follows the renewed admin.conf", () => {
        expect(rootKubeconfigIsAdmin(B)).toBe(true);
    });
});

describe("drain and remove with an unreachable worker (real link down; stood in: kubectl, kubeadm)", () => {
    test("node-registration delete logs the failed drain and deletes the Node (exit 0); worker-join delete over SSH fails with a connection error; once the host is back the reset succeeds", async () => {
        const { c, cp } = A;
        const w = A.workers[1];
        const link = (state: "up" | "down") => execFileSync("bash", [HOST_SH, "link", w.id, state], { stdio: "pipe" });
        link("down");
        try {
            expect(c.shOk(cp, "kubectl --kubeconfig /etc/kubernetes/admin.conf get node worker02 --no-headers")).toMatch(/^worker02\s+NotReady\s/);
            c.clearJournal(cp);
            const r = ok(await run(A, cp, "node-registration", nodeRegistrationParams(A.to, w), "delete"), "node-registration delete");
            expect(changing(stepCalls(c.journal(cp), "node-registration"))).toEqual([
                `${ADMIN} drain worker02 --ignore-daemonsets --delete-emptydir-data --force --timeout=5m`,
                `${ADMIN} delete node worker02 --ignore-not-found`,
            ]);
            expect(r.stderr).toMatch(/\[master01\] error: unable to drain node "worker02"/);
            expect(r.stderr).toContain("[master01] draining worker02 failed (see above); deleting the node anyway\n");
            expect(r.stderr).toContain("[master01] node worker02 removed from the cluster\n");
            expect(c.shOk(cp, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name")).toBe("node/master01\nnode/worker01\n");

            const d = await run(A, w, "worker-join", workerJoinParams(A.to, w, newToken(), A.caHash), "delete");
            expect(d.code).toBe(255);
            expect(d.stderr).toMatch(/ssh: connect to host 10\.250\.0\.103 port 22: (Connection timed out|No route to host)/);
            // nothing ran there
            expect(c.exists(w, "/etc/kubernetes/kubelet.conf")).toBe(true);
            expect(stepCalls(c.journal(w), "worker-join")).toEqual([]);
        } finally {
            link("up");
        }
        const again = ok(await run(A, w, "worker-join", workerJoinParams(A.to, w, newToken(), A.caHash), "delete"), "worker-join delete with the host back");
        expect(again.stderr).toContain("[worker02] node reset done\n");
        expect(changing(stepCalls(c.journal(w), "worker-join")).filter((l) => l.startsWith("kubeadm"))).toEqual(["kubeadm reset -f --cri-socket unix:///var/run/containerd/containerd.sock"]);
        for (const gone of ["/etc/kubernetes", "/var/lib/kubelet", "/etc/kubeadm-cluster"]) expect(`${gone}: ${c.exists(w, gone)}`).toBe(`${gone}: false`);
        expect(c.sh(w, "systemctl is-active kubelet").stdout).toBe("inactive\n");
    });
});

/** kubeadm's ShortHumanDuration. */
function shortHuman(seconds: number): string {
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60) return `${seconds}s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
    if (seconds < 86400 * 365) return `${Math.floor(seconds / 86400)}d`;
    return `${Math.floor(seconds / 86400 / 365)}y`;
}

/**
 * The certs step's JSON line, computed here from the real certificates on the control plane: each
 * kubeconfig's client certificate for its row, admin.conf's for the stand-in's other leaf rows,
 * ca.crt for the three CA rows.
 */
function expectedExpiry(b: Built, now: number): string {
    const { c, cp } = b;
    const notAfter = (pem: string) => Math.floor(new Date(new crypto.X509Certificate(pem).validTo).getTime() / 1000);
    const kubeconfigCert = (file: string) => {
        const data = /client-certificate-data: (\S+)/.exec(c.readFile(cp, file)!)![1];
        return notAfter(Buffer.from(data, "base64").toString("utf8"));
    };
    const admin = kubeconfigCert("/etc/kubernetes/admin.conf");
    const ca = notAfter(c.readFile(cp, "/etc/kubernetes/pki/ca.crt")!);
    const leafs = ["admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client", "scheduler.conf", "super-admin.conf"];
    const rows: { name: string; end: number; ca: boolean }[] = [
        ...leafs.map((name) => ({ name, end: name.endsWith(".conf") ? kubeconfigCert(`/etc/kubernetes/${name}`) : admin, ca: false })),
        ...["ca", "etcd-ca", "front-proxy-ca"].map((name) => ({ name, end: ca, ca: true })),
    ];
    const minute = (t: number) => t - (t % 60); // kubeadm prints minutes
    const rfc = (t: number) => new Date(minute(t) * 1000).toISOString().replace(/:\d\d\.\d+Z$/, ":00Z");
    let first = rows[0];
    for (const r of rows) if (minute(r.end) < minute(first.end)) first = r;
    const entries = rows.map((r) => `{"name":"${r.name}","expires":"${rfc(r.end)}","residual":"${shortHuman(r.end - now)}"${r.ca ? ',"ca":true' : ""}}`);
    return `{"earliestExpiry":"${rfc(first.end)}","residualDays":${Math.floor((minute(first.end) - now) / 86400)},"certificates":[${entries.join(",")}]}\n`;
}

/** The JSON lines the certs step may print when it reads the expiry between `from` and now (residual times count from then). */
function expectedExpiries(b: Built, from: number): string[] {
    const out: string[] = [];
    for (let t = from; t <= Math.floor(Date.now() / 1000); t++) out.push(expectedExpiry(b, t));
    return out;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("certs on the control plane (real certificates made with openssl; stood in: kubeadm certs, kubectl)", () => {
    test("certs prints one JSON line parsed from kubeadm's check-expiration tables, matching the real certificates; nothing changes", async () => {
        const { c, cp } = A;
        c.clearJournal(cp);
        const before = c.snapshot(cp);
        const t0 = nowSeconds();
        const r = ok(await run(A, cp, "certs", certsParams(specFor(c.hosts, { kubernetesVersion: version(TO), certificateRenewal: false }))), "certs");
        expect(expectedExpiries(A, t0)).toContain(r.stdout);
        expect(r.stderr).not.toContain("WARNING");
        expect(stepCalls(c.journal(cp), "certs")).toEqual(["kubeadm certs check-expiration"]);
        expect(c.snapshot(cp)).toEqual(before);
    });

    test("KC_RENEW=true: kubeadm certs renew all, the static pod manifests moved out (API down) and back byte-identical, the API awaited; a re-run renews nothing", async () => {
        const { c, cp } = A;
        const params = certsParams(specFor(c.hosts, { kubernetesVersion: version(TO), certificateRenewal: true }));
        const manifests = c.checksum(cp, ["/etc/kubernetes/manifests"]);
        const adminBefore = c.readFile(cp, "/etc/kubernetes/admin.conf");
        const log = () => (c.readFile(cp, "/var/lib/kc-standin/kube/apiserver.log") ?? "").split("\n").filter((l) => l).map((l) => l.replace(/^\d+ /, ""));
        const logBefore = log();
        c.clearJournal(cp);
        const t0 = nowSeconds();
        const r = ok(await run(A, cp, "certs", params), "certs renew");
        const calls = stepCalls(c.journal(cp), "certs");
        expect(changing(calls)).toEqual(["kubeadm certs renew all"]);
        // renewal, then the API server stopped and answering again, then the report
        expect(calls.indexOf("kubeadm certs renew all")).toBeLessThan(calls.indexOf(`${ADMIN} --request-timeout=15s get --raw=/readyz`, calls.indexOf("kubeadm certs renew all")));
        expect(calls[calls.length - 1]).toBe("kubeadm certs check-expiration");
        expect(log().slice(logBefore.length)).toEqual(["stopped", `started registry.k8s.io/kube-apiserver:v${TO}`]);
        expect(c.checksum(cp, ["/etc/kubernetes/manifests"])).toEqual(manifests);
        expect(c.exists(cp, "/etc/kubeadm-cluster/manifests-paused")).toBe(false);
        expect(r.stderr).toContain("[master01] the control plane runs with the renewed certificates\n");
        const admin = c.readFile(cp, "/etc/kubernetes/admin.conf");
        expect(admin).not.toBe(adminBefore);
        expect(c.readFile(cp, "/root/.kube/config")).toBe(admin);
        expect(c.readFile(cp, "/etc/kubeadm-cluster/certs-renewed")).toMatch(/^renewed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
        expect(expectedExpiries(A, t0)).toContain(r.stdout);

        c.clearJournal(cp);
        const before = c.snapshot(cp);
        const t1 = nowSeconds();
        const again = ok(await run(A, cp, "certs", params), "certs renew again");
        expect(again.stderr).toMatch(/\[master01\] certificates renewed \S+; renewed again when less than 30 days remain\n/);
        expect(changing(stepCalls(c.journal(cp), "certs"))).toEqual([]);
        expect(log().length).toBe(logBefore.length + 2);
        expect(c.snapshot(cp)).toEqual(before);
        expect(expectedExpiries(A, t1)).toContain(again.stdout);
    });

    test("a renewal whose SSH session is cut inside kubeadm certs renew all is done again by the next run: manifests in place, API up, renewal recorded", async () => {
        const { c, cp } = B;
        const params = certsParams(specFor(c.hosts, { kubernetesVersion: version(TO), certificateRenewal: true }));
        const manifests = c.checksum(cp, ["/etc/kubernetes/manifests"]);
        c.shOk(cp, "cp /etc/kubernetes/admin.conf /root/.kube/config");
        c.failNext(cp, "kubeadm", "^kubeadm certs renew all", { mode: "partialhang" });
        const running = c.startStep(cp, "certs", { ...params, ...FAST });
        await c.waitHung(cp);
        running.cut();
        c.killHung(cp, "TERM");
        expect((await running.result).code).not.toBe(0);
        waitLockFree(c, cp);
        expect(c.exists(cp, "/etc/kubeadm-cluster/certs-renewed")).toBe(false);
        c.clearJournal(cp);
        const t0 = nowSeconds();
        const r = ok(await run(B, cp, "certs", params), "certs after the cut");
        expect(changing(stepCalls(c.journal(cp), "certs"))).toEqual(["kubeadm certs renew all"]);
        expect(c.checksum(cp, ["/etc/kubernetes/manifests"])).toEqual(manifests);
        expect(c.readFile(cp, "/etc/kubeadm-cluster/certs-renewed")).toMatch(/^renewed /);
        expect(expectedExpiries(B, t0)).toContain(r.stdout);
    });

    // `kubeadm certs renew all` rewrote admin.conf before the session was cut; the next run still
    // knows root's copy for a copy of this cluster's admin kubeconfig and refreshes it.
    test("...and /root/.kube/config follows the renewed admin.conf, as after an uninterrupted renewal", () => {
        expect(rootKubeconfigIsAdmin(B)).toBe(true);
    });
});

describe("etcd-backup on the control plane (stood in: systemctl, crictl with etcdctl)", () => {
    const spec = () => specFor(A.c.hosts, { kubernetesVersion: version(TO), etcdBackup: { enabled: true, dir: "/var/backups/etcd", schedule: "*-*-* 02:00:00", retention: 3 } });
    const DIR = "/var/backups/etcd";
    const HELPER = "/usr/local/sbin/kubeadm-cluster-etcd-backup";
    const SERVICE = "/etc/systemd/system/kubeadm-cluster-etcd-backup.service";
    const TIMER = "/etc/systemd/system/kubeadm-cluster-etcd-backup.timer";
    const listing = () => A.c.shOk(A.cp, `ls -A ${DIR}`).split("\n").filter((l) => l);

    test("create installs the program, the service and the timer (exact files), the timer enabled and started; a re-run changes nothing", async () => {
        const { c, cp } = A;
        c.clearJournal(cp);
        ok(await run(A, cp, "etcd-backup", etcdBackupParams(spec()), "create"), "etcd-backup create");
        const source = fs.readFileSync(path.join(__dirname, "../../scripts/etcd-backup.sh"), "utf8");
        const program = /cat <<'HELPER_END'\n([\s\S]*?\n)HELPER_END\n/.exec(source)![1];
        expect(c.readFile(cp, HELPER)).toBe(program);
        expect(c.readFile(cp, SERVICE)).toBe(`# managed by kubeadm-cluster
[Unit]
Description=etcd snapshot into /var/backups/etcd, keeping 3 (kubeadm-cluster)
After=kubelet.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kubeadm-cluster-etcd-backup /var/backups/etcd 3
`);
        expect(c.readFile(cp, TIMER)).toBe(`# managed by kubeadm-cluster
[Unit]
Description=etcd snapshots on the schedule *-*-* 02:00:00 (kubeadm-cluster)

[Timer]
OnCalendar=*-*-* 02:00:00
Persistent=true

[Install]
WantedBy=timers.target
`);
        expect(c.shOk(cp, `stat -c '%a %U %n' ${HELPER} ${SERVICE} ${TIMER} ${DIR}`)).toBe(`755 root ${HELPER}\n644 root ${SERVICE}\n644 root ${TIMER}\n700 root ${DIR}\n`);
        expect(c.sh(cp, "systemctl is-enabled kubeadm-cluster-etcd-backup.timer; systemctl is-active kubeadm-cluster-etcd-backup.timer").stdout).toBe("enabled\nactive\n");
        expect(changing(stepCalls(c.journal(cp), "etcd-backup"))).toEqual(["systemctl daemon-reload", "systemctl enable --now kubeadm-cluster-etcd-backup.timer"]);

        c.clearJournal(cp);
        const before = c.snapshot(cp);
        ok(await run(A, cp, "etcd-backup", etcdBackupParams(spec()), "create"), "etcd-backup create again");
        expect(changing(stepCalls(c.journal(cp), "etcd-backup"))).toEqual([]);
        expect(c.snapshot(cp)).toEqual(before);
    });

    test("the program, run by hand as the service runs it, saves etcd's snapshot into the directory and keeps the newest 3; other files stay", async () => {
        const { c, cp } = A;
        const execStart = /^ExecStart=(.*)$/m.exec(c.readFile(cp, SERVICE)!)![1];
        c.shOk(cp, `for d in 01 02 03; do echo old >${DIR}/etcd-202501\${d}T000000Z.db; done; echo mine >${DIR}/notes.txt; echo mine >${DIR}/etcd-manual.db`);
        c.clearJournal(cp);
        const first = c.shOk(cp, execStart);
        const saved1 = /^saved \/var\/backups\/etcd\/(etcd-\d{8}T\d{6}Z\.db) \((\d+) bytes\)$/m.exec(first)!;
        expect(saved1).not.toBeNull();
        expect(first).toContain(`deleted the old snapshot ${DIR}/etcd-20250101T000000Z.db\n`);
        // the snapshot is etcd's data (what etcdctl snapshot save wrote), 0600, moved out of /var/lib/etcd
        expect(c.readFile(cp, `${DIR}/${saved1[1]}`)).toBe(c.readFile(cp, "/var/lib/etcd/member/snap/db"));
        expect(Number(saved1[2])).toBeGreaterThan(0);
        expect(c.shOk(cp, `stat -c %a ${DIR}/${saved1[1]}`)).toBe("600\n");
        expect(c.exists(cp, "/var/lib/etcd/kubeadm-cluster-snapshot.db")).toBe(false);
        const id = c.shOk(cp, "crictl ps --name '^etcd$' -q").trim();
        expect(c.journal(cp).slice(0, 2)).toEqual([
            "-: crictl ps --name '^etcd$' -q",
            `-: crictl exec ${id} etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key snapshot save /var/lib/etcd/kubeadm-cluster-snapshot.db`,
        ]);

        // the names carry the second: the next snapshot a second later
        await new Promise((r) => setTimeout(r, 1100));
        const second = c.shOk(cp, execStart);
        const saved2 = /^saved \/var\/backups\/etcd\/(etcd-\d{8}T\d{6}Z\.db) /m.exec(second)![1];
        expect(saved2 > saved1[1]).toBe(true);
        expect(listing().sort()).toEqual(["etcd-20250103T000000Z.db", saved1[1], saved2, "etcd-manual.db", "notes.txt"].sort());
    });

    test("delete stops, disables and removes the timer, the service and the program; the snapshots stay", async () => {
        const { c, cp } = A;
        const kept = listing();
        c.clearJournal(cp);
        ok(await run(A, cp, "etcd-backup", etcdBackupParams(spec()), "delete"), "etcd-backup delete");
        expect(changing(stepCalls(c.journal(cp), "etcd-backup"))).toEqual(["systemctl disable --now kubeadm-cluster-etcd-backup.timer", "systemctl daemon-reload"]);
        for (const f of [HELPER, SERVICE, TIMER]) expect(`${f}: ${c.exists(cp, f)}`).toBe(`${f}: false`);
        expect(c.readFile(cp, "/var/lib/kc-standin/units/kubeadm-cluster-etcd-backup.timer")).toBe("disabled inactive\n");
        expect(listing()).toEqual(kept);
        c.clearJournal(cp);
        ok(await run(A, cp, "etcd-backup", etcdBackupParams(spec()), "delete"), "etcd-backup delete again");
        expect(changing(stepCalls(c.journal(cp), "etcd-backup"))).toEqual([]);
    });
});
