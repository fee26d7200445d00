// Host preparation data: kernel modules, sysctl, base packages, /etc/hosts lines, firewall openings
// and the ports the facts step checks before anything is installed.
import { ClusterSpec, HostSpec } from "../config/spec";
import { MANAGED_HEADER } from "./header";

/** Kernel modules loaded now and at boot: bridge netfilter, overlayfs, IPVS with its schedulers, conntrack. */
export const KERNEL_MODULES: readonly string[] = ["br_netfilter", "overlay", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"];

/** sysctl keys Kubernetes networking cannot work without; spec.sysctl may not change them. */
export const REQUIRED_SYSCTL: Readonly<Record<string, string>> = {
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_forward": "1",
};

/** sysctl defaults spec.sysctl may override. */
export const DEFAULT_SYSCTL: Readonly<Record<string, string>> = {
    "vm.swappiness": "0",
};

/**
 * The sysctl file: the required keys, the defaults (an override in spec.sysctl replaces the value in
 * place), then the remaining spec.sysctl keys sorted. Throws if spec.sysctl changes a required key.
 */
export function renderSysctl(spec: ClusterSpec): string {
    const base: Record<string, string> = { ...REQUIRED_SYSCTL, ...DEFAULT_SYSCTL };
    const extras: [string, string][] = [];
    for (const key of Object.keys(spec.sysctl).sort()) {
        const value = spec.sysctl[key];
        if (key in REQUIRED_SYSCTL) {
            if (value !== REQUIRED_SYSCTL[key]) {
                throw new Error(`sysctl.${key} must stay ${REQUIRED_SYSCTL[key]} for Kubernetes networking (got ${value})`);
            }
        } else if (key in base) {
            base[key] = value;
        } else {
            extras.push([key, value]);
        }
    }
    const lines = [...Object.entries(base), ...extras].map(([k, v]) => `${k} = ${v}`);
    return `${MANAGED_HEADER}\n${lines.join("\n")}\n`;
}

/**
 * Base packages by family-neutral name, sorted. `conntrack` is the command kubeadm's preflight wants;
 * on EL it comes from the `conntrack-tools` RPM (which also provides "conntrack"), and the bash side
 * maps names per OS family. ipvsadm is only wanted with kube-proxy in IPVS mode.
 */
export function basePackages(spec: ClusterSpec): string[] {
    const pkgs = ["conntrack", "ipset", "socat", "ethtool"];
    if (spec.kubeProxyMode === "ipvs") pkgs.push("ipvsadm");
    return pkgs.sort();
}

/**
 * Lines "address name" for the managed block of a host's /etc/hosts: the host itself and every control
 * plane, in spec order. Other workers are left out so adding a worker never touches existing hosts.
 */
export function renderHostsEntries(spec: ClusterSpec, host: HostSpec): string {
    const lines = spec.hosts
        .filter((h) => h.name === host.name || h.role === "control-plane")
        .map((h) => `${h.address} ${h.name}`);
    return `${lines.join("\n")}\n`;
}

/** What the prep-firewall step opens on one host (firewalld port syntax without the "/proto"). */
export interface FirewallRules {
    /** TCP ports and ranges ("6443", "2379-2380"). */
    tcp: string[];
    /** UDP ports and ranges. */
    udp: string[];
    /** IP protocols by number ("4" is IP-in-IP; the name "ipip" in /etc/protocols is 94, so never use it). */
    protocols: string[];
    /** Source CIDRs trusted outright: pod and service networks. */
    trustedCidrs: string[];
}

/** The NodePort range, opened on every node because a NodePort answers on all of them. */
export const NODE_PORT_RANGE = "30000-32767";

/**
 * Firewall openings for one host (kubernetes.io "Ports and Protocols" plus the CNI's). Calico: BGP 179,
 * Typha 5473, VXLAN 4789/udp (VXLANCrossSubnet), IP-in-IP (protocol 4, kept so switching the pool to
 * IPIP keeps working). WireGuard 51820-51821/udp is left closed: it is only used when Calico
 * encryption is turned on, which this program does not do. Flannel: VXLAN 8472/udp.
 * Control planes behind keepalived + haproxy: the endpoint port and VRRP (protocol 112, unicast or
 * not; a blocked VRRP makes every node take the VIP). kube-vip: the endpoint port if it is not 6443.
 */
export function firewallRules(spec: ClusterSpec, host: HostSpec): FirewallRules {
    const tcp = host.role === "control-plane" ? ["6443", "2379-2380", "10250", "10257", "10259"] : ["10250"];
    tcp.push(NODE_PORT_RANGE);
    const udp: string[] = [];
    const protocols: string[] = [];
    if (spec.cni.plugin === "calico") {
        tcp.push("179", "5473");
        udp.push("4789");
        protocols.push("4");
    } else {
        udp.push("8472");
    }
    if (host.role === "control-plane") {
        const port = String(spec.ha.endpointPort);
        if (spec.ha.loadBalancer === "keepalived-haproxy") {
            if (!tcp.includes(port)) tcp.push(port);
            protocols.push("112");
        } else if (spec.ha.loadBalancer === "kube-vip" && !tcp.includes(port)) {
            tcp.push(port);
        }
    }
    return { tcp, udp, protocols, trustedCidrs: [spec.podCidr, spec.serviceCidr] };
}

/**
 * Ports that must be free before install ("tcp:6443" ...), for the facts step's KC_CHECK_PORTS.
 * Control plane: API server, etcd, kubelet, controller-manager, scheduler; worker: kubelet.
 */
export function hostPortsToCheck(_spec: ClusterSpec, host: HostSpec): string[] {
    const ports = host.role === "control-plane" ? [6443, 2379, 2380, 10250, 10257, 10259] : [10250];
    return ports.map((p) => `tcp:${p}`);
}
