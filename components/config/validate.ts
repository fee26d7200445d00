// Parses and validates the whole stack configuration into a ClusterSpec.
// Every problem is collected and reported at once, before any resource is registered, each
// naming the field and what to do about it.
import { RunError } from "@pulumi/pulumi";
import {
    BastionSpec,
    EtcdBackupSpec,
    HaSpec,
    LoadBalancer,
    ClusterSpec,
    CniPlugin,
    DemoSpec,
    HostSpec,
    KubernetesVersion,
    SshKeySource,
} from "./spec";
import { cidrContains, cidrsOverlap, isIpv4, parseCidr } from "./net";
import {
    DEFAULT_CALICO_SOURCE,
    DEFAULT_CALICO_VERSION,
    DEFAULT_FLANNEL_CHART_REPO as DEFAULT_FLANNEL_SOURCE,
    DEFAULT_FLANNEL_VERSION,
} from "../render/cni";
import { REQUIRED_SYSCTL } from "../render/node";

export const SUPPORTED_MINORS = { min: 30, max: 35 } as const;
export const DEFAULT_KUBERNETES_VERSION = "1.35.9";

/** Every key the program reads, with its default (undefined = no default). */
export const CONFIG_KEYS = [
    "hosts",
    "sshUser",
    "sshPort",
    "sshPrivateKey",
    "sshPrivateKeyPath",
    "bastion",
    "kubernetesVersion",
    "podCidr",
    "serviceCidr",
    "controlPlaneEndpoint",
    "loadBalancer",
    "virtualRouterId",
    "containerRuntime",
    "cni",
    "cniVersion",
    "cniSource",
    "cniRegistry",
    "kubeProxyMode",
    "imageRepository",
    "registryMirrors",
    "kubernetesRepoUrl",
    "dockerRepoUrl",
    "centos7VaultUrl",
    "firewall",
    "timeSync",
    "ntpServers",
    "sysctl",
    "demo",
    "manifestsDir",
    "joinTokenTtl",
    "upgradeBatchSize",
    "certificateRenewal",
    "etcdBackup",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Raw configuration: keys without the project prefix, values as Pulumi hands them over. */
export type RawConfig = Partial<Record<string, unknown>>;

/** A RunError, so `pulumi preview` prints the sentences without a stack trace. */
export class ConfigError extends RunError {
    constructor(public readonly problems: string[]) {
        super(
            `The stack configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was changed on any host:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

const HOST_NAME = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
const IMAGE_REPO = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const DURATION = /^([0-9]+)(s|m|h)$/;
const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

class Collector {
    readonly problems: string[] = [];
    add(p: string): void {
        this.problems.push(p);
    }
}

/** Pulumi hands structured values over as JSON text; accept both forms. */
function structured(v: unknown): unknown {
    if (typeof v !== "string") return v;
    const t = v.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return v;
        }
    }
    return v;
}

function str(c: Collector, field: string, v: unknown, def: string): string;
function str(c: Collector, field: string, v: unknown, def?: undefined): string | undefined;
function str(c: Collector, field: string, v: unknown, def?: string): string | undefined {
    if (v === undefined || v === null || v === "") return def;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    if (typeof v !== "string") {
        c.add(`${field} must be a string, not ${describe(v)}.`);
        return def;
    }
    return v.trim();
}

function int(c: Collector, field: string, v: unknown, def: number, min: number, max: number, hint?: string): number {
    if (v === undefined || v === null || v === "") return def;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
        c.add(`${field} must be a whole number, not ${describe(v)}.`);
        return def;
    }
    if (n < min || n > max) {
        c.add(`${field} is ${n}, outside ${min}-${max}${hint ? `: ${hint}` : "."}`);
        return def;
    }
    return n;
}

function bool(c: Collector, field: string, v: unknown, def: boolean): boolean {
    if (v === undefined || v === null || v === "") return def;
    if (typeof v === "boolean") return v;
    if (v === "true") return true;
    if (v === "false") return false;
    c.add(`${field} must be true or false, not ${describe(v)}.`);
    return def;
}

function oneOf<T extends string>(c: Collector, field: string, v: unknown, allowed: readonly T[], def: T): T {
    const s = str(c, field, v, def);
    if ((allowed as readonly string[]).includes(s)) return s as T;
    c.add(`${field} is "${s}"; it must be one of ${allowed.map((a) => `"${a}"`).join(", ")}.`);
    return def;
}

function stringList(c: Collector, field: string, v: unknown): string[] {
    const val = structured(v);
    if (val === undefined || val === null || val === "") return [];
    if (!Array.isArray(val) || !val.every((x) => typeof x === "string")) {
        c.add(`${field} must be a list of strings, not ${describe(val)}.`);
        return [];
    }
    return val.map((x) => x.trim());
}

function url(c: Collector, field: string, v: unknown, def: string, mustContain?: string): string {
    const s = str(c, field, v, def);
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(s)) {
        c.add(`${field} "${s}" is not an http(s) URL: give a full URL such as ${def}.`);
        return def;
    }
    if (mustContain && !s.includes(mustContain)) {
        c.add(`${field} "${s}" has no ${mustContain} placeholder: put ${mustContain} where the version goes, as in ${def}.`);
        return def;
    }
    return s;
}

function describe(v: unknown): string {
    if (Array.isArray(v)) return "a list";
    if (v === null) return "null";
    if (typeof v === "object") return "an object";
    if (typeof v === "string") return `"${v}"`;
    return `${typeof v} ${String(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unknownFields(c: Collector, field: string, obj: Record<string, unknown>, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
        if (!known.includes(k)) c.add(`${field}.${k} is not a known field; known fields are ${known.join(", ")}.`);
    }
}

export function parseVersion(c: Collector | undefined, v: unknown): KubernetesVersion | undefined {
    const col = c ?? new Collector();
    const s = str(col, "kubernetesVersion", v, DEFAULT_KUBERNETES_VERSION);
    const m = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(s);
    const range = `1.${SUPPORTED_MINORS.min}.0 to 1.${SUPPORTED_MINORS.max}.x`;
    if (!m) {
        col.add(`kubernetesVersion "${s}" is not an exact version: give major.minor.patch, e.g. ${DEFAULT_KUBERNETES_VERSION} (supported: ${range}).`);
        return undefined;
    }
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (major !== 1 || minor < SUPPORTED_MINORS.min || minor > SUPPORTED_MINORS.max) {
        col.add(`kubernetesVersion ${major}.${minor}.${patch} is outside the supported range ${range}: choose a version in that range, e.g. ${DEFAULT_KUBERNETES_VERSION}.`);
        return undefined;
    }
    return { full: `${major}.${minor}.${patch}`, major, minor, patch, minorString: `${major}.${minor}` };
}

function parseHosts(c: Collector, raw: unknown, sshUser: string, sshPort: number): HostSpec[] {
    const val = structured(raw);
    if (val === undefined || val === null || val === "" || (Array.isArray(val) && val.length === 0)) {
        c.add(`hosts is not set: list your machines, e.g. [{name: master01, address: 192.168.10.11, role: control-plane}, {name: worker01, address: 192.168.10.12, role: worker}].`);
        return [];
    }
    if (!Array.isArray(val)) {
        c.add(`hosts must be a list of {name, address, role}, not ${describe(val)}.`);
        return [];
    }
    const hosts: HostSpec[] = [];
    const byName = new Map<string, number>();
    const byAddress = new Map<string, number>();
    val.forEach((h, i) => {
        const f = `hosts[${i}]`;
        if (!isObject(h)) {
            c.add(`${f} must be an object with name, address and role, not ${describe(h)}.`);
            return;
        }
        unknownFields(c, f, h, ["name", "address", "role", "user", "port", "hostKey"]);
        const name = str(c, `${f}.name`, h.name);
        const address = str(c, `${f}.address`, h.address);
        let ok = true;
        if (!name) {
            c.add(`${f}.name is missing: give the host a name such as worker01.`);
            ok = false;
        } else if (!HOST_NAME.test(name)) {
            c.add(`${f}.name "${name}" is not a valid node name: use lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit.`);
            ok = false;
        } else if (byName.has(name)) {
            c.add(`${f}.name "${name}" is already used by hosts[${byName.get(name)}]: give every host a unique name.`);
            ok = false;
        } else byName.set(name, i);
        if (!address) {
            c.add(`${f}.address is missing: give the IPv4 address the other hosts reach ${name ?? "it"} on.`);
            ok = false;
        } else if (!isIpv4(address)) {
            c.add(`${f}.address "${address}" is not an IPv4 address: write it as four numbers 0-255, e.g. 192.168.10.11.`);
            ok = false;
        } else if (byAddress.has(address)) {
            c.add(`${f}.address ${address} is already used by hosts[${byAddress.get(address)}]: every host needs its own address.`);
            ok = false;
        } else byAddress.set(address, i);
        let role: HostSpec["role"] = "worker";
        if (h.role === undefined) {
            c.add(`${f}.role is missing: set "control-plane" or "worker".`);
            ok = false;
        } else if (h.role === "control-plane" || h.role === "worker") role = h.role;
        else {
            c.add(`${f}.role is ${describe(h.role)}; it must be "control-plane" or "worker".`);
            ok = false;
        }
        const user = str(c, `${f}.user`, h.user, sshUser);
        if (!USER_NAME.test(user)) c.add(`${f}.user "${user}" is not a valid Linux user name.`);
        const port = int(c, `${f}.port`, h.port, sshPort, 1, 65535);
        const hostKey = str(c, `${f}.hostKey`, h.hostKey);
        if (hostKey !== undefined && !HOST_KEY.test(hostKey)) {
            c.add(`${f}.hostKey is not an SSH public host key: paste one line of \`ssh-keyscan -t ed25519 ${address ?? "HOST"}\` without the host name, e.g. "ssh-ed25519 AAAA...".`);
        }
        if (ok && name && address) hosts.push({ name, address, role, user, port, ...(hostKey ? { hostKey } : {}) });
    });
    return hosts;
}

function parseBastion(c: Collector, raw: unknown, sshUser: string): BastionSpec | undefined {
    const val = structured(raw);
    if (val === undefined || val === null || val === "" || (isObject(val) && Object.keys(val).length === 0)) return undefined;
    if (!isObject(val)) {
        c.add(`bastion must be an object {address, port, user, hostKey}, not ${describe(val)}.`);
        return undefined;
    }
    unknownFields(c, "bastion", val, ["address", "port", "user", "hostKey"]);
    const address = str(c, "bastion.address", val.address);
    if (!address) {
        c.add(`bastion.address is missing: give the jump host's address or DNS name, or remove bastion.`);
        return undefined;
    }
    if (!isIpv4(address) && !DNS_NAME.test(address)) {
        c.add(`bastion.address "${address}" is neither an IPv4 address nor a DNS name.`);
    }
    const port = int(c, "bastion.port", val.port, 22, 1, 65535);
    const user = str(c, "bastion.user", val.user, sshUser);
    if (!USER_NAME.test(user)) c.add(`bastion.user "${user}" is not a valid Linux user name.`);
    const hostKey = str(c, "bastion.hostKey", val.hostKey);
    if (hostKey !== undefined && !HOST_KEY.test(hostKey)) {
        c.add(`bastion.hostKey is not an SSH public host key: paste one line of \`ssh-keyscan -t ed25519 ${address}\` without the host name.`);
    }
    return { address, port, user, ...(hostKey ? { hostKey } : {}) };
}

function parseCidrField(c: Collector, field: string, v: unknown, def: string): string {
    const s = str(c, field, v, def);
    const parsed = parseCidr(s);
    if (!parsed) {
        c.add(`${field} "${s}" is not an IPv4 CIDR: write it as address/prefix, e.g. ${def}.`);
        return def;
    }
    if (parsed.canonical !== s) {
        c.add(`${field} "${s}" has host bits set: did you mean ${parsed.canonical}?`);
        return def;
    }
    return s;
}

function parseDemo(c: Collector, raw: unknown): DemoSpec {
    const val = structured(raw);
    const d: DemoSpec = { enabled: true, replicas: 2, nodePort: 30080, image: "nginx:1.27" };
    if (val === undefined || val === null || val === "") return d;
    if (!isObject(val)) {
        c.add(`demo must be an object {enabled, replicas, nodePort, image}, not ${describe(val)}.`);
        return d;
    }
    unknownFields(c, "demo", val, ["enabled", "replicas", "nodePort", "image"]);
    return {
        enabled: bool(c, "demo.enabled", val.enabled, d.enabled),
        replicas: int(c, "demo.replicas", val.replicas, d.replicas, 1, 100),
        nodePort: int(c, "demo.nodePort", val.nodePort, d.nodePort, 30000, 32767, "NodePorts must lie in the cluster's NodePort range 30000-32767."),
        image: str(c, "demo.image", val.image, d.image),
    };
}

function parseEtcdBackup(c: Collector, raw: unknown): EtcdBackupSpec {
    const val = structured(raw);
    const d: EtcdBackupSpec = { enabled: false, dir: "/var/backups/etcd", schedule: "*-*-* 02:00:00", retention: 7 };
    if (val === undefined || val === null || val === "") return d;
    if (!isObject(val)) {
        c.add(`etcdBackup must be an object {enabled, dir, schedule, retention}, not ${describe(val)}.`);
        return d;
    }
    unknownFields(c, "etcdBackup", val, ["enabled", "dir", "schedule", "retention"]);
    const dir = str(c, "etcdBackup.dir", val.dir, d.dir);
    if (!/^\/[A-Za-z0-9._/-]*$/.test(dir) || dir === "/" || dir.split("/").includes("..")) {
        c.add(`etcdBackup.dir "${dir}" must be an absolute directory path such as /var/backups/etcd.`);
    }
    const schedule = str(c, "etcdBackup.schedule", val.schedule, d.schedule);
    if (!/^[A-Za-z0-9*:,./~ -]+$/.test(schedule)) {
        c.add(`etcdBackup.schedule "${schedule}" is not a systemd calendar expression such as "*-*-* 02:00:00" or "daily".`);
    }
    return {
        enabled: bool(c, "etcdBackup.enabled", val.enabled, d.enabled),
        dir,
        schedule,
        retention: int(c, "etcdBackup.retention", val.retention, d.retention, 1, 1000),
    };
}

function parseSysctl(c: Collector, raw: unknown): Record<string, string> {
    const val = structured(raw);
    if (val === undefined || val === null || val === "") return {};
    if (!isObject(val)) {
        c.add(`sysctl must be an object of key: value, not ${describe(val)}.`);
        return {};
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(val)) {
        if (!SYSCTL_KEY.test(k)) {
            c.add(`sysctl key "${k}" is not a sysctl name such as fs.inotify.max_user_watches.`);
            continue;
        }
        if (typeof v !== "string" && typeof v !== "number") {
            c.add(`sysctl.${k} must be a number or a string, not ${describe(v)}.`);
            continue;
        }
        const s = String(v).trim();
        if (k in REQUIRED_SYSCTL && REQUIRED_SYSCTL[k] !== s) {
            c.add(`sysctl.${k} = ${s} would break Kubernetes networking: it must stay ${REQUIRED_SYSCTL[k]}; remove it from sysctl.`);
            continue;
        }
        out[k] = s;
    }
    return out;
}

function parseDuration(c: Collector, field: string, v: unknown, def: string, maxSeconds: number): string {
    const s = str(c, field, v, def);
    const m = DURATION.exec(s);
    const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"] : NaN;
    if (!m || seconds <= 0) {
        c.add(`${field} "${s}" is not a duration such as 30m or 1h.`);
        return def;
    }
    if (seconds > maxSeconds) {
        c.add(`${field} ${s} is longer than ${maxSeconds / 3600}h: join tokens are meant to be short-lived; a fresh one is made for every join.`);
        return def;
    }
    return s;
}

function parseEndpoint(c: Collector, v: unknown, def: string, defaultPort: number): { endpoint: string; host: string; port: number } {
    const s = str(c, "controlPlaneEndpoint", v, def);
    const m = /^([^:\s]+)(?::([0-9]{1,5}))?$/.exec(s);
    const fallback = { endpoint: def, host: def.split(":")[0], port: Number(def.split(":")[1] ?? defaultPort) };
    if (!m || !(isIpv4(m[1]) || DNS_NAME.test(m[1])) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
        c.add(`controlPlaneEndpoint "${s}" must be host or host:port with an IPv4 address or DNS name, e.g. ${def}.`);
        return fallback;
    }
    const port = m[2] ? Number(m[2]) : defaultPort;
    return { endpoint: `${m[1]}:${port}`, host: m[1], port };
}

/**
 * The control-plane endpoint and what serves it. Every cluster sets controlPlaneEndpoint at
 * init, so control planes can be added later without re-initialising.
 */
function parseHa(c: Collector, raw: RawConfig, cps: HostSpec[], hosts: HostSpec[], cidrs: [string, string][]): { controlPlaneEndpoint: string; ha: HaSpec } {
    const lbs = ["keepalived-haproxy", "kube-vip", "external", "none"] as const;
    const loadBalancer: LoadBalancer = oneOf(c, "loadBalancer", raw.loadBalancer, lbs, cps.length > 1 ? "keepalived-haproxy" : "none");
    const virtualRouterId = int(c, "virtualRouterId", raw.virtualRouterId, 51, 1, 255, "VRRP router ids are 1-255; pick one no other VRRP group on this network uses.");
    if (cps.length > 1 && loadBalancer === "none") {
        c.add(`loadBalancer is "none" but hosts has ${cps.length} control planes: set loadBalancer to "keepalived-haproxy", "kube-vip" or "external" so one endpoint reaches all of them.`);
    }
    const defaultPort = loadBalancer === "keepalived-haproxy" ? 8443 : 6443;
    const unset = raw.controlPlaneEndpoint === undefined || raw.controlPlaneEndpoint === "";
    if (unset && loadBalancer !== "none") {
        c.add(`controlPlaneEndpoint is not set: with loadBalancer "${loadBalancer}" it must be the virtual IP${loadBalancer === "external" ? " or DNS name of your load balancer" : ""} and port, e.g. 192.168.10.100:${defaultPort}.`);
    }
    const def = cps.length > 0 ? `${cps[0].address}:6443` : "127.0.0.1:6443";
    const { endpoint, host, port } = parseEndpoint(c, raw.controlPlaneEndpoint, def, defaultPort);
    const ha: HaSpec = { loadBalancer, endpointPort: port, virtualRouterId };
    if ((loadBalancer === "keepalived-haproxy" || loadBalancer === "kube-vip") && !unset) {
        if (!isIpv4(host)) {
            c.add(`controlPlaneEndpoint "${endpoint}" must use the virtual IP address (not a name) with loadBalancer "${loadBalancer}", which holds that address on a control plane.`);
        } else {
            ha.vip = host;
            const owner = hosts.find((h) => h.address === host);
            if (owner) c.add(`controlPlaneEndpoint's virtual IP ${host} is ${owner.name}'s address: choose a free address in the hosts' subnet that no host uses.`);
            for (const [field, cidr] of cidrs) {
                if (cidrContains(cidr, host)) c.add(`controlPlaneEndpoint's virtual IP ${host} lies in ${field} ${cidr}: choose a free address in the hosts' subnet.`);
            }
        }
        if (loadBalancer === "kube-vip" && port !== 6443) {
            c.add(`controlPlaneEndpoint "${endpoint}" uses port ${port}, but kube-vip only moves the address to the API server's own port: use ${host}:6443.`);
        }
        if (loadBalancer === "keepalived-haproxy" && port === 6443) {
            c.add(`controlPlaneEndpoint "${endpoint}" uses port 6443, which the API server itself holds on every control plane: give haproxy another port, e.g. ${host}:8443.`);
        }
    }
    return { controlPlaneEndpoint: endpoint, ha };
}

/** Closest known key, for "did you mean" hints on typos. */
function closest(key: string): string | undefined {
    let best: string | undefined;
    let bestD = 4;
    for (const k of CONFIG_KEYS) {
        const d = editDistance(key.toLowerCase(), k.toLowerCase());
        if (d < bestD) [best, bestD] = [k, d];
    }
    return best;
}

function editDistance(a: string, b: string): number {
    const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) dp[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return dp[a.length][b.length];
}

/**
 * Validate the raw stack configuration. Throws ConfigError listing every problem.
 * @param raw keys without the "kubeadm-cluster:" prefix.
 */
export function parseClusterConfig(raw: RawConfig): ClusterSpec {
    const c = new Collector();
    for (const k of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
            const hint = closest(k);
            c.add(`${k} is not a known setting${hint ? `: did you mean ${hint}?` : "; see the configuration reference in README.md."}`);
        }
    }

    const sshUser = str(c, "sshUser", raw.sshUser, "root");
    if (!USER_NAME.test(sshUser)) c.add(`sshUser "${sshUser}" is not a valid Linux user name.`);
    const sshPort = int(c, "sshPort", raw.sshPort, 22, 1, 65535);
    const hosts = parseHosts(c, raw.hosts, sshUser, sshPort);

    const keyInline = raw.sshPrivateKey !== undefined && raw.sshPrivateKey !== "";
    const keyPath = str(c, "sshPrivateKeyPath", raw.sshPrivateKeyPath);
    let sshKey: SshKeySource = { kind: "inline" };
    if (keyInline && keyPath) {
        c.add(`sshPrivateKey and sshPrivateKeyPath are both set: keep one (pulumi config rm sshPrivateKeyPath, or pulumi config rm sshPrivateKey).`);
    } else if (keyPath) {
        sshKey = { kind: "file", path: keyPath };
    } else if (!keyInline) {
        c.add(`sshPrivateKey is not set: run \`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519\`, or set sshPrivateKeyPath to the key file.`);
    }
    const bastion = parseBastion(c, raw.bastion, sshUser);

    const version = parseVersion(c, raw.kubernetesVersion);
    const podCidr = parseCidrField(c, "podCidr", raw.podCidr, "10.244.0.0/16");
    const serviceCidr = parseCidrField(c, "serviceCidr", raw.serviceCidr, "10.96.0.0/12");
    if (cidrsOverlap(podCidr, serviceCidr)) {
        c.add(`podCidr ${podCidr} and serviceCidr ${serviceCidr} overlap: choose ranges that do not overlap, e.g. 10.244.0.0/16 and 10.96.0.0/12.`);
    }
    for (const h of hosts) {
        for (const [field, cidr] of [["podCidr", podCidr], ["serviceCidr", serviceCidr]] as const) {
            if (cidrContains(cidr, h.address)) {
                c.add(`${field} ${cidr} contains host ${h.name}'s address ${h.address}: pick a ${field} outside the hosts' network.`);
            }
        }
    }

    const cps = hosts.filter((h) => h.role === "control-plane");
    if (hosts.length > 0 && cps.length === 0) {
        c.add(`hosts has no control-plane host: set role: control-plane on one host (or on 3 or 5 for high availability).`);
    }
    if (cps.length > 0 && cps.length % 2 === 0) {
        c.add(`hosts has ${cps.length} control-plane hosts (${cps.map((h) => h.name).join(", ")}): etcd needs a majority of members, so ${cps.length} tolerate no more failures than ${cps.length - 1}; use an odd number (1, 3 or 5).`);
    }
    if (cps.length > 7) {
        c.add(`hosts has ${cps.length} control-plane hosts: more than 7 etcd members slow every write; use 3 or 5 and make the rest workers.`);
    }
    const { controlPlaneEndpoint, ha } = parseHa(c, raw, cps, hosts, [["podCidr", podCidr], ["serviceCidr", serviceCidr]]);

    const containerRuntime = oneOf(c, "containerRuntime", raw.containerRuntime, ["containerd", "docker"] as const, "containerd");
    const plugin: CniPlugin = oneOf(c, "cni", raw.cni, ["calico", "flannel"] as const, "calico");
    const cniVersion = str(c, "cniVersion", raw.cniVersion, plugin === "calico" ? DEFAULT_CALICO_VERSION : DEFAULT_FLANNEL_VERSION);
    if (!/^v[0-9]+\.[0-9]+\.[0-9]+$/.test(cniVersion)) {
        c.add(`cniVersion "${cniVersion}" is not a pinned release: write it as vX.Y.Z, e.g. ${plugin === "calico" ? DEFAULT_CALICO_VERSION : DEFAULT_FLANNEL_VERSION}.`);
    }
    const cniSource =
        plugin === "calico"
            ? url(c, "cniSource", raw.cniSource, DEFAULT_CALICO_SOURCE, "{version}")
            : url(c, "cniSource", raw.cniSource, DEFAULT_FLANNEL_SOURCE);
    const cniRegistry = str(c, "cniRegistry", raw.cniRegistry);
    if (cniRegistry !== undefined && !IMAGE_REPO.test(cniRegistry.replace(/\/$/, ""))) {
        c.add(`cniRegistry "${cniRegistry}" is not a registry host (and optional path), e.g. quay.m.daocloud.io.`);
    }
    const kubeProxyMode = oneOf(c, "kubeProxyMode", raw.kubeProxyMode, ["ipvs", "iptables"] as const, "ipvs");

    const imageRepository = str(c, "imageRepository", raw.imageRepository, "registry.k8s.io").replace(/\/$/, "");
    if (!IMAGE_REPO.test(imageRepository)) {
        c.add(`imageRepository "${imageRepository}" is not a registry path: give host/path without a scheme, e.g. registry.aliyuncs.com/google_containers.`);
    }
    const registryMirrors = stringList(c, "registryMirrors", raw.registryMirrors);
    registryMirrors.forEach((m, i) => {
        if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(m)) c.add(`registryMirrors[${i}] "${m}" is not an http(s) URL.`);
    });

    const packageRepos = {
        kubernetes: url(c, "kubernetesRepoUrl", raw.kubernetesRepoUrl, "https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/", "{minor}"),
        docker: url(c, "dockerRepoUrl", raw.dockerRepoUrl, "https://download.docker.com/linux/centos").replace(/\/$/, ""),
        centos7Vault: url(c, "centos7VaultUrl", raw.centos7VaultUrl, "https://vault.centos.org").replace(/\/$/, ""),
    };

    const firewall = oneOf(c, "firewall", raw.firewall, ["open-ports", "disable"] as const, "open-ports");
    const timeSync = bool(c, "timeSync", raw.timeSync, true);
    const ntpServers = stringList(c, "ntpServers", raw.ntpServers);
    ntpServers.forEach((s, i) => {
        if (!isIpv4(s) && !DNS_NAME.test(s)) c.add(`ntpServers[${i}] "${s}" is neither an IPv4 address nor a DNS name.`);
    });
    const sysctl = parseSysctl(c, raw.sysctl);
    const demo = parseDemo(c, raw.demo);
    const manifestsDir = str(c, "manifestsDir", raw.manifestsDir);
    const joinTokenTtl = parseDuration(c, "joinTokenTtl", raw.joinTokenTtl, "1h", 24 * 3600);
    const upgradeBatchSize = int(c, "upgradeBatchSize", raw.upgradeBatchSize, 1, 1, 1000, "give how many workers may be drained and upgraded at once, at least 1.");
    const certificateRenewal = bool(c, "certificateRenewal", raw.certificateRenewal, false);
    const etcdBackup = parseEtcdBackup(c, raw.etcdBackup);

    if (c.problems.length > 0 || !version) throw new ConfigError(c.problems);
    return {
        hosts,
        sshKey,
        ...(bastion ? { bastion } : {}),
        kubernetesVersion: version,
        podCidr,
        serviceCidr,
        controlPlaneEndpoint,
        ha,
        containerRuntime,
        cni: { plugin, version: cniVersion, source: cniSource, ...(cniRegistry ? { registry: cniRegistry.replace(/\/$/, "") } : {}) },
        kubeProxyMode,
        imageRepository,
        registryMirrors,
        packageRepos,
        firewall,
        timeSync,
        ntpServers,
        sysctl,
        demo,
        ...(manifestsDir ? { manifestsDir } : {}),
        joinTokenTtl,
        upgradeBatchSize,
        certificateRenewal,
        etcdBackup,
    };
}
