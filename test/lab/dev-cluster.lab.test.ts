// The dev stack's cluster, for real: one control plane and two workers on lab hosts (README
// "Lab hosts"), every step sent over real SSH exactly as the program sends it, with the parameters
// the program renders for Pulumi.dev.yaml (hosts replaced by the lab's, kubernetesVersion the lab's,
// kubeProxyMode iptables: this kernel has no IPVS).
// Real: kubeadm, kubelet, kubectl, crictl, containerd (Debian's 1.6 on worker01 with the config
// version 2 the program renders for 1.x; 2.x from the module proxy on master01 and worker02 with
// config version 3), runc, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy
// (iptables mode), CoreDNS, the reference CNI plugins, iptables; sshd, bash and files as in every
// host test. Stood in: dnf/rpm (a package install puts the lab's binaries in place), systemd (the
// systemctl stand-in supervises containerd and the kubelet), firewalld, chronyd, kernel modules
// and sysctls outside the host's own network namespace.
import { Cluster, StepResult, TestHost, createCluster } from "../hosts/harness";
import { FAST, NODE_PREP_STEPS, joinTokenParams, newToken, nodeRemoveParams, nodeStep, workerJoinParams } from "../hosts/params";
import { ClusterSpec, pauseVersion } from "../../components/config/spec";
import { KUBE, daemonLogs, devStackSpec, imagesFor, installPodNetwork, kubectl, loadImages, requireLab, waitFor } from "./lab";

jest.setTimeout(600_000);

let c: Cluster;
let spec: ClusterSpec;
let cp: TestHost, w1: TestHost, w2: TestHost;
let caHash = "";
const tokens: Record<string, string> = {};

async function step(h: TestHost, name: string, params: Record<string, string>, mode?: string, timeoutMs = 600_000): Promise<StepResult> {
    return c.runStep(h, name, { ...params, ...FAST }, mode, { timeoutMs });
}

function ok(r: StepResult, what: string, h?: TestHost): StepResult {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}${h ? `\n--- daemon logs on ${h.name}:\n${daemonLogs(c, h)}` : ""}`);
    return r;
}

async function prep(h: TestHost): Promise<void> {
    for (const s of ["facts", ...NODE_PREP_STEPS]) {
        const { step: name, params } = nodeStep(spec, h, s);
        ok(await step(h, name, params), `${name} on ${h.name}`, h);
    }
}

interface NodeView {
    name: string;
    ready: string;
    version: string;
    runtime: string;
}

function nodes(): NodeView[] {
    const out = kubectl(
        c,
        cp,
        `get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{.status.conditions[?(@.type=="Ready")].status}{"\\t"}{.status.nodeInfo.kubeletVersion}{"\\t"}{.status.nodeInfo.containerRuntimeVersion}{"\\n"}{end}'`,
    );
    return out
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const [name, ready, version, runtime] = l.split("\t");
            return { name, ready, version, runtime };
        });
}

beforeAll(async () => {
    requireLab("cluster");
    c = await createCluster([
        { name: "master01", ip: "10.250.0.11", os: "rocky9", role: "control-plane", lab: 2 },
        { name: "worker01", ip: "10.250.0.12", os: "rocky8", lab: 1 },
        { name: "worker02", ip: "10.250.0.13", os: "alma9", lab: 2 },
    ]);
    [cp, w1, w2] = c.hosts;
    spec = devStackSpec(c.hosts);
});

afterAll(async () => {
    await c?.destroy();
});

describe(`the dev stack at ${KUBE}, formed by the program's steps with the real kubeadm, kubelet, containerd and runc`, () => {
    test("node preparation and the container runtime on every host", async () => {
        await Promise.all(c.hosts.map(prep));
        for (const h of c.hosts) {
            const version = c.shOk(h, "containerd --version");
            expect(version).toMatch(h === w1 ? / 1\.6\.\d+/ : / v2\.\d+\.\d+ /);
            // The real containerd parses the rendered config.toml: its pause image and systemd cgroups
            // (the lab's supervisor runs it with cgroupfs, README "Lab hosts") ...
            const dump = c.shOk(h, "containerd --config /etc/containerd/config.toml config dump");
            expect(dump).toContain(`registry.k8s.io/pause:${pauseVersion(spec.kubernetesVersion.minor)}`);
            expect(dump).toMatch(/SystemdCgroup = true/);
            // ... and its CRI plugin is up.
            const info = JSON.parse(c.shOk(h, "crictl info -o json")) as { status: { conditions: { type: string; status: boolean }[] } };
            expect(info.status.conditions.find((x) => x.type === "RuntimeReady")?.status).toBe(true);
        }
        // The seeds' `docker load`: the hosts reach no registry.
        for (const h of c.hosts) loadImages(c, h, imagesFor(KUBE, h.role));
        installPodNetwork(c, c.hosts);
    });

    test("control-plane-init: the real kubeadm init with the rendered configuration", async () => {
        ok(await step(cp, "control-plane-init", nodeStep(spec, cp, "control-plane-init").params, "create"), "control-plane-init", cp);
        expect(kubectl(c, cp, "get --raw=/readyz")).toBe("ok");
        expect(nodes().map((n) => n.name)).toEqual(["master01"]);
        const kc = ok(await step(cp, "read-kubeconfig", {}), "read-kubeconfig").stdout;
        expect(kc).toContain(`server: https://${cp.ip}:6443`);
        caHash = ok(await step(cp, "ca-hash", {}), "ca-hash").stdout.trim();
        expect(caHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    test("real bootstrap tokens and joins with the pinned CA hash: kubectl get nodes shows three Ready nodes", async () => {
        for (const w of [w1, w2]) {
            tokens[w.name] = newToken();
            ok(await step(cp, "join-token", joinTokenParams(spec, w, tokens[w.name]), "create"), `join-token for ${w.name}`, cp);
        }
        await Promise.all(
            [w1, w2].map(async (w) => {
                ok(await step(w, "worker-join", workerJoinParams(spec, w, tokens[w.name], caHash), "create"), `worker-join on ${w.name}`, w);
                ok(await step(cp, "node-remove", nodeRemoveParams(spec, w), "create"), `registration of ${w.name}`, cp);
            }),
        );
        ok(await step(cp, "wait-nodes-ready", nodeStep(spec, cp, "wait-nodes-ready").params), "wait-nodes-ready", cp);
        expect(nodes()).toEqual([
            { name: "master01", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/2\./) },
            { name: "worker01", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/1\.6\./) },
            { name: "worker02", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/2\./) },
        ]);
        console.log(kubectl(c, cp, "get nodes -o wide"));
        await waitFor("kube-proxy and CoreDNS running", () => {
            const pods = kubectl(c, cp, "-n kube-system get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}'");
            const lines = pods.split("\n").filter(Boolean);
            return lines.filter((l) => /^kube-proxy-.*=Running$/.test(l)).length === 3 && lines.filter((l) => /^coredns-.*=Running$/.test(l)).length === 2;
        }, 180_000);
    });
});
