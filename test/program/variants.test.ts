// Config variants of the real program under Pulumi's mock engine (stood in for: the Pulumi
// engine and providers).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig } from "../../tools/stackConfig";
import { fakeFacts, FAKE_PRIVATE_KEY, remoteSteps, runProgram, stackWithInlineKey, stepOf } from "./harness";

const dev = (overrides: Record<string, unknown> = {}) => stackWithInlineKey(loadStackConfig("dev"), overrides);
const stepNames = (run: Awaited<ReturnType<typeof runProgram>>, host: string) =>
    remoteSteps(run)
        .map((r) => stepOf(String(r.inputs.create)))
        .filter((s) => s.host === host)
        .map((s) => s.step);

describe("program variants under mocks", () => {
    test("Flannel: a kube-flannel namespace allowed privileged pods and the pinned chart with Network = pod CIDR", async () => {
        const run = await runProgram(dev({ cni: "flannel", podCidr: "10.32.0.0/16" }));
        const chart = run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart")!;
        expect(chart.inputs).toMatchObject({
            chart: "flannel",
            version: "v0.28.9",
            namespace: "kube-flannel",
            repositoryOpts: { repo: "https://flannel-io.github.io/flannel/" },
        });
        expect(chart.inputs.values.podCidr).toBe("10.32.0.0/16");
        const ns = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "kube-flannel")!;
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
        expect(run.resources.some((r) => r.type.startsWith("kubernetes:operator.tigera.io"))).toBe(false);
        const prep = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "prep-firewall")!;
        expect(String(prep.inputs.create)).toContain("KC_UDP_PORTS='8472'");
    });

    test("docker runtime: runtime-docker with cri-dockerd, and kubeadm told the cri-dockerd socket", async () => {
        const run = await runProgram(dev({ containerRuntime: "docker", imageRepository: "registry.aliyuncs.com/google_containers" }));
        expect(stepNames(run, "worker01")).toContain("runtime-docker");
        expect(stepNames(run, "worker01")).not.toContain("runtime-containerd");
        const rt = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "runtime-docker")!;
        expect(String(rt.inputs.create)).toContain("KC_PAUSE_IMAGE='registry.aliyuncs.com/google_containers/pause:3.10.1'");
        const init = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "control-plane-init")!;
        const config = Buffer.from(/KC_KUBEADM_CONFIG_B64='([^']*)'/.exec(String(init.inputs.create))![1], "base64").toString();
        expect(config).toContain("criSocket: unix:///var/run/cri-dockerd.sock");
        expect(config).toContain("imageRepository: registry.aliyuncs.com/google_containers");
    });

    test("a non-root SSH user runs every step through sudo -n; a bastion becomes the connection's proxy", async () => {
        const run = await runProgram(dev({ sshUser: "ops", bastion: { address: "jump.example.com", user: "jumper" } }));
        for (const r of remoteSteps(run)) {
            expect(String(r.inputs.create).startsWith("sudo -n env ")).toBe(true);
            expect(r.inputs.connection.user).toBe("ops");
            expect(r.inputs.connection.proxy).toMatchObject({ host: "jump.example.com", port: 22, user: "jumper", privateKey: FAKE_PRIVATE_KEY });
        }
    });

    test("host keys from the config are passed on, so the provider checks them", async () => {
        const hosts = JSON.parse(loadStackConfig("dev").config["kubeadm-cluster:hosts"]);
        hosts[1].hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0ZmFrZWtleQ";
        const run = await runProgram(dev({ hosts }));
        const facts = remoteSteps(run).find((r) => stepOf(String(r.inputs.create)).step === "facts" && stepOf(String(r.inputs.create)).host === "worker01")!;
        expect(facts.inputs.connection.hostKey).toBe(hosts[1].hostKey);
    });

    test("cloned VMs (same product_uuid) stop the run before any host is prepared, naming the hosts", async () => {
        const stdout = (step: string, host: string) =>
            step === "facts" ? fakeFacts(host, host === "master01" ? undefined : "0123456789abcdef0123456789abcdef") : undefined;
        await expect(runProgram({ ...dev(), stdout })).rejects.toThrow(
            "hosts worker01, worker02 share product_uuid 01234567-89ab-cdef-0123-456789abcdef: they are clones; give each VM a new UUID (e.g. a new SMBIOS UUID in the hypervisor) before joining them.",
        );
    });

    test("a single-node cluster: no join steps, the demo URL points at the control plane", async () => {
        const hosts = JSON.parse(loadStackConfig("dev").config["kubeadm-cluster:hosts"]).slice(0, 1);
        const run = await runProgram(dev({ hosts }));
        expect(remoteSteps(run).some((r) => ["join-token", "worker-join", "node-registration"].includes(stepOf(String(r.inputs.create)).step))).toBe(false);
        expect(run.outputs.demoUrl).toBe("http://192.168.10.11:30080/");
    });

    test("manifestsDir: the user's YAML files, sorted, go on after every node is Ready", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-manifests-"));
        try {
            fs.writeFileSync(path.join(dir, "b.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
            fs.writeFileSync(path.join(dir, "a.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
            fs.writeFileSync(path.join(dir, "notes.txt"), "not a manifest");
            const run = await runProgram(dev({ manifestsDir: dir }));
            const group = run.resources.find((r) => r.type === "kubernetes:yaml/v2:ConfigGroup")!;
            expect(group.inputs.yaml).toBe("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b");
            expect(run.dependsOn(group.name, "dev-nodes-ready")).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("a manifestsDir that does not exist is a config error before anything is registered", async () => {
        await expect(runProgram(dev({ manifestsDir: "/nonexistent/manifests" }))).rejects.toThrow(
            "manifestsDir /nonexistent/manifests is not a directory: create it with your *.yaml files, or remove manifestsDir.",
        );
    });

    test("the demo can be turned off", async () => {
        const run = await runProgram(dev({ demo: { enabled: false } }));
        expect(run.resources.some((r) => r.type === "kubernetes:apps/v1:Deployment")).toBe(false);
        expect(run.outputs.demoUrl).toBeUndefined();
    });

    test("a missing key file stops `pulumi up` before any resource is registered, but only warns in a preview", async () => {
        const base = loadStackConfig("dev");
        const config = { ...base.config, "kubeadm-cluster:sshPrivateKeyPath": "/nonexistent/id_ed25519" };
        await expect(runProgram({ config, preview: false })).rejects.toThrow("sshPrivateKeyPath /nonexistent/id_ed25519 does not exist");
        const preview = await runProgram({ config, preview: true });
        expect(remoteSteps(preview).length).toBeGreaterThan(0);
    });

    test("a key file is read at deploy time and is secret in every connection", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-key-"));
        try {
            const keyFile = path.join(dir, "id");
            fs.writeFileSync(keyFile, FAKE_PRIVATE_KEY, { mode: 0o600 });
            const base = loadStackConfig("dev");
            const run = await runProgram({ config: { ...base.config, "kubeadm-cluster:sshPrivateKeyPath": keyFile }, preview: false });
            for (const r of remoteSteps(run)) {
                expect(r.inputs.connection.privateKey).toBe(FAKE_PRIVATE_KEY);
                expect(r.secretInputs.has("connection")).toBe(true);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
