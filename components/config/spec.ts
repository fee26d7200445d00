// The typed cluster spec: what the rest of the program builds from.
// Produced only by parseClusterConfig (validate.ts), so every value here is already checked.

export type Role = "control-plane" | "worker";
export type ContainerRuntime = "containerd" | "docker";
export type CniPlugin = "calico" | "flannel";
export type KubeProxyMode = "ipvs" | "iptables";
export type FirewallPolicy = "open-ports" | "disable";
/** What answers on controlPlaneEndpoint when there are several control planes. */
export type LoadBalancer = "keepalived-haproxy" | "kube-vip" | "external" | "none";

export interface HaSpec {
    /** none: one control plane, the endpoint is its own address (or a DNS name for it). */
    loadBalancer: LoadBalancer;
    /** The virtual IP, when controlPlaneEndpoint's host is an IPv4 address and a VIP is managed here. */
    vip?: string;
    /** Port of controlPlaneEndpoint (haproxy listens there on every control plane; 8443 by default because the API server holds 6443). */
    endpointPort: number;
    /** VRRP virtual_router_id (keepalived); unique per L2 segment. kube-vip elects its leader through a Lease instead. */
    virtualRouterId: number;
}

export interface HostSpec {
    /** Node name and hostname, e.g. master01. */
    name: string;
    /** IPv4 address the other hosts and the SSH client reach this host on. */
    address: string;
    role: Role;
    /** SSH user; anything but root runs every step through `sudo -n`. */
    user: string;
    /** SSH port. */
    port: number;
    /** Expected SSH host public key ("ssh-ed25519 AAAA..."); when unset, host keys are not checked. */
    hostKey?: string;
}

export interface BastionSpec {
    address: string;
    port: number;
    user: string;
    hostKey?: string;
}

/** Where the SSH private key comes from. The value itself never lives in the spec. */
export type SshKeySource = { kind: "inline" } | { kind: "file"; path: string };

export interface KubernetesVersion {
    /** "1.33.5" */
    full: string;
    major: number;
    minor: number;
    patch: number;
    /** "1.33" */
    minorString: string;
}

export interface DemoSpec {
    enabled: boolean;
    replicas: number;
    nodePort: number;
    image: string;
}

export interface PackageRepos {
    /** Kubernetes RPM repo base URL; "{minor}" is replaced by e.g. "1.33". */
    kubernetes: string;
    /** Docker CE repo root (the directory holding `$releasever/$basearch/stable`). */
    docker: string;
    /** Where CentOS 7's frozen repos live now that mirrorlist.centos.org is gone. */
    centos7Vault: string;
}

export interface CniSpec {
    plugin: CniPlugin;
    /** Pinned plugin version, e.g. "v3.31.7" for Calico or "v0.27.4" for Flannel. */
    version: string;
    /**
     * Calico: base URL of the operator manifests ("{version}" replaced).
     * Flannel: Helm chart repository URL.
     */
    source: string;
    /** Optional image registry override for the CNI images (mirrors). */
    registry?: string;
}

export interface ClusterSpec {
    hosts: HostSpec[];
    sshKey: SshKeySource;
    bastion?: BastionSpec;
    kubernetesVersion: KubernetesVersion;
    podCidr: string;
    serviceCidr: string;
    /** host:port every node and the kubeconfig use to reach the API server. */
    controlPlaneEndpoint: string;
    /** How controlPlaneEndpoint is served. */
    ha: HaSpec;
    containerRuntime: ContainerRuntime;
    cni: CniSpec;
    kubeProxyMode: KubeProxyMode;
    imageRepository: string;
    /** Registry mirrors for docker.io pulls (containerd hosts.toml / docker registry-mirrors). */
    registryMirrors: string[];
    packageRepos: PackageRepos;
    firewall: FirewallPolicy;
    timeSync: boolean;
    /** NTP servers for chrony; empty keeps the distribution's pool. */
    ntpServers: string[];
    /** Extra sysctl keys on top of the required ones. */
    sysctl: Record<string, string>;
    demo: DemoSpec;
    /** Directory of the user's own Kubernetes YAML, applied after the CNI. */
    manifestsDir?: string;
    /** TTL of each short-lived join token, kubeadm duration syntax ("1h", "30m"). */
    joinTokenTtl: string;
    /** Workers upgraded at a time (drained together) when kubernetesVersion changes. */
    upgradeBatchSize: number;
    /** Renew the control plane's certificates (kubeadm certs renew all) on the next `pulumi up`. */
    certificateRenewal: boolean;
    etcdBackup: EtcdBackupSpec;
}

export interface EtcdBackupSpec {
    enabled: boolean;
    /** Directory on the control plane that keeps the snapshots. */
    dir: string;
    /** systemd OnCalendar expression. */
    schedule: string;
    /** Snapshots kept. */
    retention: number;
}

/** The container runtime's CRI socket, as kubeadm wants it. */
export function criSocket(runtime: ContainerRuntime): string {
    return runtime === "containerd"
        ? "unix:///var/run/containerd/containerd.sock"
        : "unix:///var/run/cri-dockerd.sock";
}

export function controlPlanes(spec: ClusterSpec): HostSpec[] {
    return spec.hosts.filter((h) => h.role === "control-plane");
}

export function workers(spec: ClusterSpec): HostSpec[] {
    return spec.hosts.filter((h) => h.role === "worker");
}

/** The pause image kubeadm's version expects, from the configured image repository. */
export function pauseImage(spec: ClusterSpec): string {
    return `${spec.imageRepository}/pause:${pauseVersion(spec.kubernetesVersion.minor)}`;
}

/** Pause image tag that `kubeadm config images list` prints for each supported minor. */
export function pauseVersion(minor: number): string {
    if (minor <= 30) return "3.9";
    if (minor <= 33) return "3.10";
    return "3.10.1";
}
