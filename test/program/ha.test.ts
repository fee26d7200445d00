// The prod stack (three control planes behind a keepalived + haproxy VIP) under Pulumi's mock
// engine (stood in for: the Pulumi engine and providers).
import { loadStackConfig } from "../../tools/stackConfig";
import { fakeFacts, ProgramRun, Registered, remoteSteps, runProgram, stackWithInlineKey, stepOf } from "./harness";

const prod = (overrides: Record<string, unknown> = {}) => stackWithInlineKey(loadStackConfig("prod"), overrides);
const ADDRESSES: Record<string, string> = {
    master01: "192.168.10.11", master02: "192.168.10.12", master03: "192.168.10.13",
    worker01: "192.168.10.21", worker02: "192.168.10.22", worker03: "192.168.10.23",
};
/** Facts as the facts step reports them on these hosts: eth0 carries the address in a /24. */
const factsOn = (cidrFor: (host: string) => string) => (step: string, host: string) => {
    if (step !== "facts") return undefined;
    return JSON.stringify({ ...JSON.parse(fakeFacts(host)), interface: "eth0", addressCidr: cidrFor(host), clusterVersion: "" });
};
const sameSubnet = factsOn((h) => `${ADDRESSES[h]}/24`);

function step(run: ProgramRun, host: string, name: string): Registered[] {
    return remoteSteps(run).filter((r) => {
        const s = stepOf(String(r.inputs.create));
        return s.host === host && s.step === name;
    });
}
const decode = (create: string, param: string) => Buffer.from(new RegExp(`${param}='([^']*)'`).exec(create)![1], "base64").toString();

describe("prod stack: three control planes behind keepalived + haproxy", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ ...prod(), stdout: sameSubnet });
    });

    test("every control plane gets keepalived + haproxy before init or its join", () => {
        for (const cp of ["master01", "master02", "master03"]) {
            const lb = step(run, cp, "lb-keepalived-haproxy");
            expect(lb).toHaveLength(1);
            expect(run.dependsOn(lb[0].name, step(run, cp, "kube-packages")[0].name)).toBe(true);
            const haproxy = decode(String(lb[0].inputs.create), "KC_HAPROXY_CFG_B64");
            for (const addr of ["192.168.10.11", "192.168.10.12", "192.168.10.13"]) expect(haproxy).toContain(`${addr}:6443`);
            expect(haproxy).not.toContain("192.168.10.21");
        }
        const init = step(run, "master01", "control-plane-init")[0];
        expect(run.dependsOn(init.name, step(run, "master01", "lb-keepalived-haproxy")[0].name)).toBe(true);
        expect(run.dependsOn(step(run, "master02", "control-plane-join")[0].name, step(run, "master02", "lb-keepalived-haproxy")[0].name)).toBe(true);
        expect(step(run, "worker01", "lb-keepalived-haproxy")).toEqual([]);
    });

    test("init uploads the certificates; the other control planes join one at a time, each after a fresh upload", () => {
        const init = step(run, "master01", "control-plane-init")[0];
        expect(init.secretInputs.has("create")).toBe(true);
        const uploads = step(run, "master01", "upload-certs");
        expect(uploads).toHaveLength(2);
        const j2 = step(run, "master02", "control-plane-join")[0];
        const j3 = step(run, "master03", "control-plane-join")[0];
        const up2 = uploads.find((u) => u.name.includes("master02"))!;
        const up3 = uploads.find((u) => u.name.includes("master03"))!;
        expect(run.dependsOn(j2.name, up2.name)).toBe(true);
        expect(run.dependsOn(up2.name, init.name)).toBe(true);
        // master03 waits for master02 to be registered, then gets its own upload.
        expect(run.dependsOn(up3.name, j2.name)).toBe(true);
        expect(run.dependsOn(j3.name, up3.name)).toBe(true);
        expect(run.dependsOn(j2.name, j3.name)).toBe(false);
    });

    test("the certificate key and the VRRP password are secrets everywhere they go", () => {
        for (const r of [...step(run, "master01", "control-plane-init"), ...step(run, "master01", "upload-certs"), ...step(run, "master02", "control-plane-join"), ...step(run, "master03", "control-plane-join")]) {
            expect({ name: r.name, secret: r.secretInputs.has("create"), logging: r.inputs.logging }).toEqual({ name: r.name, secret: true, logging: "stderr" });
        }
        for (const cp of ["master01", "master02", "master03"]) {
            const lb = step(run, cp, "lb-keepalived-haproxy")[0];
            expect(lb.secretInputs.has("create")).toBe(true);
        }
        const key = run.resources.find((r) => r.type === "random:index/randomId:RandomId")!;
        expect(key.inputs.byteLength).toBe(32);
        const pass = run.resources.find((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.includes("vrrp"))!;
        expect(pass.inputs.length).toBe(8);
    });

    test("workers join through the endpoint; the kubeconfig and the API endpoint output point at it", () => {
        const init = step(run, "master01", "control-plane-init")[0];
        expect(decode(String(init.inputs.create), "KC_KUBEADM_CONFIG_B64")).toContain("controlPlaneEndpoint: 192.168.10.100:8443");
        for (const w of ["worker01", "worker02", "worker03"]) {
            const join = step(run, w, "worker-join")[0];
            expect(decode(String(join.inputs.create), "KC_JOIN_CONFIG_B64")).toContain("apiServerEndpoint: 192.168.10.100:8443");
        }
        expect(run.outputs.apiServerEndpoint).toBe("https://192.168.10.100:8443");
    });

    test("keepalived.conf: the interface from the facts, the VIP, unicast peers; a higher priority on the first control plane", () => {
        const conf = (cp: string) => decode(String(step(run, cp, "lb-keepalived-haproxy")[0].inputs.create), "KC_KEEPALIVED_CONF_B64");
        expect(conf("master01")).toContain("interface eth0");
        expect(conf("master01")).toContain("192.168.10.100");
        expect(conf("master01")).toContain("virtual_router_id 51");
        const prio = (cp: string) => Number(/priority (\d+)/.exec(conf(cp))![1]);
        expect(prio("master01")).toBeGreaterThan(prio("master02"));
        expect(prio("master02")).toBeGreaterThan(prio("master03"));
    });

    test("firewalld on control planes opens the endpoint port and VRRP", () => {
        const fw = String(step(run, "master02", "prep-firewall")[0].inputs.create);
        expect(fw).toMatch(/KC_TCP_PORTS='[^']*\b8443\b/);
        expect(fw).toMatch(/KC_PROTOCOLS='[^']*\b112\b/);
    });

    test("removing a control plane later drains it and resets it (its etcd member goes with kubeadm reset)", () => {
        const reg = step(run, "master01", "node-registration").find((r) => String(r.inputs.create).includes("KC_NODE='master03'"))!;
        const join = step(run, "master03", "control-plane-join")[0];
        expect(run.dependsOn(reg.name, join.name)).toBe(true);
        expect(String(join.inputs.delete)).toMatch(/kc-control-plane-join delete <\/dev\/null$/);
    });
});

describe("prod stack: what is refused", () => {
    test("a VIP outside the control planes' subnet is refused by the fleet preflight, before any host is prepared", async () => {
        const other = factsOn((h) => (h === "master02" ? "192.168.20.12/24" : `${ADDRESSES[h]}/24`));
        await expect(runProgram({ ...prod(), stdout: other })).rejects.toThrow(
            "the virtual IP 192.168.10.100 is outside control plane master02's subnet 192.168.20.12/24 (eth0): choose a free address in the control planes' subnet.",
        );
    });

    test("an upgrade goes control plane by control plane, then worker by worker", async () => {
        const run = await runProgram({ ...prod(), stdout: sameSubnet, deployedOutputs: { kubernetesVersion: "1.34.3" } });
        const chain = ["dev-upgrade-1.35.9-control-plane"];
        for (const n of ["master02", "master03", "worker01", "worker02", "worker03"]) chain.push(`dev-upgrade-1.35.9-${n}-drain`, `dev-upgrade-1.35.9-${n}-upgrade`, `dev-upgrade-1.35.9-${n}-uncordon`);
        for (let i = 1; i < chain.length; i++) expect({ step: chain[i], ok: run.dependsOn(chain[i], chain[i - 1]) }).toEqual({ step: chain[i], ok: true });
    });
});

describe("changing the control planes of a deployed cluster", () => {
    const deployedNodes = Object.entries(ADDRESSES).map(([name, address]) => ({ name, address, role: name.startsWith("master") ? "control-plane" : "worker" }));
    const hostsWithout = (names: string[]) => JSON.parse(loadStackConfig("prod").config["kubeadm-cluster:hosts"]).filter((h: { name: string }) => !names.includes(h.name));

    test("removing two of three control planes at once is refused (below etcd's majority)", async () => {
        await expect(
            runProgram({ ...prod({ hosts: hostsWithout(["master02", "master03"]), loadBalancer: "keepalived-haproxy" }), stdout: sameSubnet, deployedOutputs: { nodes: deployedNodes, kubernetesVersion: "1.35.9" } }),
        ).rejects.toThrow("hosts removes 2 of 3 control planes at once (master02, master03): that leaves 1, below etcd's majority of 2; remove one control plane per pulumi up.");
    });

    test("replacing a control plane (master03 out, master04 in, still three) touches only those two", async () => {
        const master04 = { name: "master04", address: "192.168.10.14", role: "control-plane" };
        ADDRESSES.master04 = master04.address;
        const full = await runProgram({ ...prod(), stdout: sameSubnet, deployedOutputs: { nodes: deployedNodes, kubernetesVersion: "1.35.9" } });
        const swapped = await runProgram({ ...prod({ hosts: [...hostsWithout(["master03"]), master04] }), stdout: sameSubnet, deployedOutputs: { nodes: deployedNodes, kubernetesVersion: "1.35.9" } });
        const kept = new Set(swapped.resources.map((r) => r.name));
        for (const r of full.resources.filter((x) => !kept.has(x.name))) expect(r.name).toMatch(/^dev-master03(-|$)/);
        const before = new Set(full.resources.map((r) => r.name));
        for (const r of swapped.resources.filter((x) => !before.has(x.name))) expect(r.name).toMatch(/^dev-master04(-|$)/);
        // The other control planes' load balancers learn the new peer (haproxy backends, unicast peers).
        const lb = (run: ProgramRun) => step(run, "master01", "lb-keepalived-haproxy")[0];
        expect(decode(String(lb(swapped).inputs.create), "KC_HAPROXY_CFG_B64")).toContain("192.168.10.14:6443");
        expect(decode(String(lb(full).inputs.create), "KC_HAPROXY_CFG_B64")).not.toContain("192.168.10.14:6443");
    });

    test("going from three control planes to two is refused (an even count)", async () => {
        await expect(
            runProgram({ ...prod({ hosts: hostsWithout(["master03"]) }), stdout: sameSubnet, deployedOutputs: { nodes: deployedNodes, kubernetesVersion: "1.35.9" } }),
        ).rejects.toThrow("hosts has 2 control-plane hosts (master01, master02): etcd needs a majority of members, so 2 tolerate no more failures than 1; use an odd number (1, 3 or 5).");
    });

    test("the first control plane (it ran kubeadm init) must stay first", async () => {
        const hosts = JSON.parse(loadStackConfig("prod").config["kubeadm-cluster:hosts"]);
        const reordered = [hosts[1], hosts[0], ...hosts.slice(2)];
        await expect(
            runProgram({ ...prod({ hosts: reordered }), stdout: sameSubnet, deployedOutputs: { nodes: deployedNodes, kubernetesVersion: "1.35.9" } }),
        ).rejects.toThrow("hosts lists master02 as the first control plane, but the cluster was built from master01, which ran kubeadm init and runs the cluster-side steps: keep master01 as the first control-plane host.");
    });
});

describe("kube-vip instead of keepalived + haproxy", () => {
    test("a kube-vip static pod on every control plane, the first one's before init, port 6443", async () => {
        const run = await runProgram({ ...prod({ loadBalancer: "kube-vip", controlPlaneEndpoint: "192.168.10.100:6443" }), stdout: sameSubnet });
        for (const cp of ["master01", "master02", "master03"]) {
            const lb = step(run, cp, "lb-kube-vip");
            expect(lb).toHaveLength(1);
            expect(String(lb[0].inputs.create)).toContain(`KC_FIRST_CONTROL_PLANE='${cp === "master01"}'`);
            expect(decode(String(lb[0].inputs.create), "KC_KUBE_VIP_MANIFEST_B64")).toContain("192.168.10.100");
        }
        expect(run.dependsOn(step(run, "master01", "control-plane-init")[0].name, step(run, "master01", "lb-kube-vip")[0].name)).toBe(true);
        expect(run.resources.some((r) => r.name.includes("vrrp"))).toBe(false);
    });
});
