// The real validators on what the program renders, for every supported minor (versions.env
// KC_LAB_VALIDATE): the real `kubeadm config validate` of that minor on the init, join and
// control-plane join configurations; the kubelet's own loader and validation of that minor
// (kubelet-config-check, built from k8s.io/kubernetes: the narrowest real check for the minors whose
// kubelet the lab does not run; the dev cluster runs the real kubelet of two of them); and the real
// containerd 1.6 (Debian's) and 2.x (the module proxy's) on the config.toml rendered for each
// layout, parsed (`containerd config dump`) and running (its CRI plugin, as crictl sees it).
// Nothing here changes this machine: kubeadm config validate, kubelet-config-check and
// `containerd config dump` only read; the daemons run inside lab hosts.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ClusterSpec, HostSpec, pauseImage } from "../../components/config/spec";
import { renderContainerdConfig, renderInitConfig, renderJoinConfig } from "../../components/render";
import { Cluster, createCluster, q } from "../hosts/harness";
import { CACHE, CONTAINERD2, VALIDATE, kubeBin, rawStack, requireLab } from "./lab";
import { parseClusterConfig } from "../../components/config/validate";

jest.setTimeout(300_000);

const TOKEN = "abcdef.0123456789abcdef";
const CA_HASH = `sha256:${"0123456789abcdef".repeat(4)}`;
const CERT_KEY = "0123456789abcdef".repeat(4);

let dir: string;

beforeAll(() => {
    requireLab("validators");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-lab-validate-"));
});

afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A stack config as the CLI passes it (Pulumi.yaml defaults + the stack file), at VERSION, with more raw keys. */
function stackSpec(stack: "dev" | "prod", v: string, more: Record<string, string> = {}): ClusterSpec {
    return parseClusterConfig({ ...rawStack(stack), kubernetesVersion: v, ...more });
}

function host(spec: ClusterSpec, name: string): HostSpec {
    const h = spec.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
}

function write(name: string, text: string): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
}

/** The real kubeadm of VERSION on FILE: its exit status and what it printed. */
function kubeadmValidate(v: string, file: string): { code: number; out: string } {
    const r = spawnSync(path.join(kubeBin(v), "kubeadm"), ["config", "validate", "--config", file], { encoding: "utf8" });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function kubeletCheck(v: string, file: string): { code: number; out: string } {
    const r = spawnSync(path.join(kubeBin(v), "kubelet-config-check"), [file], { encoding: "utf8" });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Every configuration the program renders for kubeadm at one version, by a readable name. */
function configsAt(v: string): [string, string][] {
    const dev = stackSpec("dev", v);
    const prod = stackSpec("prod", v);
    const single = parseClusterConfig({ ...rawStack("dev"), kubernetesVersion: v, hosts: JSON.stringify([{ name: "master01", address: "192.168.10.11", role: "control-plane" }]) });
    const docker = stackSpec("dev", v, { containerRuntime: "docker", kubeProxyMode: "iptables" });
    return [
        ["init (dev stack)", renderInitConfig(dev, host(dev, "master01"))],
        ["init (one node: no taint)", renderInitConfig(single, host(single, "master01"))],
        ["init (docker + cri-dockerd, iptables)", renderInitConfig(docker, host(docker, "master01"))],
        ["init (prod stack: HA endpoint)", renderInitConfig(prod, host(prod, "master01"))],
        ["join (worker)", renderJoinConfig(dev, host(dev, "worker01"), { apiServerEndpoint: dev.controlPlaneEndpoint, token: TOKEN, caCertHash: CA_HASH })],
        [
            "join (control plane, with the certificate key)",
            renderJoinConfig(prod, host(prod, "master02"), { apiServerEndpoint: prod.controlPlaneEndpoint, token: TOKEN, caCertHash: CA_HASH, certificateKey: CERT_KEY }),
        ],
    ];
}

describe.each(VALIDATE)("Kubernetes %s", (v) => {
    test.each(configsAt(v))("the real kubeadm config validate accepts the %s configuration", (name, text) => {
        const r = kubeadmValidate(v, write(`${v}-${name.replace(/\W+/g, "_")}.yaml`, text));
        if (r.code !== 0) throw new Error(`kubeadm v${v} config validate refused the ${name} configuration:\n${r.out}\n--- the configuration:\n${text}`);
        expect(r.out).toContain("ok");
    });

    test("kubeadm refuses a misspelled field in the same configuration (the check can fail)", () => {
        const text = configsAt(v)[0][1].replace("podSubnet:", "podSubnett:");
        expect(text).toContain("podSubnett:");
        const r = kubeadmValidate(v, write(`${v}-misspelled.yaml`, text));
        expect(r.code).not.toBe(0);
        expect(r.out).toMatch(/unknown field "networking\.podSubnett"|podSubnett/);
    });

    test("the kubelet's own loader and validation accept the rendered KubeletConfiguration", () => {
        const docs = yaml.loadAll(configsAt(v)[0][1]) as Record<string, unknown>[];
        const kubelet = docs.find((d) => d.kind === "KubeletConfiguration");
        const r = kubeletCheck(v, write(`${v}-kubelet.yaml`, yaml.dump(kubelet)));
        expect(r).toEqual({ code: 0, out: "ok\n" });
        // ... and refuse an invalid value (the check can fail).
        const bad = kubeletCheck(v, write(`${v}-kubelet-bad.yaml`, yaml.dump({ ...kubelet, imageGCHighThresholdPercent: 150 })));
        expect(bad.code).toBe(1);
        expect(bad.out).toContain("imageGCHighThresholdPercent");
    });
});

describe("containerd: the config.toml the program renders for each major version", () => {
    const binDir = { 1: path.join(CACHE, "containerd", "debian", "bin"), 2: path.join(CACHE, "containerd", `v${CONTAINERD2}`, "bin") } as const;
    const sandboxImage = pauseImage(stackSpec("dev", VALIDATE[VALIDATE.length - 1]));
    const dump = (major: 1 | 2, file: string) => execFileSync(path.join(binDir[major], "containerd"), ["--config", file, "config", "dump"], { encoding: "utf8" });

    test("containerd 1.6 reads the version 2 layout: our pause image, systemd cgroups and registry directory are in its effective configuration", () => {
        const out = dump(1, write("containerd-v2.toml", renderContainerdConfig(1, { sandboxImage })));
        expect(out).toContain(`sandbox_image = "${sandboxImage}"`);
        expect(out).toMatch(/\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n(\s+\S.*\n)*?\s+config_path = "\/etc\/containerd\/certs\.d"/);
        expect(out).toMatch(/\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\.options\]\n(\s+\S.*\n)*?\s+SystemdCgroup = true/);
    });

    test("containerd 2.x reads the version 3 layout: the same three settings in the split CRI plugins", () => {
        const out = dump(2, write("containerd-v3.toml", renderContainerdConfig(2, { sandboxImage })));
        expect(out).toMatch(/\[plugins\.'io\.containerd\.cri\.v1\.images'\.pinned_images\]\n\s+sandbox = '[^']+'/);
        expect(out).toContain(`sandbox = '${sandboxImage}'`);
        expect(out).toMatch(/\[plugins\.'io\.containerd\.cri\.v1\.images'\.registry\]\n\s+config_path = '\/etc\/containerd\/certs\.d'/);
        expect(out).toMatch(/SystemdCgroup = true/);
    });

    test("the layouts are not interchangeable: containerd 1.6 silently ignores the version 3 file (its own default pause image stays), so the step must pick the layout by the installed version", () => {
        const out = dump(1, write("containerd-v3-to-1.6.toml", renderContainerdConfig(2, { sandboxImage })));
        expect(out).not.toContain(sandboxImage);
    });

    describe("running: the real daemon started with exactly the rendered file, asked over CRI", () => {
        let c: Cluster;
        beforeAll(async () => {
            c = await createCluster([
                { name: "ctrd16", ip: "10.250.0.31", os: "rocky8", lab: 1 },
                { name: "ctrd2", ip: "10.250.0.32", os: "rocky9", lab: 2 },
            ]);
        });
        afterAll(async () => {
            await c?.destroy();
        });

        test.each([
            [1, 0],
            [2, 1],
        ] as const)("containerd %s.x: the CRI plugin is up with the pause image and systemd cgroups", (major, i) => {
            const h = c.hosts[i];
            const config = renderContainerdConfig(major, { sandboxImage });
            c.writeFile(h, "/tmp/config.toml", config);
            const bin = binDir[major];
            // Started by hand (not the supervised unit, which runs the lab's cgroupfs variant), and
            // stopped by its recorded pid.
            const pid = c
                .shOk(h, `PATH=${q(bin)}:$PATH setsid containerd --config /tmp/config.toml --address /tmp/c.sock --root /var/lib/ctrd-check --state /run/ctrd-check </dev/null >/tmp/containerd.log 2>&1 & echo $!`)
                .trim();
            try {
                c.shOk(h, `for i in $(seq 1 100); do [ -S /tmp/c.sock ] && exit 0; sleep 0.1; done; cat /tmp/containerd.log; exit 1`);
                const crictl = path.join(fs.readdirSync(path.join(CACHE, "crictl")).map((d) => path.join(CACHE, "crictl", d, "bin", "crictl"))[0]);
                const info = JSON.parse(c.shOk(h, `${q(crictl)} --runtime-endpoint unix:///tmp/c.sock info -o json`)) as {
                    config: Record<string, unknown>;
                    status: { conditions: { type: string; status: boolean }[] };
                };
                expect(info.status.conditions.find((x) => x.type === "RuntimeReady")?.status).toBe(true);
                const runc = JSON.stringify((info.config as { containerd: { runtimes: { runc: unknown } } }).containerd.runtimes.runc);
                expect(runc).toContain('"SystemdCgroup":true');
                if (major === 1) expect(info.config.sandboxImage).toBe(sandboxImage);
            } finally {
                c.sh(h, `kill ${pid}; for i in $(seq 1 50); do kill -0 ${pid} 2>/dev/null || exit 0; sleep 0.1; done; kill -9 ${pid}`);
            }
        });
    });
});
