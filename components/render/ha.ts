// What answers on controlPlaneEndpoint when several control planes share it: haproxy on every
// control plane (forwarding the endpoint port to every API server) with keepalived holding the
// virtual IP by VRRP, or kube-vip holding it as a static pod. All of it is plain text rendered here;
// the lb-* steps write it to the hosts.
import * as yaml from "js-yaml";
import { ClusterSpec, HostSpec, controlPlanes } from "../config/spec";
import { MANAGED_HEADER } from "./header";
import { API_SERVER_PORT } from "./kubeadm";

/** kube-vip release run unless the image is re-hosted (github.com/kube-vip/kube-vip/releases/tag/v1.2.4). */
export const DEFAULT_KUBE_VIP_VERSION = "v1.2.4";

/** Where keepalived runs the haproxy check from (keepalived's script security wants it root-owned). */
export const HAPROXY_CHECK_SCRIPT_PATH = "/etc/keepalived/check_haproxy.sh";

/** The kubeconfig kubeadm writes on every control plane; bound to cluster-admin from 1.29 on. */
export const ADMIN_KUBECONFIG_PATH = "/etc/kubernetes/admin.conf";

/** The break-glass kubeconfig (system:masters) that `kubeadm init` writes on the first control plane from 1.29 on. */
export const SUPER_ADMIN_KUBECONFIG_PATH = "/etc/kubernetes/super-admin.conf";

/** keepalived reads only the first 8 characters of a PASS authentication password. */
const VRRP_PASS_MAX = 8;

/** Priority of the first control plane; each later one gets 10 less. */
const TOP_PRIORITY = 150;
const PRIORITY_STEP = 10;

/** Linux interface names: at most 15 characters, nothing that would split a config token. */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** The control planes, in spec order; throws if there are none. */
function requireControlPlanes(spec: ClusterSpec, fn: string): HostSpec[] {
    const cps = controlPlanes(spec);
    if (cps.length === 0) throw new Error(`${fn}: hosts has no control plane to put behind the endpoint`);
    return cps;
}

/** The spec's virtual IP; throws if the spec has none. */
function requireVip(spec: ClusterSpec, fn: string): string {
    if (!spec.ha.vip) {
        throw new Error(`${fn}: ha.vip is not set; controlPlaneEndpoint must be the virtual IP with loadBalancer "${spec.ha.loadBalancer}"`);
    }
    return spec.ha.vip;
}

/** The host's index among the control planes; throws if it is not one. */
function controlPlaneIndex(cps: HostSpec[], host: HostSpec, fn: string): number {
    const i = cps.findIndex((h) => h.name === host.name);
    if (i < 0 || host.role !== "control-plane") {
        throw new Error(`${fn}: host ${host.name} has role ${host.role}; only control planes hold the virtual IP`);
    }
    return i;
}

/** Throws unless iface is a plausible Linux interface name. */
function requireInterface(iface: string, host: HostSpec, fn: string): string {
    if (!INTERFACE_NAME.test(iface)) {
        throw new Error(`${fn}: interface "${iface}" of ${host.name} is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . -)`);
    }
    return iface;
}

/**
 * haproxy.cfg, the same on every control plane: TCP from *:endpointPort to each control plane's API
 * server on 6443, checked with GET /readyz over TLS. Only directives haproxy 1.5 (CentOS 7) parses;
 * no log target (alerts reach the journal on stderr; syslog would need a socket in the chroot).
 */
export function renderHaproxyCfg(spec: ClusterSpec): string {
    const fn = "renderHaproxyCfg";
    const cps = requireControlPlanes(spec, fn);
    const port = spec.ha.endpointPort;
    if (port === API_SERVER_PORT) {
        throw new Error(`${fn}: haproxy cannot listen on ${API_SERVER_PORT}, which the API server holds on every control plane; use another endpoint port, e.g. 8443`);
    }
    return [
        MANAGED_HEADER,
        `# The Kubernetes API on *:${port} of every control plane, forwarded to each API server on ${API_SERVER_PORT}.`,
        "global",
        "    user haproxy",
        "    group haproxy",
        "    chroot /var/lib/haproxy",
        "",
        "defaults",
        "    mode tcp",
        "    option dontlognull",
        "    retries 3",
        // The last retry goes to another API server, so a server that just died costs no failed connection.
        "    option redispatch",
        "    timeout connect 5s",
        "    # long-lived watch streams",
        "    timeout client 1h",
        "    timeout server 1h",
        "",
        "frontend kube-apiserver",
        `    bind *:${port}`,
        "    mode tcp",
        "    default_backend kube-apiserver",
        "",
        "backend kube-apiserver",
        "    mode tcp",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        "    balance roundrobin",
        "    default-server inter 3s fall 3 rise 2",
        ...cps.map((h) => `    server ${h.name} ${h.address}:${API_SERVER_PORT} check check-ssl verify none`),
        "",
    ].join("\n");
}

/** What keepalived.conf needs beyond the spec: facts and a secret only known at run time. */
export interface KeepalivedOptions {
    /** VRRP PASS password: 1-8 characters (keepalived ignores the rest), no whitespace, quotes, "#" or "!". */
    authPass: string;
    /** The interface carrying the host's address (detected on the host by the facts step). */
    interface: string;
}

/**
 * keepalived.conf for one control plane: all BACKUP, priority 150 for the first control plane and
 * 10 less for each next one (no nopreempt: the VIP returns to the first when it recovers), unicast
 * VRRP (multicast is filtered on many hypervisors and clouds), the VIP as a /32.
 * The output holds the VRRP password: the caller keeps it secret.
 */
export function renderKeepalivedConf(spec: ClusterSpec, host: HostSpec, opts: KeepalivedOptions): string {
    const fn = "renderKeepalivedConf";
    const cps = requireControlPlanes(spec, fn);
    const index = controlPlaneIndex(cps, host, fn);
    const vip = requireVip(spec, fn);
    const iface = requireInterface(opts.interface, host, fn);
    // The messages never include the password.
    if (opts.authPass.length === 0 || opts.authPass.length > VRRP_PASS_MAX) {
        throw new Error(`${fn}: the VRRP password for ${host.name} has ${opts.authPass.length} characters; keepalived uses 1 to ${VRRP_PASS_MAX}`);
    }
    if (/[\s"'#!\\]/.test(opts.authPass)) {
        throw new Error(`${fn}: the VRRP password for ${host.name} contains whitespace, a quote, a backslash, "#" or "!", which keepalived's parser splits or reads as a comment`);
    }
    const lowest = TOP_PRIORITY - PRIORITY_STEP * (cps.length - 1);
    if (lowest < 1) {
        throw new Error(`${fn}: ${cps.length} control planes leave no VRRP priority for the last ones (at most ${Math.floor((TOP_PRIORITY - 1) / PRIORITY_STEP) + 1})`);
    }
    const priority = TOP_PRIORITY - PRIORITY_STEP * index;
    // More than the spread of the priorities (-30 for three): a node whose haproxy is down ranks
    // below every healthy one, however many fail.
    const weight = -PRIORITY_STEP * cps.length;
    const peers = cps.filter((h) => h.name !== host.name).map((h) => h.address);
    return [
        MANAGED_HEADER,
        `# VRRP for the Kubernetes API virtual IP ${vip} on ${host.name}.`,
        "global_defs {",
        `    router_id ${host.name}`,
        "    enable_script_security",
        "    script_user root",
        "}",
        "",
        "vrrp_script chk_haproxy {",
        `    script "${HAPROXY_CHECK_SCRIPT_PATH}"`,
        "    interval 2",
        `    weight ${weight}`,
        "    fall 2",
        "    rise 2",
        "}",
        "",
        "vrrp_instance VI_KUBE_API {",
        "    state BACKUP",
        `    interface ${iface}`,
        `    virtual_router_id ${spec.ha.virtualRouterId}`,
        `    priority ${priority}`,
        "    advert_int 1",
        "    authentication {",
        "        auth_type PASS",
        `        auth_pass ${opts.authPass}`,
        "    }",
        // A lone control plane has no one to talk to: keepalived wants no unicast block then.
        ...(peers.length === 0
            ? []
            : [`    unicast_src_ip ${host.address}`, "    unicast_peer {", ...peers.map((a) => `        ${a}`), "    }"]),
        "    virtual_ipaddress {",
        // /32, not the subnet's prefix: the VIP never becomes the interface's primary address for
        // the subnet, so the host's own address stays the source of its traffic and removing the
        // VIP takes no secondary address with it; gratuitous ARP works the same with any prefix.
        `        ${vip}/32 dev ${iface}`,
        "    }",
        "    track_script {",
        "        chk_haproxy",
        "    }",
        "}",
        "",
    ].join("\n");
}

/**
 * /etc/keepalived/check_haproxy.sh: fails when haproxy is not active or nothing listens on the
 * endpoint port, which demotes this node. Not the API servers: before init none is up, and the VIP must stay.
 */
export function renderHaproxyCheckScript(spec: ClusterSpec): string {
    const port = spec.ha.endpointPort;
    return [
        "#!/bin/bash",
        MANAGED_HEADER,
        `# keepalived's chk_haproxy: exits non-zero when haproxy is not active or nothing listens on tcp port ${port}.`,
        "set -euo pipefail",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "",
        "if ! systemctl is-active --quiet haproxy; then",
        '    echo "haproxy is not active" >&2',
        "    exit 1",
        "fi",
        "# No -H (no header) option: CentOS 7's ss lacks it; listening sockets show as LISTEN.",
        `listeners=$(ss -ltn "sport = :${port}")`,
        'if [[ $listeners != *LISTEN* ]]; then',
        `    echo "nothing listens on tcp port ${port}" >&2`,
        "    exit 1",
        "fi",
        "",
    ].join("\n");
}

/** ghcr.io/kube-vip/kube-vip with the default registry.k8s.io, else `<imageRepository>/kube-vip` (mirrors re-host it). */
export function kubeVipImage(spec: ClusterSpec): string {
    if (spec.imageRepository === "registry.k8s.io") return `ghcr.io/kube-vip/kube-vip:${DEFAULT_KUBE_VIP_VERSION}`;
    return `${spec.imageRepository.replace(/\/+$/, "")}/kube-vip:${DEFAULT_KUBE_VIP_VERSION}`;
}

/** kube-vip's kubeconfig: super-admin.conf on the first control plane from 1.29 on (during init), admin.conf elsewhere. */
export function kubeVipKubeconfigPath(spec: ClusterSpec, first: boolean): string {
    return first && spec.kubernetesVersion.minor >= 29 ? SUPER_ADMIN_KUBECONFIG_PATH : ADMIN_KUBECONFIG_PATH;
}

/** What the kube-vip manifest needs beyond the spec. */
export interface KubeVipOptions {
    /** The interface carrying the host's address (detected on the host by the facts step). */
    interface: string;
    /** Host file mounted as /etc/kubernetes/admin.conf in the pod (see kubeVipKubeconfigPath). */
    kubeconfigPath: string;
}

/**
 * kube-vip's static pod for one control plane: ARP mode, leader election on the plndr-cp-lock Lease,
 * the VIP as a /32. kube-vip moves only the address, so the endpoint port must be the API server's
 * 6443. opts.kubeconfigPath: with kubeadm ≥ 1.29, `/etc/kubernetes/super-admin.conf` on the first
 * control plane while `kubeadm init` runs (admin.conf gets its rights only at the end of init;
 * kube-vip issue #684), admin.conf on the others and on the first one after init.
 */
export function renderKubeVipManifest(spec: ClusterSpec, host: HostSpec, opts: KubeVipOptions): string {
    const fn = "renderKubeVipManifest";
    const cps = requireControlPlanes(spec, fn);
    controlPlaneIndex(cps, host, fn);
    const vip = requireVip(spec, fn);
    const iface = requireInterface(opts.interface, host, fn);
    if (spec.ha.endpointPort !== API_SERVER_PORT) {
        throw new Error(
            `${fn}: kube-vip moves only the address, so clients reach the API server itself on ${API_SERVER_PORT}; controlPlaneEndpoint must use port ${API_SERVER_PORT} (it uses ${spec.ha.endpointPort})`,
        );
    }
    if (!opts.kubeconfigPath.startsWith("/")) {
        throw new Error(`${fn}: kubeconfigPath "${opts.kubeconfigPath}" for ${host.name} must be an absolute path on the host`);
    }
    // No VRRP router id: ARP mode elects through the Lease, so ha.virtualRouterId is not used.
    const env: Record<string, string> = {
        vip_arp: "true",
        port: String(API_SERVER_PORT),
        vip_nodename: host.name,
        vip_interface: iface,
        // kube-vip ≥ 0.9 reads the prefix from vip_subnet (vip_cidr is no longer read).
        vip_subnet: "32",
        cp_enable: "true",
        cp_namespace: "kube-system",
        vip_leaderelection: "true",
        vip_leasename: "plndr-cp-lock",
        vip_leaseduration: "5",
        vip_renewdeadline: "3",
        vip_retryperiod: "1",
        address: vip,
    };
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "kube-vip", namespace: "kube-system" },
        spec: {
            containers: [
                {
                    name: "kube-vip",
                    image: kubeVipImage(spec),
                    imagePullPolicy: "IfNotPresent",
                    args: ["manager"],
                    env: Object.entries(env).map(([name, value]) => ({ name, value })),
                    securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
                    volumeMounts: [{ name: "kubeconfig", mountPath: ADMIN_KUBECONFIG_PATH, readOnly: true }],
                },
            ],
            // kube-vip reaches its own node's API server as https://kubernetes:<port> (the VIP is
            // not up before it is); "kubernetes" is in every API server certificate.
            hostAliases: [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }],
            hostNetwork: true,
            // As kubeadm's own static pods: never evicted under node pressure.
            priority: 2000001000,
            priorityClassName: "system-node-critical",
            // File: the pod waits for kubeadm to write the kubeconfig, instead of the kubelet
            // creating a directory in its place.
            volumes: [{ name: "kubeconfig", hostPath: { path: opts.kubeconfigPath, type: "File" } }],
        },
    };
    return `${MANAGED_HEADER}\n${yaml.dump(pod, { lineWidth: -1, noRefs: true })}`;
}
