// The real program on the dev stack under Pulumi's mock engine (stood in for: the Pulumi
// engine and every provider; real: index.ts, the components, the rendered commands).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig } from "../../tools/stackConfig";
import {
    FAKE_KUBECONFIG,
    FAKE_PRIVATE_KEY,
    ProgramRun,
    Registered,
    remoteSteps,
    runProgram,
    stackWithInlineKey,
    stepOf,
} from "./harness";

const dev = () => stackWithInlineKey(loadStackConfig("dev"));
let run: ProgramRun;

beforeAll(async () => {
    run = await runProgram(dev());
});

const HOSTS = ["master01", "worker01", "worker02"];
const PREP_CHAIN = ["facts", "prep-system", "prep-firewall", "prep-timesync", "runtime-containerd", "kube-packages"];

function step(host: string, name: string): Registered {
    const found = remoteSteps(run).filter((r) => {
        const s = stepOf(String(r.inputs.create));
        return s.host === host && s.step === name;
    });
    if (found.length !== 1) throw new Error(`expected one ${name} step on ${host}, found ${found.length}`);
    return found[0];
}
const dependsOn = (a: Registered, b: Registered) => run.dependsOn(a.name, b.name);

describe("dev stack under mocks: what runs where, in which order", () => {
    test.each(HOSTS)("%s gets facts -> prep -> runtime -> packages, each step after the one before", (host) => {
        for (let i = 1; i < PREP_CHAIN.length; i++) {
            const later = step(host, PREP_CHAIN[i]);
            const earlier = step(host, PREP_CHAIN[i - 1]);
            expect({ step: PREP_CHAIN[i], after: PREP_CHAIN[i - 1], ok: dependsOn(later, earlier) }).toEqual({
                step: PREP_CHAIN[i], after: PREP_CHAIN[i - 1], ok: true,
            });
        }
    });

    test("each step runs on its own host over SSH as the configured user", () => {
        const address: Record<string, string> = { master01: "192.168.10.11", worker01: "192.168.10.12", worker02: "192.168.10.13" };
        for (const r of remoteSteps(run)) {
            const s = stepOf(String(r.inputs.create));
            const runsOnControlPlane = ["control-plane-init", "read-kubeconfig", "ca-hash", "join-token", "node-registration", "wait-nodes-ready", "certs"].includes(s.step);
            expect({ name: r.name, host: r.inputs.connection.host }).toEqual({ name: r.name, host: address[s.host] });
            if (runsOnControlPlane) expect({ name: r.name, host: s.host }).toEqual({ name: r.name, host: "master01" });
            expect(r.inputs.connection.user).toBe("root");
            expect(String(r.inputs.create).startsWith("env ")).toBe(true);
        }
    });

    test("hosts are prepared in parallel: no host's preparation waits for another host's", () => {
        for (const a of HOSTS) {
            for (const b of HOSTS) {
                if (a === b) continue;
                for (const later of PREP_CHAIN.slice(1)) {
                    for (const earlier of PREP_CHAIN.slice(1)) {
                        expect({ a, later, b, earlier, waits: dependsOn(step(a, later), step(b, earlier)) }).toEqual({ a, later, b, earlier, waits: false });
                    }
                }
            }
        }
    });

    test("kubeadm init runs on the control plane after its own preparation", () => {
        const init = step("master01", "control-plane-init");
        expect(dependsOn(init, step("master01", "kube-packages"))).toBe(true);
        expect(dependsOn(init, step("master01", "prep-system"))).toBe(true);
        expect(dependsOn(init, step("worker01", "kube-packages"))).toBe(false);
    });

    test.each(["worker01", "worker02"])("%s joins after its own preparation and its own token, which comes after init", (w) => {
        const join = step(w, "worker-join");
        const tokens = remoteSteps(run).filter((r) => stepOf(String(r.inputs.create)).step === "join-token");
        const own = tokens.filter((t) => t.name.includes(w));
        expect(own).toHaveLength(1);
        const token = own[0];
        expect(dependsOn(join, token)).toBe(true);
        expect(dependsOn(join, step(w, "kube-packages"))).toBe(true);
        expect(dependsOn(token, step("master01", "control-plane-init"))).toBe(true);
        // The token is made just before its join, once the worker is ready for it.
        expect(dependsOn(token, step(w, "kube-packages"))).toBe(true);
        // Workers join in parallel: no join waits for another worker's join or token.
        for (const other of ["worker01", "worker02"].filter((x) => x !== w)) {
            expect(dependsOn(join, step(other, "worker-join"))).toBe(false);
            for (const t of tokens.filter((x) => x.name.includes(other))) expect(dependsOn(join, t)).toBe(false);
        }
        // The join pins the CA hash read from the control plane.
        expect(dependsOn(join, step("master01", "ca-hash"))).toBe(true);
    });

    test("each worker's Node registration is checked on the control plane after its join (and drained from there on delete)", () => {
        for (const w of ["worker01", "worker02"]) {
            const reg = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "node-registration" && String(r.inputs.create).includes(`KC_NODE='${w}'`));
            expect(reg).toBeDefined();
            expect(dependsOn(reg!, step(w, "worker-join"))).toBe(true);
            expect(String(reg!.inputs.delete)).toContain(" delete </dev/null");
        }
    });

    test("the CNI and workloads go through the provider built from the cluster's kubeconfig", () => {
        const provider = run.resources.find((r) => r.type === "pulumi:providers:kubernetes");
        expect(provider).toBeDefined();
        expect(provider!.inputs.kubeconfig).toBe(FAKE_KUBECONFIG);
        expect(provider!.secretInputs.has("kubeconfig")).toBe(true);
        const k8s = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
        expect(k8s.map((r) => r.type).sort()).toEqual([
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Service",
            "kubernetes:operator.tigera.io/v1:Installation",
            "kubernetes:yaml/v2:ConfigFile",
            "kubernetes:yaml/v2:ConfigFile",
        ]);
        // A provider reference is "<provider URN>::<provider id>".
        for (const r of k8s) expect({ name: r.name, provider: r.provider.startsWith(`${provider!.urn}::`) }).toEqual({ name: r.name, provider: true });
    });

    test("Calico: CRDs, then the tigera operator, then an Installation whose pool is the pod CIDR", () => {
        const files = run.resources.filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile");
        expect(files.map((f) => f.inputs.file)).toEqual([
            "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml",
            "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml",
        ]);
        const inst = run.resources.find((r) => r.type === "kubernetes:operator.tigera.io/v1:Installation")!;
        expect(inst.inputs.spec.calicoNetwork.ipPools[0].cidr).toBe("10.244.0.0/16");
        expect(run.dependsOn(files[1].name, files[0].name)).toBe(true);
        expect(run.dependsOn(inst.name, files[1].name)).toBe(true);
    });

    test("workloads come after the CNI and after every node is Ready", () => {
        const ready = step("master01", "wait-nodes-ready");
        const inst = run.resources.find((r) => r.type === "kubernetes:operator.tigera.io/v1:Installation")!;
        expect(dependsOn(ready, inst)).toBe(true);
        expect(String(ready.inputs.create)).toContain("KC_NODES='master01'");
        // Each worker's registration waits until its Node is Ready; the gate waits for all of them.
        for (const w of ["worker01", "worker02"]) {
            const reg = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "node-registration" && String(r.inputs.create).includes(`KC_NODE='${w}'`))!;
            expect(String(reg.inputs.create)).toContain("KC_READY_TIMEOUT='10m'");
            expect(dependsOn(ready, reg)).toBe(true);
        }
        for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"]) {
            const r = run.resources.find((x) => x.type === type)!;
            expect(dependsOn(r, ready)).toBe(true);
            expect(dependsOn(r, inst)).toBe(true);
        }
        const deploy = run.resources.find((x) => x.type === "kubernetes:apps/v1:Deployment")!;
        const c = deploy.inputs.spec.template.spec.containers[0];
        expect(deploy.inputs.spec.replicas).toBe(2);
        expect(c.resources.limits).toBeDefined();
        expect(c.readinessProbe.httpGet.port).toBe(80);
        expect(c.livenessProbe.httpGet.port).toBe(80);
        const svc = run.resources.find((x) => x.type === "kubernetes:core/v1:Service")!;
        expect(svc.inputs.spec.type).toBe("NodePort");
        expect(svc.inputs.spec.ports[0].nodePort).toBe(30080);
    });

    test("outputs: kubeconfig (secret), API endpoint, nodes, demo URL", () => {
        expect(run.outputs.kubeconfig).toBe(FAKE_KUBECONFIG);
        expect(run.secretOutputs.has("kubeconfig")).toBe(true);
        expect(run.outputs.apiServerEndpoint).toBe("https://192.168.10.11:6443");
        expect(run.outputs.nodes).toEqual([
            { name: "master01", address: "192.168.10.11", role: "control-plane" },
            { name: "worker01", address: "192.168.10.12", role: "worker" },
            { name: "worker02", address: "192.168.10.13", role: "worker" },
        ]);
        expect(run.outputs.demoUrl).toBe("http://192.168.10.12:30080/");
    });
});

describe("dev stack under mocks: secrets", () => {
    test("the SSH key is secret in every remote step's connection", () => {
        for (const r of remoteSteps(run)) {
            expect({ name: r.name, secret: r.secretInputs.has("connection") }).toEqual({ name: r.name, secret: true });
            expect(r.inputs.connection.privateKey).toBe(FAKE_PRIVATE_KEY);
        }
    });

    test("token and join commands are secret in create and delete; the kubeconfig step's stdout is a secret output and not logged", () => {
        for (const r of remoteSteps(run)) {
            const s = stepOf(String(r.inputs.create)).step;
            if (s === "join-token" || s === "worker-join") {
                expect({ name: r.name, create: r.secretInputs.has("create"), del: r.secretInputs.has("delete"), logging: r.inputs.logging }).toEqual({
                    name: r.name, create: true, del: true, logging: "stderr",
                });
            }
            if (s === "read-kubeconfig") {
                expect(r.additionalSecretOutputs).toContain("stdout");
                expect(r.inputs.logging).toBe("stderr");
            }
        }
    });

    test("the random parts of each token are secret", () => {
        const secrets = run.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
        expect(secrets).toHaveLength(2);
        for (const r of secrets) expect(r.inputs).toMatchObject({ length: 16, upper: false, special: false });
    });

    test("no command that is not itself secret contains a secret in the clear (also inside base64 parameters)", () => {
        const tokenLike = /[a-z0-9]{6}\.[a-z0-9]{16}/;
        let checked = 0;
        for (const r of remoteSteps(run)) {
            for (const field of ["create", "delete"]) {
                const text = r.inputs[field];
                if (text === undefined || r.secretInputs.has(field)) continue;
                checked++;
                const decoded = [...String(text).matchAll(/_B64='([A-Za-z0-9+/=]*)'/g)].map((m) => Buffer.from(m[1], "base64").toString("utf8"));
                for (const t of [String(text), ...decoded]) {
                    expect({ name: r.name, field, key: t.includes("PRIVATE KEY") }).toEqual({ name: r.name, field, key: false });
                    expect({ name: r.name, field, token: tokenLike.test(t) }).toEqual({ name: r.name, field, token: false });
                    expect({ name: r.name, field, kubeconfig: t.includes("client-key-data") }).toEqual({ name: r.name, field, kubeconfig: false });
                }
            }
        }
        expect(checked).toBeGreaterThan(15);
    });

    test("the secret-scan above can fail: a token in a non-secret command is caught", () => {
        expect(/[a-z0-9]{6}\.[a-z0-9]{16}/.test("kubeadm join --token abcdef.0123456789abcdef")).toBe(true);
    });
});

describe("dev stack under mocks: triggers", () => {
    test("a step without an undo is re-run (triggers change) when its script changes; others keep their triggers", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kc-scripts-"));
        try {
            fs.cpSync(path.join(__dirname, "..", "..", "scripts"), tmp, { recursive: true });
            fs.appendFileSync(path.join(tmp, "prep-firewall.sh"), "\n: changed\n");
            const changed = await runProgram({ ...dev(), scriptsDir: tmp });
            const triggers = (r: ProgramRun, host: string, s: string) =>
                remoteSteps(r).find((x) => {
                    const y = stepOf(String(x.inputs.create));
                    return y.host === host && y.step === s;
                })!.inputs.triggers;
            for (const host of HOSTS) {
                expect(triggers(changed, host, "prep-firewall")).not.toEqual(triggers(run, host, "prep-firewall"));
                expect(triggers(changed, host, "prep-system")).toEqual(triggers(run, host, "prep-system"));
                expect(triggers(changed, host, "kube-packages")).toEqual(triggers(run, host, "kube-packages"));
            }
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    test("a comment changed in a step or in the library's core re-runs nothing: every command and trigger stays", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kc-scripts-"));
        try {
            fs.cpSync(path.join(__dirname, "..", "..", "scripts"), tmp, { recursive: true });
            fs.appendFileSync(path.join(tmp, "prep-firewall.sh"), "\n# a new comment\n");
            const core = path.join(tmp, "lib", "core.sh");
            fs.writeFileSync(core, `${fs.readFileSync(core, "utf8")}\n# another comment\n`);
            const changed = await runProgram({ ...dev(), scriptsDir: tmp });
            const commands = (r: ProgramRun) => remoteSteps(r).map((x) => ({ name: x.name, create: x.inputs.create, delete: x.inputs.delete, triggers: x.inputs.triggers }));
            expect(commands(changed)).toEqual(commands(run));
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    test("a step's triggers change when its parameters change (firewall policy)", async () => {
        const changed = await runProgram(stackWithInlineKey(loadStackConfig("dev"), { firewall: "disable" }));
        const pick = (r: ProgramRun, s: string) => remoteSteps(r).find((x) => stepOf(String(x.inputs.create)).step === s && stepOf(String(x.inputs.create)).host === "worker01")!;
        expect(pick(changed, "prep-firewall").inputs.triggers).not.toEqual(pick(run, "prep-firewall").inputs.triggers);
        expect(pick(changed, "prep-system").inputs.triggers).toEqual(pick(run, "prep-system").inputs.triggers);
    });

    test("steps with an undo (init, join, token, registration) have no triggers: a change updates them in place instead of resetting a node", () => {
        for (const r of remoteSteps(run)) {
            if (r.inputs.delete !== undefined) expect({ name: r.name, triggers: r.inputs.triggers }).toEqual({ name: r.name, triggers: undefined });
            else expect({ name: r.name, hash: /^[0-9a-f]{16}$/.test(String((r.inputs.triggers ?? [])[0])) }).toEqual({ name: r.name, hash: true });
        }
    });
});
