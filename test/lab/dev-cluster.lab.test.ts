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
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Cluster, StepResult, TestHost, changingCalls, createCluster, q } from "../hosts/harness";
import {
    NODE_PREP_STEPS,
    certsParams,
    etcdBackupParams,
    joinTokenParams,
    newToken,
    nodeDrainParams,
    nodeRegistrationParams,
    nodeStep,
    upgradeControlPlaneParams,
    upgradeNodeParams,
    workerJoinParams,
} from "../hosts/params";
import { stackWithInlineKey } from "../program/harness";
import { loadStackConfig } from "../../tools/stackConfig";
import { ClusterSpec, pauseVersion } from "../../components/config/spec";
import {
    CACHE,
    CALICO_INSTALLATION_CRD,
    KUBE,
    KUBE_NEXT,
    KubeObject,
    daemonLogs,
    devStackSpec,
    imagesFor,
    installPodNetwork,
    kubectl,
    kubectlApply,
    loadImages,
    programObjects,
    requireLab,
    waitFor,
} from "./lab";

jest.setTimeout(600_000);

let c: Cluster;
let spec: ClusterSpec;
let cp: TestHost, w1: TestHost, w2: TestHost;
let caHash = "";
const tokens: Record<string, string> = {};

/** A step with exactly the program's parameters (and its real waits: no KC_POLL_SECONDS here). */
async function step(h: TestHost, name: string, params: Record<string, string>, mode?: string, timeoutMs = 900_000): Promise<StepResult> {
    return c.runStep(h, name, params, mode, { timeoutMs });
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
                ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w), "create"), `registration of ${w.name}`, cp);
            }),
        );
        ok(await step(cp, "wait-nodes-ready", nodeStep(spec, cp, "wait-nodes-ready").params), "wait-nodes-ready", cp);
        expect(nodes()).toEqual([
            { name: "master01", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/2\./) },
            { name: "worker01", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/1\.6\./) },
            { name: "worker02", ready: "True", version: `v${KUBE}`, runtime: expect.stringMatching(/^containerd:\/\/2\./) },
        ]);
        console.log(kubectl(c, cp, "get nodes -o wide"));
        // Healthy nodes: no condition but Ready is true (memory, disk or PID pressure would taint them).
        expect(kubectl(c, cp, "get nodes -o jsonpath='{range .items[*].status.conditions[?(@.status==\"True\")]}{.type}{\" \"}{end}'").trim()).toBe("Ready Ready Ready");
        await waitFor("kube-proxy and CoreDNS running", () => {
            const pods = kubectl(c, cp, "-n kube-system get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}'");
            const lines = pods.split("\n").filter(Boolean);
            return lines.filter((l) => /^kube-proxy-.*=Running$/.test(l)).length === 3 && lines.filter((l) => /^coredns-.*=Running$/.test(l)).length === 2;
        }, 180_000);
    });

    test("a second run of every step changes nothing: no install, no restart, no init or join again, every node stays Ready", async () => {
        for (const h of c.hosts) c.clearJournal(h);
        await Promise.all(c.hosts.map(prep));
        const init = ok(await step(cp, "control-plane-init", nodeStep(spec, cp, "control-plane-init").params, "create"), "control-plane-init again", cp);
        expect(init.stderr).toContain("[master01] already initialised: the API server answers");
        for (const w of [w1, w2]) {
            const j = ok(await step(w, "worker-join", workerJoinParams(spec, w, tokens[w.name], caHash), "create"), `worker-join again on ${w.name}`, w);
            expect(j.stderr).toContain(`[${w.name}] already joined`);
        }
        // The stood-in tools record every call: none of them changed anything (no package, unit, file or firewall change).
        for (const h of c.hosts) {
            const calls = changingCalls(c.journal(h).map((l) => l.replace(/^\S+: /, "")));
            expect({ host: h.name, calls }).toEqual({ host: h.name, calls: [] });
        }
        expect(nodes().map((n) => `${n.name} ${n.ready}`)).toEqual(["master01 True", "worker01 True", "worker02 True"]);
    });

    test("the Kubernetes objects the program applies pass the real API server's validation (server-side apply, dry run); a misspelled field does not", async () => {
        const manifestsDir = path.join(__dirname, "fixtures", "manifests");
        const config = stackWithInlineKey(loadStackConfig("dev"), {
            hosts: c.hosts.map((h) => ({ name: h.name, address: h.ip, role: h.role })),
            kubernetesVersion: KUBE,
            kubeProxyMode: "iptables",
            manifestsDir,
        });
        const objects = await programObjects(config);
        const kinds = objects.map((o) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`);
        expect(kinds).toEqual(expect.arrayContaining(["Installation default", "Namespace demo", "Deployment demo/nginx", "Service demo/nginx", "Namespace shop", "Deployment shop/shop"]));
        // The Installation's CRD (Calico's own schema) and the namespaces exist for real; the rest is a dry run.
        const crd = JSON.parse(fs.readFileSync(CALICO_INSTALLATION_CRD, "utf8")) as KubeObject;
        expect(kubectlApply(c, cp, [crd], { real: true })).toEqual({ code: 0, out: expect.stringContaining("serverside-applied") });
        await waitFor(
            "the Installation CRD to be established",
            () => c.sh(cp, "kubectl --kubeconfig /etc/kubernetes/admin.conf get crd installations.operator.tigera.io -o jsonpath='{.status.conditions[?(@.type==\"Established\")].status}'").stdout === "True",
            60_000,
        );
        const namespaces = objects.filter((o) => o.kind === "Namespace");
        expect(kubectlApply(c, cp, namespaces, { real: true }).code).toBe(0);
        const rest = objects.filter((o) => o.kind !== "Namespace");
        const r = kubectlApply(c, cp, rest);
        if (r.code !== 0) throw new Error(`the API server refused the program's objects:\n${r.out}`);
        for (const o of rest) expect(r.out).toContain(`${o.metadata?.name} serverside-applied (server dry run)`);

        const demo = rest.find((o) => o.kind === "Deployment" && o.metadata?.name === "nginx")!;
        const { replicas, ...specRest } = demo.spec as Record<string, unknown>;
        const misspelled = kubectlApply(c, cp, [{ ...demo, spec: { ...specRest, replica: replicas } }]);
        expect(misspelled.code).not.toBe(0);
        expect(misspelled.out).toContain(".spec.replica: field not declared in schema");
        const inst = rest.find((o) => o.kind === "Installation")!;
        const badPool = JSON.parse(JSON.stringify(inst)) as { spec: { calicoNetwork: { ipPools: Record<string, unknown>[] } } };
        badPool.spec.calicoNetwork.ipPools[0].encapsulation = "VXLANCrossSubnett";
        const refused = kubectlApply(c, cp, [badPool as unknown as KubeObject]);
        expect(refused.code).not.toBe(0);
        expect(refused.out).toContain("encapsulation");
    });

    test("certs: the expiry parsed from the real kubeadm certs check-expiration; renewal restarts the control plane, which answers again", async () => {
        const r = ok(await step(cp, "certs", certsParams(spec)), "certs", cp);
        const report = JSON.parse(r.stdout.trim()) as { earliestExpiry: string; certificates: { name: string; expires: string; ca?: boolean }[] };
        // Every row kubeadm printed, parsed, equals the real certificate's end (to the minute kubeadm prints).
        const pem = (name: string): string => {
            if (name.endsWith(".conf")) {
                const data = /client-certificate-data: (\S+)/.exec(c.readFile(cp, `/etc/kubernetes/${name}`)!)![1];
                return Buffer.from(data, "base64").toString("utf8");
            }
            const file: Record<string, string> = { ca: "ca", "etcd-ca": "etcd/ca", "front-proxy-ca": "front-proxy-ca", "etcd-peer": "etcd/peer", "etcd-server": "etcd/server", "etcd-healthcheck-client": "etcd/healthcheck-client" };
            return c.readFile(cp, `/etc/kubernetes/pki/${file[name] ?? name}.crt`)!;
        };
        const minute = (d: Date) => d.toISOString().replace(/:\d\d\.\d+Z$/, ":00Z");
        const expected = report.certificates.map((x) => ({ name: x.name, expires: minute(new Date(new crypto.X509Certificate(pem(x.name)).validTo)) }));
        expect(report.certificates.map((x) => ({ name: x.name, expires: x.expires }))).toEqual(expected);
        expect(report.certificates.map((x) => x.name)).toEqual(expect.arrayContaining(["admin.conf", "apiserver", "etcd-server", "super-admin.conf", "ca", "etcd-ca", "front-proxy-ca"]));
        expect(report.earliestExpiry).toBe(expected.map((x) => x.expires).sort()[0]);
        const before = c.shOk(cp, "openssl x509 -noout -serial -in /etc/kubernetes/pki/apiserver.crt");
        const renew = ok(await step(cp, "certs", certsParams({ ...spec, certificateRenewal: true })), "certs renew", cp);
        expect(renew.stderr).toContain("[master01] certificate for serving the Kubernetes API renewed");
        expect(renew.stderr).toContain("[master01] moved the static pod manifests back to /etc/kubernetes/manifests");
        expect(c.shOk(cp, "openssl x509 -noout -serial -in /etc/kubernetes/pki/apiserver.crt")).not.toBe(before);
        expect(kubectl(c, cp, "get --raw=/readyz")).toBe("ok");
        expect(c.readFile(cp, "/root/.kube/config")).toBe(c.readFile(cp, "/etc/kubernetes/admin.conf"));
    });

    test("etcd-backup: the installed program saves a real etcd snapshot through crictl exec etcdctl", async () => {
        const backupSpec = { ...spec, etcdBackup: { enabled: true, dir: "/var/backups/etcd", schedule: "*-*-* 02:00:00", retention: 2 } };
        ok(await step(cp, "etcd-backup", etcdBackupParams(backupSpec), "create"), "etcd-backup create", cp);
        const execStart = /^ExecStart=(.*)$/m.exec(c.readFile(cp, "/etc/systemd/system/kubeadm-cluster-etcd-backup.service")!)![1];
        const out = c.shOk(cp, `${execStart} 2>&1`);
        const file = /^saved (\/var\/backups\/etcd\/etcd-\d{8}T\d{6}Z\.db)/m.exec(out)?.[1];
        expect(file).toBeDefined();
        const etcdutl = fs.readdirSync(path.join(CACHE, "etcd")).map((d) => path.join(CACHE, "etcd", d, "bin", "etcdutl"))[0];
        const status = JSON.parse(c.shOk(cp, `${q(etcdutl)} snapshot status ${q(file!)} -w json`)) as { totalKey: number };
        expect(status.totalKey).toBeGreaterThan(100);
        ok(await step(cp, "etcd-backup", etcdBackupParams(backupSpec), "delete"), "etcd-backup delete", cp);
    });

    test(`upgrade one minor up, to ${KUBE_NEXT}: the real kubeadm upgrade apply on the control plane, then each worker drained, kubeadm upgrade node, uncordoned`, async () => {
        const next = devStackSpec(c.hosts, { kubernetesVersion: KUBE_NEXT });
        // Air-gapped, as before init: the new release's images are loaded first.
        for (const h of c.hosts) loadImages(c, h, imagesFor(KUBE_NEXT, h.role));
        const facts = JSON.parse(ok(await step(cp, "facts", nodeStep(next, cp, "facts").params), "facts", cp).stdout) as { clusterVersion: string };
        expect(facts.clusterVersion).toBe(KUBE);
        ok(await step(cp, "upgrade-control-plane", upgradeControlPlaneParams(next, cp)), "upgrade-control-plane", cp);
        expect(kubectl(c, cp, "version -o json")).toContain(`"gitVersion": "v${KUBE_NEXT}"`);
        for (const w of [w1, w2]) {
            ok(await step(cp, "node-drain", nodeDrainParams(next, w, "drain")), `drain ${w.name}`, cp);
            ok(await step(w, "upgrade-node", upgradeNodeParams(next)), `upgrade-node on ${w.name}`, w);
            ok(await step(cp, "node-drain", nodeDrainParams(next, w, "uncordon")), `uncordon ${w.name}`, cp);
        }
        expect(nodes().map((n) => `${n.name} ${n.ready} ${n.version}`)).toEqual([
            `master01 True v${KUBE_NEXT}`,
            `worker01 True v${KUBE_NEXT}`,
            `worker02 True v${KUBE_NEXT}`,
        ]);
        spec = next;
    });

    test("removing worker01: drained and deleted on the control plane, then the real kubeadm reset and the CNI cleanup on the host", async () => {
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w1), "delete"), "node-registration delete", cp);
        expect(nodes().map((n) => n.name)).toEqual(["master01", "worker02"]);
        const reset = ok(await step(w1, "worker-join", workerJoinParams(spec, w1, tokens[w1.name], caHash), "delete"), "worker-join delete", w1);
        // Kubernetes' directories gone, the CNI's configuration gone (its directory stays: containerd
        // 2.x stops its CRI service when it goes away), nothing of the kubelet's still mounted.
        const left = c.sh(w1, "ls -d /etc/kubernetes /var/lib/kubelet 2>/dev/null; ls -A /etc/cni/net.d; grep kubelet /proc/mounts").stdout;
        expect({ left, log: left ? reset.stderr : "" }).toEqual({ left: "", log: "" });
        expect(c.sh(w1, "systemctl is-active kubelet").stdout.trim()).not.toBe("active");
        expect(c.shOk(w1, "crictl ps -a -q")).toBe("");
        expect(c.sh(w1, "ip link show cni0").code).not.toBe(0);
        expect(c.shOk(w1, "iptables-save | grep -c -- '-N KUBE-' || true").trim()).toBe("0");
    });

    test("destroy: every host reset by the real kubeadm reset; no Kubernetes state, container or daemon is left", async () => {
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w2), "delete"), "node-registration delete worker02", cp);
        ok(await step(w2, "worker-join", workerJoinParams(spec, w2, tokens[w2.name], caHash), "delete"), "worker-join delete", w2);
        ok(await step(cp, "control-plane-init", nodeStep(spec, cp, "control-plane-init").params, "delete"), "control-plane-init delete", cp);
        for (const h of c.hosts) {
            expect({ host: h.name, kube: c.exists(h, "/etc/kubernetes"), etcd: c.exists(h, "/var/lib/etcd") }).toEqual({ host: h.name, kube: false, etcd: false });
            expect(c.shOk(h, "crictl ps -a -q")).toBe("");
            // The runtime stays up through the reset (containerd 2.x stops when /etc/cni/net.d is removed).
            expect({ host: h.name, restarts: c.sh(h, "grep -c 'containerd.service exited' /var/log/kc-lab/containerd.service.log").stdout.trim() }).toEqual({ host: h.name, restarts: "0" });
        }
    });
});
