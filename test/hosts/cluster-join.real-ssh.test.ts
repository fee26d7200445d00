// Control plane, join tokens and joins across hosts, recovery of killed joins, node removal and
// reset. Real: SSH between the harness and each host AND from each worker's kubeadm stand-in to
// the control plane (discovery), openssl (the CA is a real self-signed certificate; ca-hash and
// the join's pin check compute real hashes), ip (real dummy CNI interfaces in the host's network
// namespace), bash and files. Stood in: kubeadm, kubectl, kubelet, systemctl, iptables, ipvsadm
// (see README.md).
import * as crypto from "crypto";
import { Cluster, StepResult, TestHost, changingCalls, createCluster, stepCalls } from "./harness";
import { FAST, NODE_PREP_STEPS, joinTokenParams, newToken, nodeRegistrationParams, nodeStep, specFor, workerJoinParams } from "./params";
import * as steps from "../../components/steps";

jest.setTimeout(180_000);

let c: Cluster;
let spec: ReturnType<typeof specFor>;
let cp: TestHost, w1: TestHost, w2: TestHost, w3: TestHost;
let caHash = "";
const tokens: Record<string, string> = {};
const outputs: StepResult[] = [];

async function step(h: TestHost, name: string, params: Record<string, string>, mode?: string): Promise<StepResult> {
    const r = await c.runStep(h, name, { ...params, ...FAST }, mode);
    outputs.push(r);
    return r;
}

function ok(r: StepResult, what: string): StepResult {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}`);
    return r;
}

async function prep(h: TestHost): Promise<void> {
    for (const s of ["facts", ...NODE_PREP_STEPS]) {
        const { step: name, params } = nodeStep(spec, h, s);
        ok(await step(h, name, params), `${name} on ${h.name}`);
    }
}

const init = (mode = "create") => step(cp, "control-plane-init", nodeStep(spec, cp, "control-plane-init").params, mode);
const tokenStep = (w: TestHost, mode = "create") => step(cp, "join-token", joinTokenParams(spec, w, tokens[w.name]), mode);
const join = (w: TestHost, hash = caHash, mode = "create") => step(w, "worker-join", workerJoinParams(spec, w, tokens[w.name], hash), mode);
const tokenIds = () => c.sh(cp, "ls /var/lib/kc-standin/kube/tokens 2>/dev/null").stdout.split("\n").filter((x) => x);
const nodes = () => c.sh(cp, "ls /var/lib/kc-standin/kube/nodes 2>/dev/null").stdout.split("\n").filter((x) => x);

beforeAll(async () => {
    c = await createCluster([
        { name: "master01", ip: "10.250.0.61", os: "rocky9", role: "control-plane" },
        { name: "worker01", ip: "10.250.0.62", os: "centos7" },
        { name: "worker02", ip: "10.250.0.63", os: "alma9", user: "kcadmin" },
        { name: "worker03", ip: "10.250.0.64", os: "rocky8" },
    ]);
    [cp, w1, w2, w3] = c.hosts;
    spec = specFor(c.hosts);
    await Promise.all(c.hosts.map(prep));
    for (const h of c.hosts) c.clearJournal(h);
    for (const w of [w1, w2, w3]) tokens[w.name] = newToken();
});

afterAll(async () => {
    await c?.destroy();
});

describe("control plane", () => {
    test("control-plane-init runs kubeadm init once, keeps admin.conf, removes init's default token", async () => {
        ok(await init(), "control-plane-init");
        const calls = changingCalls(stepCalls(c.journal(cp), "control-plane-init"));
        expect(calls.filter((l) => l.startsWith("kubeadm"))).toEqual([
            "kubeadm config validate --config /etc/kubeadm-cluster/kubeadm-init.yaml",
            "kubeadm config images pull --config /etc/kubeadm-cluster/kubeadm-init.yaml",
            "kubeadm init --config /etc/kubeadm-cluster/kubeadm-init.yaml",
            expect.stringMatching(/^kubeadm token delete [a-z0-9]{6} --kubeconfig \/etc\/kubernetes\/admin\.conf$/),
        ]);
        expect(tokenIds()).toEqual([]);
        expect(c.readFile(cp, "/root/.kube/config")).toBe(c.readFile(cp, "/etc/kubernetes/admin.conf"));
        expect(c.sh(cp, "stat -c %a /etc/kubeadm-cluster/kubeadm-init.yaml").stdout).toBe("600\n");
        expect(nodes()).toEqual(["master01"]);
    });

    test("read-kubeconfig prints admin.conf; ca-hash prints the real CA's public-key pin", async () => {
        const kc = ok(await step(cp, "read-kubeconfig", {}), "read-kubeconfig");
        expect(kc.stdout).toBe(c.readFile(cp, "/etc/kubernetes/admin.conf"));
        expect(kc.stdout).toContain("server: https://10.250.0.61:6443\n");
        const h = ok(await step(cp, "ca-hash", {}), "ca-hash");
        // computed here independently from the certificate the host holds
        const cert = new crypto.X509Certificate(c.readFile(cp, "/etc/kubernetes/pki/ca.crt")!);
        const der = cert.publicKey.export({ type: "spki", format: "der" });
        caHash = `sha256:${crypto.createHash("sha256").update(der).digest("hex")}`;
        expect(h.stdout).toBe(`${caHash}\n`);
    });

    test("an init killed after a partial kubeadm init is reset and initialised by the next run", async () => {
        ok(await init("delete"), "control-plane-init delete");
        c.failNext(cp, "kubeadm", "^kubeadm init", { mode: "partial" });
        const r = await init();
        expect(r.code).not.toBe(0);
        expect(c.exists(cp, "/etc/kubernetes/manifests/kube-apiserver.yaml")).toBe(true);
        c.clearJournal(cp);
        ok(await init(), "control-plane-init retry");
        const calls = changingCalls(stepCalls(c.journal(cp), "control-plane-init")).filter((l) => l.startsWith("kubeadm"));
        expect(calls[0]).toMatch(/^kubeadm reset -f\b/);
        expect(calls).toContain("kubeadm init --config /etc/kubeadm-cluster/kubeadm-init.yaml");
        expect(nodes()).toEqual(["master01"]);
        // a new CA: the pin is computed again
        const h = ok(await step(cp, "ca-hash", {}), "ca-hash");
        const cert = new crypto.X509Certificate(c.readFile(cp, "/etc/kubernetes/pki/ca.crt")!);
        caHash = `sha256:${crypto.createHash("sha256").update(cert.publicKey.export({ type: "spki", format: "der" })).digest("hex")}`;
        expect(h.stdout).toBe(`${caHash}\n`);
    });

    test("a second control-plane-init finds the API up and changes nothing", async () => {
        c.clearJournal(cp);
        const before = c.snapshot(cp);
        ok(await init(), "control-plane-init again");
        expect(changingCalls(stepCalls(c.journal(cp), "control-plane-init"))).toEqual([]);
        expect(c.snapshot(cp)).toEqual(before);
    });
});

describe("join tokens and joins across hosts", () => {
    test("join-token creates the worker's token with its description; a re-run keeps it", async () => {
        ok(await tokenStep(w1), "join-token");
        const id = tokens.worker01.split(".")[0];
        expect(tokenIds()).toEqual([id]);
        expect(c.sh(cp, "kubeadm token list --kubeconfig /etc/kubernetes/admin.conf").stdout).toMatch(new RegExp(`^${tokens.worker01}\\s+\\S+.*kubeadm-cluster join of worker01`, "m"));
        c.clearJournal(cp);
        ok(await tokenStep(w1), "join-token again");
        expect(changingCalls(stepCalls(c.journal(cp), "join-token"))).toEqual([]);
    });

    test("worker01 (CentOS 7) joins with the token and the pinned CA hash, checked against the control plane", async () => {
        ok(await join(w1), "worker-join");
        expect(changingCalls(stepCalls(c.journal(w1), "worker-join")).filter((l) => l.startsWith("kubeadm"))).toEqual([
            "kubeadm config validate --config /etc/kubeadm-cluster/kubeadm-join.yaml",
            "kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml",
        ]);
        expect(c.readFile(w1, "/etc/kubernetes/pki/ca.crt")).toBe(c.readFile(cp, "/etc/kubernetes/pki/ca.crt"));
        expect(c.exists(w1, "/etc/kubernetes/kubelet.conf")).toBe(true);
        expect(c.exists(w1, "/etc/kubeadm-cluster/kubeadm-join.yaml")).toBe(false);
        expect(c.sh(w1, "systemctl is-active kubelet").stdout).toBe("active\n");
        expect(nodes()).toEqual(["master01", "worker01"]);
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w1), "create"), "node-registration create");
    });

    test("a second worker-join on a joined node changes nothing", async () => {
        c.clearJournal(w1);
        const before = c.snapshot(w1);
        ok(await join(w1), "worker-join again");
        expect(changingCalls(stepCalls(c.journal(w1), "worker-join"))).toEqual([]);
        expect(c.snapshot(w1)).toEqual(before);
    });

    test("deleting the join-token resource removes the token; a worker joining later gets a fresh one", async () => {
        ok(await tokenStep(w1, "delete"), "join-token delete");
        expect(tokenIds()).toEqual([]);
        ok(await tokenStep(w1, "delete"), "join-token delete again (already gone)");
        expect(tokens.worker02).not.toBe(tokens.worker01);
        ok(await tokenStep(w2), "join-token for worker02");
        expect(tokenIds()).toEqual([tokens.worker02.split(".")[0]]);
        ok(await join(w2), "worker-join worker02 (through sudo)");
        expect(nodes()).toEqual(["master01", "worker01", "worker02"]);
        const ready = steps.waitNodesReadyParams(specFor([cp, w1, w2]));
        ok(await step(cp, "wait-nodes-ready", ready), "wait-nodes-ready");
    });

    test("a wrong CA hash fails with kubeadm's own message and registers nothing", async () => {
        ok(await tokenStep(w3), "join-token for worker03");
        const wrong = `sha256:${"0".repeat(64)}`;
        const r = await join(w3, wrong);
        expect(r.code).not.toBe(0);
        // kubeadm names the CA's actual pin; the step's output filter may mask the hex digits
        expect(r.stderr).toMatch(/\[worker03\] error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "sha256:[^"]+" are pinned/);
        expect(r.stderr).toMatch(/\[worker03\] ERROR: kubeadm join failed on worker03/);
        expect(nodes()).not.toContain("worker03");
        expect(c.exists(w3, "/etc/kubeadm-cluster/kubeadm-join.yaml")).toBe(false);
    });

    test("an unknown token fails with kubeadm's message; an expired one is created again by join-token", async () => {
        const id = tokens.worker03.split(".")[0];
        ok(await tokenStep(w3, "delete"), "delete worker03's token");
        const r = await join(w3);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(`could not find a JWS signature in the cluster-info ConfigMap for token ID "${id}"`);
        ok(await tokenStep(w3), "join-token for worker03");
        c.shOk(cp, `sed -i '2s/.*/1/' /var/lib/kc-standin/kube/tokens/${id}`); // expire it
        const expired = await join(w3);
        expect(expired.stderr).toContain(`could not find a JWS signature in the cluster-info ConfigMap for token ID "${id}"`);
        const again = ok(await tokenStep(w3), "join-token on an expired token");
        expect(again.stderr).toContain(`bootstrap token ${id} has expired: creating it again`);
    });

    test("a join that failed after a partial kubeadm join is reset before the retry, then joins", async () => {
        c.failNext(w3, "kubeadm", "^kubeadm join", { mode: "partial" });
        const r = await join(w3);
        expect(r.code).not.toBe(0);
        expect(c.exists(w3, "/etc/kubernetes/bootstrap-kubelet.conf")).toBe(true);
        c.clearJournal(w3);
        ok(await join(w3), "worker-join retry");
        const calls = changingCalls(stepCalls(c.journal(w3), "worker-join")).filter((l) => l.startsWith("kubeadm"));
        expect(calls[0]).toMatch(/^kubeadm reset -f\b/);
        expect(calls.slice(1)).toEqual([
            "kubeadm config validate --config /etc/kubeadm-cluster/kubeadm-join.yaml",
            "kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml",
        ]);
        expect(nodes()).toContain("worker03");
    });

    test("a join whose SSH session is cut halfway is reset and completed by the next run", async () => {
        ok(await step(w3, "worker-join", workerJoinParams(spec, w3, tokens.worker03, caHash), "delete"), "reset worker03");
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w3), "delete"), "remove worker03");
        c.failNext(w3, "kubeadm", "^kubeadm join", { mode: "partialhang" });
        const running = c.startStep(w3, "worker-join", { ...workerJoinParams(spec, w3, tokens.worker03, caHash), ...FAST }, "create");
        await c.waitHung(w3);
        running.cut();
        c.killHung(w3, "TERM");
        const cut = await running.result;
        expect(cut.code).not.toBe(0);
        // the session's TERM trap removed the join configuration (it holds the token)
        await new Promise((res) => setTimeout(res, 300));
        expect(c.exists(w3, "/etc/kubeadm-cluster/kubeadm-join.yaml")).toBe(false);
        c.clearJournal(w3);
        ok(await join(w3), "worker-join after the cut");
        const calls = changingCalls(stepCalls(c.journal(w3), "worker-join")).filter((l) => l.startsWith("kubeadm"));
        expect(calls[0]).toMatch(/^kubeadm reset -f\b/);
        expect(calls[calls.length - 1]).toBe("kubeadm join --config /etc/kubeadm-cluster/kubeadm-join.yaml");
        expect(nodes()).toContain("worker03");
    });

    test("no step printed a bootstrap token", () => {
        for (const r of outputs) {
            for (const t of Object.values(tokens)) {
                expect(r.stdout).not.toContain(t);
                expect(r.stderr).not.toContain(t);
                expect(r.stderr).not.toContain(t.split(".")[1]);
            }
            expect(r.stderr).not.toMatch(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);
        }
    });
});

describe("removal and reset", () => {
    test("node-registration delete drains worker01 and deletes its Node; a re-run is a no-op", async () => {
        c.clearJournal(cp);
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w1), "delete"), "node-registration delete");
        const calls = changingCalls(stepCalls(c.journal(cp), "node-registration"));
        expect(calls).toEqual([
            "kubectl --kubeconfig /etc/kubernetes/admin.conf drain worker01 --ignore-daemonsets --delete-emptydir-data --force --timeout=5m",
            "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node worker01 --ignore-not-found",
        ]);
        expect(nodes()).not.toContain("worker01");
        ok(await step(cp, "node-registration", nodeRegistrationParams(spec, w1), "delete"), "node-registration delete again");
    });

    test("worker-join delete resets the node and removes CNI leftovers, nothing else", async () => {
        // CNI leftovers: real interfaces in the host's network namespace, config and state files,
        // Kubernetes/Calico iptables chains; and the user's own interface, chain and files.
        // (this kernel has no dummy driver: the CNI's own link types are used, bridge/vxlan/veth)
        c.shOk(w1, `set -e
            ip link add cni0 type bridge; ip link add flannel.1 type vxlan id 1 dstport 8472 dev eth0
            ip link add cali123 type veth peer name cali456; ip link add kube-ipvs0 type bridge
            ip link add keepme0 type bridge
            mkdir -p /etc/cni/net.d /var/lib/cni/networks/k8s-pod-network /opt/cni/bin
            echo '{}' >/etc/cni/net.d/10-calico.conflist; echo 10.244.1.5 >/var/lib/cni/networks/k8s-pod-network/last
            echo plugin >/opt/cni/bin/calico; echo mine >/etc/my-app.conf
            iptables -t nat -N KUBE-SERVICES; iptables -t nat -A PREROUTING -m comment --comment kube -j KUBE-SERVICES
            iptables -t filter -N cali-INPUT; iptables -t filter -A INPUT -j cali-INPUT
            iptables -t filter -N MY-RULES; iptables -t filter -A INPUT -j MY-RULES; iptables -t filter -A MY-RULES -j ACCEPT`);
        const keep = c.checksum(w1, ["/etc/hosts", "/etc/containerd", "/etc/sysctl.d", "/etc/yum.repos.d", "/etc/my-app.conf", "/opt/cni/bin", "/etc/fstab"]);
        c.clearJournal(w1);
        ok(await join(w1, caHash, "delete"), "worker-join delete");
        expect(changingCalls(stepCalls(c.journal(w1), "worker-join")).filter((l) => l.startsWith("kubeadm"))).toEqual([
            "kubeadm reset -f --cri-socket unix:///var/run/containerd/containerd.sock",
        ]);
        const links = c.sh(w1, "ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort").stdout.split("\n").filter((x) => x);
        expect(links).toEqual(["eth0", "keepme0", "lo"]);
        for (const gone of ["/etc/cni/net.d/10-calico.conflist", "/var/lib/cni", "/etc/kubernetes", "/var/lib/kubelet", "/etc/kubeadm-cluster"]) {
            expect(`${gone}: ${c.exists(w1, gone)}`).toBe(`${gone}: false`);
        }
        // /etc/cni/net.d is emptied, not removed: containerd 2.x stops its CRI service when it goes away.
        expect(c.sh(w1, "ls -A /etc/cni/net.d").stdout).toBe("");
        expect(c.checksum(w1, ["/etc/hosts", "/etc/containerd", "/etc/sysctl.d", "/etc/yum.repos.d", "/etc/my-app.conf", "/opt/cni/bin", "/etc/fstab"])).toEqual(keep);
        expect(c.sh(w1, "iptables -t filter -S; iptables -t nat -S").stdout).toBe(
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N MY-RULES\n-A INPUT -j MY-RULES\n-A MY-RULES -j ACCEPT\n-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n",
        );
        expect(c.sh(w1, "systemctl is-active kubelet; systemctl is-active containerd").stdout).toBe("inactive\nactive\n");
        c.clearJournal(w1);
        ok(await join(w1, caHash, "delete"), "worker-join delete again");
        expect(changingCalls(stepCalls(c.journal(w1), "worker-join"))).toEqual([]);
    });

    test("control-plane-init delete resets the control plane (etcd data, pki, kubeconfigs)", async () => {
        ok(await init("delete"), "control-plane-init delete");
        for (const gone of ["/etc/kubernetes", "/var/lib/etcd", "/root/.kube/config", "/etc/kubeadm-cluster"]) {
            expect(`${gone}: ${c.exists(cp, gone)}`).toBe(`${gone}: false`);
        }
        expect(c.readFile(cp, "/etc/containerd/config.toml")).toContain("# managed by kubeadm-cluster");
    });
});
