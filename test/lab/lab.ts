// The real-Kubernetes lab: what test/lab/build.sh built (versions.env pins it), and the few things
// the lab does on its hosts that are not the program's steps: loading the image archives before
// init (the seeds' `docker load`), and the pod network (the reference bridge plugin, standing in for
// Calico and Flannel, whose images cannot be built here).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ClusterSpec } from "../../components/config/spec";
import { RawConfig, parseClusterConfig } from "../../components/config/validate";
import { loadStackConfig } from "../../tools/stackConfig";
import { Cluster, TestHost, q } from "../hosts/harness";

const VERSIONS_FILE = path.join(__dirname, "versions.env");

/** versions.env as a map. */
export function labVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(VERSIONS_FILE, "utf8").split("\n")) {
        const m = /^([A-Z0-9_]+)="([^"]*)"$/.exec(line.trim());
        if (m) out[m[1]] = m[2];
    }
    return out;
}

const V = labVersions();
/** The release the dev stack's cluster is formed at, and the one its upgrade goes to. */
export const KUBE = V.KC_LAB_KUBE;
export const KUBE_NEXT = V.KC_LAB_KUBE_NEXT;
/** One release of every supported minor, for the validators. */
export const VALIDATE = V.KC_LAB_VALIDATE.split(/\s+/).filter(Boolean);
export const CONTAINERD2 = V.KC_LAB_CONTAINERD2;

export const CACHE = process.env.KC_LAB_CACHE ?? "/var/cache/kubeadm-cluster-lab";
export const BUILD = path.join(__dirname, "build.sh");

/** The directory of the lab's binaries of one Kubernetes release (a full release, or a validator-only one). */
export function kubeBin(version: string): string {
    for (const dir of [path.join(CACHE, "kube", `v${version}`, "bin"), path.join(CACHE, "validate", `v${version}`, "bin")]) {
        if (fs.existsSync(path.join(dir, "kubeadm"))) return dir;
    }
    throw new Error(`the lab has no kubeadm v${version}: run bash test/lab/build.sh`);
}

/**
 * Fails (never skips) when what a test needs of the lab is not built: a skipped layer would be a
 * hidden failure. `npm test` builds the lab first (test/lab/run.sh); this is for a test file run by
 * hand. cluster: the releases the dev cluster runs and both containerds; validators: kubeadm and
 * the kubelet's configuration check of every supported minor.
 */
export function requireLab(what: "cluster" | "validators"): void {
    const missing: string[] = [];
    if (what === "cluster") {
        for (const v of [KUBE, KUBE_NEXT]) {
            for (const b of ["kubeadm", "kubelet", "kubectl", "kube-apiserver"]) {
                if (!fs.existsSync(path.join(CACHE, "kube", `v${v}`, "bin", b))) missing.push(`kube/v${v}/bin/${b}`);
            }
        }
        if (!fs.existsSync(path.join(CACHE, "containerd", "debian", "bin", "containerd"))) missing.push("containerd 1.6 (Debian)");
        if (!fs.existsSync(path.join(CACHE, "containerd", `v${CONTAINERD2}`, "bin", "containerd"))) missing.push(`containerd v${CONTAINERD2}`);
    } else {
        for (const v of VALIDATE) {
            try {
                const dir = kubeBin(v);
                if (!fs.existsSync(path.join(dir, "kubelet-config-check"))) missing.push(`kubelet-config-check v${v}`);
            } catch {
                missing.push(`kubeadm v${v}`);
            }
        }
    }
    if (missing.length > 0) {
        throw new Error(`the real-Kubernetes lab is not built (missing: ${missing.join(", ")}).\nBuild it with: bash test/lab/build.sh   (cache: ${CACHE})`);
    }
}

/** The images `kubeadm config images list` prints for a release (registry.k8s.io). */
export function kubeadmImages(version: string): string[] {
    const out = execFileSync(path.join(kubeBin(version), "kubeadm"), ["config", "images", "list", "--kubernetes-version", `v${version}`, "--image-repository", "registry.k8s.io"], {
        encoding: "utf8",
    });
    return out.split("\n").filter(Boolean);
}

/** The cached archive of an image (build.sh's image_file). */
export function imageArchive(ref: string): string {
    return path.join(CACHE, "images", `${ref.replace(/[/:]/g, "_")}.tar`);
}

/** Images a node of a role runs: every node runs kube-proxy, pause and (scheduled anywhere) CoreDNS. */
export function imagesFor(version: string, role: "control-plane" | "worker"): string[] {
    const all = kubeadmImages(version);
    if (role === "control-plane") return all;
    return all.filter((r) => /\/(kube-proxy|pause|coredns\/coredns):/.test(r));
}

/**
 * Loads image archives into a host's containerd (namespace k8s.io), as the seeds `docker load`
 * theirs before kubeadm init: the hosts reach no registry.
 */
export function loadImages(c: Cluster, host: TestHost, refs: string[]): void {
    for (const ref of refs) {
        const file = imageArchive(ref);
        if (!fs.existsSync(file)) throw new Error(`the lab has no image archive for ${ref} (${file}): run bash test/lab/build.sh`);
        c.shOk(host, `ctr -n k8s.io images import ${q(file)} >/dev/null`);
    }
}

/**
 * The lab's pod network: the reference CNI plugins (bridge + host-local + portmap, installed by the
 * kubernetes-cni package) with a /24 per node out of the pod CIDR, and a route on every node to
 * every other node's /24. It stands in for Calico and Flannel, whose images cannot be built here.
 */
export function podSubnet(index: number): string {
    return `10.244.${index + 1}.0/24`;
}

export function installPodNetwork(c: Cluster, hosts: TestHost[]): void {
    hosts.forEach((h, i) => {
        const conf = {
            cniVersion: "1.0.0",
            name: "kc-lab",
            plugins: [
                {
                    type: "bridge",
                    bridge: "cni0",
                    isGateway: true,
                    ipMasq: true,
                    hairpinMode: true,
                    ipam: { type: "host-local", ranges: [[{ subnet: podSubnet(i) }]], routes: [{ dst: "0.0.0.0/0" }] },
                },
                { type: "portmap", capabilities: { portMappings: true } },
            ],
        };
        c.writeFile(h, "/etc/cni/net.d/10-kc-lab.conflist", `${JSON.stringify(conf, null, 2)}\n`);
        const routes = hosts
            .map((o, j) => (o === h ? "" : `ip route replace ${podSubnet(j)} via ${o.ip} dev eth0`))
            .filter(Boolean)
            .join("\n");
        c.shOk(h, routes);
    });
}

/** The raw stack config of a bundled stack, as the CLI hands it to the program (keys without the project prefix). */
export function rawStack(stack: string): RawConfig {
    const { project, config } = loadStackConfig(stack);
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(config)) raw[k.slice(project.length + 1)] = v;
    return raw;
}

/**
 * The dev stack (Pulumi.yaml defaults + Pulumi.dev.yaml, through the program's own validation) with
 * its three hosts replaced by the lab's and the lab's Kubernetes release. `overrides` are more raw
 * config keys; the lab passes kubeProxyMode: iptables, because this machine's kernel has no IPVS.
 */
export function devStackSpec(hosts: TestHost[], overrides: RawConfig = {}): ClusterSpec {
    const raw = rawStack("dev");
    raw.hosts = JSON.stringify(hosts.map((h) => ({ name: h.name, address: h.ip, role: h.role })));
    raw.kubernetesVersion = KUBE;
    raw.kubeProxyMode = "iptables";
    Object.assign(raw, overrides);
    return parseClusterConfig(raw);
}

/** kubectl on a control plane with its admin kubeconfig (the real kubectl and API server). */
export function kubectl(c: Cluster, cp: TestHost, args: string): string {
    return c.shOk(cp, `kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=30s ${args}`);
}

/** Waits until CHECK returns true, polling every 2 s; throws with DESCRIPTION after timeoutMs. */
export async function waitFor(description: string, check: () => boolean, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        if (check()) return;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${description}`);
        await new Promise((r) => setTimeout(r, 2000));
    }
}

/** What the lab hosts' daemons logged (for a failed test's message). */
export function daemonLogs(c: Cluster, host: TestHost, lines = 60): string {
    const r = c.sh(host, `for f in /var/log/kc-lab/*.log; do [ -f "$f" ] || continue; echo "== $f"; tail -n ${lines} "$f"; done`);
    return r.stdout;
}

/** A Kubernetes object as kubectl takes it. */
export type KubeObject = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } } & Record<string, unknown>;

/**
 * The Kubernetes objects the program applies for a stack, read from the real program run under the
 * mock engine (test/program/harness.ts): each kubernetes:<group>/<version>:<Kind> resource's inputs,
 * and the documents of the user's manifests (ConfigGroup). Not included, with the reason: the Calico
 * operator's own manifests (ConfigFile of a URL: fetched at deploy time, unreachable here) and the
 * Flannel chart (rendered by Helm at deploy time).
 */
export async function programObjects(config: { config: Record<string, string>; secretKeys: string[] }): Promise<KubeObject[]> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runProgram } = require("../program/harness") as typeof import("../program/harness");
    const run = await runProgram(config);
    const out: KubeObject[] = [];
    for (const r of run.resources) {
        const m = /^kubernetes:([a-z0-9.-]+)\/([a-z0-9]+):([A-Za-z]+)$/.exec(r.type);
        if (r.type === "kubernetes:yaml/v2:ConfigGroup") {
            for (const doc of yaml.loadAll(String(r.inputs.yaml))) if (doc) out.push(doc as KubeObject);
            continue;
        }
        if (!m || m[1] === "yaml" || m[1] === "helm.sh") continue;
        const [, group, ver, kind] = m;
        const { apiVersion: _a, kind: _k, ...rest } = r.inputs; // eslint-disable-line @typescript-eslint/no-unused-vars
        out.push({ apiVersion: group === "core" ? ver : `${group}/${ver}`, kind, ...rest });
    }
    return out;
}

/** The Calico Installation's CRD, from Calico v3.31.7's own schema (fixtures/), so the API server validates the Installation as on a real cluster. */
export const CALICO_INSTALLATION_CRD = path.join(__dirname, "fixtures", "calico-installation-crd-v3.31.json");

/** `kubectl apply --server-side` of OBJECTS on the control plane, as a dry run on the server unless `real`; the API server's answer. */
export function kubectlApply(c: Cluster, cp: TestHost, objects: KubeObject[], opts: { real?: boolean } = {}): { code: number; out: string } {
    const text = objects.map((o) => yaml.dump(o, { noRefs: true, lineWidth: -1 })).join("---\n");
    const dry = opts.real ? "" : "--dry-run=server";
    const r = c.sh(cp, `kubectl --kubeconfig /etc/kubernetes/admin.conf apply --server-side --field-manager=kubeadm-cluster-lab ${dry} -f - 2>&1`, text);
    return { code: r.code, out: r.stdout + r.stderr };
}
