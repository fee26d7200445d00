import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    ADMIN_KUBECONFIG_PATH,
    DEFAULT_KUBE_VIP_VERSION,
    HAPROXY_CHECK_SCRIPT_PATH,
    kubeVipImage,
    kubeVipKubeconfigPath,
    renderHaproxyCfg,
    renderHaproxyCheckScript,
    renderKeepalivedConf,
    renderKubeVipManifest,
    SUPER_ADMIN_KUBECONFIG_PATH,
} from "../../components/render";
import { ClusterSpec, HostSpec } from "../../components/config/spec";
import { makeHaSpec } from "../fixtures/spec";
import { docOfKind } from "./helpers";

const spec = makeHaSpec();
const [master01, master02, master03, worker01] = spec.hosts;
const opts = { authPass: "s3cr3tpw", interface: "eth0" };

/** The fixture's topology with kube-vip holding 192.168.10.100 in front of port 6443. */
const kubeVipSpec = (overrides: Partial<ClusterSpec> = {}) =>
    makeHaSpec({
        controlPlaneEndpoint: "192.168.10.100:6443",
        ha: { loadBalancer: "kube-vip", vip: "192.168.10.100", endpointPort: 6443, virtualRouterId: 51 },
        ...overrides,
    });

/** Five control planes 192.168.10.11-15, for the priority arithmetic. */
const fiveCps = (): ClusterSpec => {
    const cps: HostSpec[] = [1, 2, 3, 4, 5].map((i) => ({ name: `master0${i}`, address: `192.168.10.1${i}`, role: "control-plane", user: "root", port: 22 }));
    return makeHaSpec({ hosts: [...cps, worker01] });
};

const hasTool = (tool: string) => spawnSync("bash", ["-c", `command -v ${tool}`]).status === 0;

describe("renderHaproxyCfg", () => {
    test("snapshot", () => {
        expect(renderHaproxyCfg(spec)).toMatchSnapshot();
    });

    test("every control plane once as a server on 6443, in spec order; no worker", () => {
        const servers = renderHaproxyCfg(spec)
            .split("\n")
            .filter((l) => /^\s*server /.test(l))
            .map((l) => l.trim());
        expect(servers).toEqual([
            "server master01 192.168.10.11:6443 check check-ssl verify none",
            "server master02 192.168.10.12:6443 check check-ssl verify none",
            "server master03 192.168.10.13:6443 check check-ssl verify none",
        ]);
        const text = renderHaproxyCfg(spec);
        for (const w of spec.hosts.filter((h) => h.role === "worker")) {
            expect(text).not.toContain(w.name);
            expect(text).not.toContain(w.address);
        }
    });

    test("listens on the endpoint port, TCP, /readyz health checks, long timeouts for watches", () => {
        const text = renderHaproxyCfg(makeHaSpec({ ha: { ...spec.ha, endpointPort: 9443 } }));
        expect(text.startsWith("# managed by kubeadm-cluster\n")).toBe(true);
        expect(text).toContain("    bind *:9443\n");
        expect(text).toContain("    mode tcp\n");
        expect(text).toContain("    option httpchk GET /readyz\n");
        expect(text).toContain("    http-check expect status 200\n");
        expect(text).toContain("    default-server inter 3s fall 3 rise 2\n");
        expect(text).toMatch(/timeout connect 5s\n[\s\S]*timeout client 1h\n[\s\S]*timeout server 1h\n/);
    });

    test("refuses to listen on 6443, which the API server holds", () => {
        expect(() => renderHaproxyCfg(makeHaSpec({ ha: { ...spec.ha, endpointPort: 6443 } }))).toThrow(
            "renderHaproxyCfg: haproxy cannot listen on 6443, which the API server holds on every control plane; use another endpoint port, e.g. 8443",
        );
    });

    test("haproxy -c accepts it (when haproxy is installed)", () => {
        if (!hasTool("haproxy")) {
            console.warn("haproxy is not installed: skipping the haproxy -c check");
            return;
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-haproxy-"));
        const file = path.join(dir, "haproxy.cfg");
        fs.writeFileSync(file, renderHaproxyCfg(spec));
        const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining("valid") });
    });
});

describe("renderKeepalivedConf", () => {
    test("snapshots", () => {
        expect(renderKeepalivedConf(spec, master01, opts)).toMatchSnapshot("master01");
        expect(renderKeepalivedConf(spec, master02, opts)).toMatchSnapshot("master02");
    });

    const priority = (s: ClusterSpec, h: HostSpec) => Number(/^\s*priority (\d+)$/m.exec(renderKeepalivedConf(s, h, opts))![1]);
    const weight = (s: ClusterSpec, h: HostSpec) => Number(/^\s*weight (-?\d+)$/m.exec(renderKeepalivedConf(s, h, opts))![1]);

    test("priorities differ, the first control plane has the highest; every node starts as BACKUP, no nopreempt", () => {
        const cps = [master01, master02, master03];
        expect(cps.map((h) => priority(spec, h))).toEqual([150, 140, 130]);
        for (const h of cps) {
            const text = renderKeepalivedConf(spec, h, opts);
            expect(text).toContain("    state BACKUP\n");
            expect(text).not.toContain("nopreempt");
            expect(text).toContain(`    router_id ${h.name}\n`);
        }
    });

    test("a node whose haproxy is down ranks below every healthy one, whatever the number of control planes", () => {
        expect(weight(spec, master01)).toBe(-30);
        for (const s of [spec, fiveCps(), makeHaSpec({ hosts: [master01, master02, worker01] })]) {
            const cps = s.hosts.filter((h) => h.role === "control-plane");
            const lowestHealthy = Math.min(...cps.map((h) => priority(s, h)));
            for (const h of cps) expect(priority(s, h) + weight(s, h)).toBeLessThan(lowestHealthy);
        }
    });

    test("unicast from the host's address to exactly the other control planes", () => {
        for (const h of [master01, master02, master03]) {
            const text = renderKeepalivedConf(spec, h, opts);
            expect(text).toContain(`    unicast_src_ip ${h.address}\n`);
            const block = /unicast_peer \{\n([\s\S]*?)\n\s*\}/.exec(text)![1];
            const peers = block.split("\n").map((l) => l.trim());
            expect(peers).toEqual([master01, master02, master03].filter((o) => o !== h).map((o) => o.address));
            expect(text).not.toContain(worker01.address);
        }
    });

    test("a lone control plane gets no unicast block", () => {
        const lone = makeHaSpec({ hosts: [master01, worker01] });
        const text = renderKeepalivedConf(lone, master01, opts);
        expect(text).not.toContain("unicast");
        expect(text).toContain("    priority 150\n");
    });

    test("the VIP (as a /32 on the given interface) and the router id come from the spec", () => {
        const other = makeHaSpec({ controlPlaneEndpoint: "10.0.0.50:8443", ha: { ...spec.ha, vip: "10.0.0.50", virtualRouterId: 77 } });
        const text = renderKeepalivedConf(other, master02, { ...opts, interface: "ens192" });
        expect(text).toContain("    virtual_router_id 77\n");
        expect(text).toContain("        10.0.0.50/32 dev ens192\n");
        expect(text).toContain("    interface ens192\n");
        expect(text).not.toContain("192.168.10.100");
    });

    test("tracks the haproxy check script, PASS authentication with the given password", () => {
        const text = renderKeepalivedConf(spec, master01, opts);
        expect(text).toContain(`    script "${HAPROXY_CHECK_SCRIPT_PATH}"\n`);
        expect(text).toMatch(/track_script \{\n\s+chk_haproxy\n/);
        expect(text).toMatch(/auth_type PASS\n\s+auth_pass s3cr3tpw\n/);
        expect(text).toContain("    enable_script_security\n    script_user root\n");
    });

    test("a password longer than 8 characters (or empty, or that keepalived would split) is refused, without echoing it", () => {
        const tooLong = () => renderKeepalivedConf(spec, master01, { ...opts, authPass: "s3cr3tpw9" });
        expect(tooLong).toThrow("renderKeepalivedConf: the VRRP password for master01 has 9 characters; keepalived uses 1 to 8");
        expect(tooLong).not.toThrow("s3cr3tpw9");
        expect(() => renderKeepalivedConf(spec, master01, { ...opts, authPass: "" })).toThrow("has 0 characters");
        for (const bad of ["pa ss", "pa#ss", "pa!ss", 'pa"ss']) {
            expect(() => renderKeepalivedConf(spec, master01, { ...opts, authPass: bad })).toThrow("which keepalived's parser splits or reads as a comment");
        }
        expect(renderKeepalivedConf(spec, master01, { ...opts, authPass: "Ab3-_x.Z" })).toContain("auth_pass Ab3-_x.Z\n");
    });

    test("refuses a worker, a spec without a VIP and an implausible interface", () => {
        expect(() => renderKeepalivedConf(spec, worker01, opts)).toThrow("renderKeepalivedConf: host worker01 has role worker; only control planes hold the virtual IP");
        const noVip = makeHaSpec({ ha: { ...spec.ha, vip: undefined } });
        expect(() => renderKeepalivedConf(noVip, master01, opts)).toThrow("renderKeepalivedConf: ha.vip is not set");
        expect(() => renderKeepalivedConf(spec, master01, { ...opts, interface: "eth0 dev lo" })).toThrow('interface "eth0 dev lo" of master01 is not a Linux interface name');
    });
});

describe("renderHaproxyCheckScript", () => {
    const script = renderHaproxyCheckScript(spec);

    test("snapshot", () => {
        expect(script).toMatchSnapshot();
    });

    test("bash with the managed header; checks haproxy's unit and a listener on the endpoint port", () => {
        const lines = script.split("\n");
        expect(lines.slice(0, 2)).toEqual(["#!/bin/bash", "# managed by kubeadm-cluster"]);
        expect(script).toContain("systemctl is-active --quiet haproxy");
        expect(script).toContain('ss -ltn "sport = :8443"');
        expect(renderHaproxyCheckScript(makeHaSpec({ ha: { ...spec.ha, endpointPort: 9443 } }))).toContain('ss -ltn "sport = :9443"');
    });

    test("bash -n accepts it", () => {
        const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    });

    test("shellcheck finds nothing (when shellcheck is installed)", () => {
        if (!hasTool("shellcheck")) {
            console.warn("shellcheck is not installed: skipping the shellcheck check of check_haproxy.sh");
            return;
        }
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
        expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: "" });
    });
});

describe("kube-vip", () => {
    const kv = kubeVipSpec();
    const first = renderKubeVipManifest(kv, master01, { interface: "eth0", kubeconfigPath: SUPER_ADMIN_KUBECONFIG_PATH });
    const other = renderKubeVipManifest(kv, master02, { interface: "ens192", kubeconfigPath: ADMIN_KUBECONFIG_PATH });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const envOf = (pod: Record<string, any>): Record<string, string> =>
        Object.fromEntries((pod.spec.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));

    test("snapshots: the first control plane with super-admin.conf, another with admin.conf", () => {
        expect(first).toMatchSnapshot("master01 super-admin.conf");
        expect(other).toMatchSnapshot("master02 admin.conf");
    });

    test("the YAML parses and names the VIP, the port and the interface", () => {
        expect(first.startsWith("# managed by kubeadm-cluster\n")).toBe(true);
        const pod = docOfKind(first, "Pod");
        expect(pod.metadata).toEqual({ name: "kube-vip", namespace: "kube-system" });
        expect(pod.spec.hostNetwork).toBe(true);
        const c = pod.spec.containers[0];
        expect(c.args).toEqual(["manager"]);
        expect(c.securityContext.capabilities.add).toEqual(["NET_ADMIN", "NET_RAW"]);
        const env = envOf(pod);
        expect(env).toMatchObject({
            address: "192.168.10.100",
            port: "6443",
            vip_interface: "eth0",
            vip_arp: "true",
            vip_subnet: "32",
            cp_enable: "true",
            cp_namespace: "kube-system",
            vip_leaderelection: "true",
            vip_leasename: "plndr-cp-lock",
            vip_nodename: "master01",
        });
        for (const k of ["vip_leaseduration", "vip_renewdeadline", "vip_retryperiod"]) expect(env[k]).toMatch(/^\d+$/);
        expect(envOf(docOfKind(other, "Pod")).vip_interface).toBe("ens192");
    });

    test("the chosen kubeconfig is mounted where kube-vip reads it; the pod reaches its own API server as kubernetes", () => {
        for (const [text, hostPath] of [[first, SUPER_ADMIN_KUBECONFIG_PATH], [other, ADMIN_KUBECONFIG_PATH]]) {
            const pod = docOfKind(text, "Pod");
            expect(pod.spec.volumes).toEqual([{ name: "kubeconfig", hostPath: { path: hostPath, type: "File" } }]);
            expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf", readOnly: true }]);
            expect(pod.spec.hostAliases).toEqual([{ ip: "127.0.0.1", hostnames: ["kubernetes"] }]);
        }
    });

    test("kubeVipKubeconfigPath: super-admin.conf only on the first control plane", () => {
        expect(kubeVipKubeconfigPath(kv, true)).toBe("/etc/kubernetes/super-admin.conf");
        expect(kubeVipKubeconfigPath(kv, false)).toBe("/etc/kubernetes/admin.conf");
    });

    test("the image follows imageRepository", () => {
        expect(DEFAULT_KUBE_VIP_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
        expect(kubeVipImage(kv)).toBe(`ghcr.io/kube-vip/kube-vip:${DEFAULT_KUBE_VIP_VERSION}`);
        const mirror = kubeVipSpec({ imageRepository: "registry.aliyuncs.com/google_containers" });
        expect(kubeVipImage(mirror)).toBe(`registry.aliyuncs.com/google_containers/kube-vip:${DEFAULT_KUBE_VIP_VERSION}`);
        const pod = docOfKind(renderKubeVipManifest(mirror, master03, { interface: "eth0", kubeconfigPath: ADMIN_KUBECONFIG_PATH }), "Pod");
        expect(pod.spec.containers[0].image).toBe(`registry.aliyuncs.com/google_containers/kube-vip:${DEFAULT_KUBE_VIP_VERSION}`);
    });

    test("refuses an endpoint port other than 6443, a worker, and a relative kubeconfig path", () => {
        expect(() => renderKubeVipManifest(spec, master01, { interface: "eth0", kubeconfigPath: ADMIN_KUBECONFIG_PATH })).toThrow(
            "renderKubeVipManifest: kube-vip moves only the address, so clients reach the API server itself on 6443; controlPlaneEndpoint must use port 6443 (it uses 8443)",
        );
        expect(() => renderKubeVipManifest(kv, worker01, { interface: "eth0", kubeconfigPath: ADMIN_KUBECONFIG_PATH })).toThrow("host worker01 has role worker");
        expect(() => renderKubeVipManifest(kv, master01, { interface: "eth0", kubeconfigPath: "admin.conf" })).toThrow('kubeconfigPath "admin.conf" for master01 must be an absolute path');
    });
});
