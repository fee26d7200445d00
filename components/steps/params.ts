// The parameters of every remote step, built from the spec; registry.ts says which step uses which.
// The program and the host tests both use these, so the tests run the scripts exactly as `pulumi up` does.
import { ClusterSpec, HostSpec, criSocket, pauseImage } from "../config/spec";
import {
    DEFAULT_CRI_DOCKERD_RPM_URL,
    DEFAULT_CRI_DOCKERD_VERSION,
    KERNEL_MODULES,
    basePackages,
    firewallRules,
    hostPortsToCheck,
    renderContainerdConfig,
    renderHaproxyCfg,
    renderHaproxyCheckScript,
    renderKeepalivedConf,
    renderKubeVipManifest,
    renderDockerDaemonJson,
    renderHostsEntries,
    renderInitConfig,
    renderJoinConfig,
    renderKubernetesRepo,
    renderSysctl,
} from "../render";

export type Params = Record<string, string>;

/**
 * Does init upload the control-plane certificates (encrypted with the certificate key) so more
 * control planes can join? Yes whenever an endpoint load balancer is configured, even with one
 * control plane today, so control planes can be added later without re-initialising.
 */
export function uploadsCerts(spec: ClusterSpec): boolean {
    return spec.ha.loadBalancer !== "none" || spec.hosts.filter((h) => h.role === "control-plane").length > 1;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Minimum resources per role (kubeadm preflight: control planes need 2 CPUs and 1700 MB). */
export const MIN_RESOURCES = {
    "control-plane": { cpus: 2, memoryMb: 1700 },
    worker: { cpus: 1, memoryMb: 1000 },
} as const;

export function factsParams(spec: ClusterSpec, host: HostSpec): Params {
    const min = MIN_RESOURCES[host.role];
    return {
        KC_ADDRESS: host.address,
        KC_ROLE: host.role,
        KC_MIN_CPUS: String(min.cpus),
        KC_MIN_MEMORY_MB: String(min.memoryMb),
        KC_CHECK_PORTS: hostPortsToCheck(spec, host).join(" "),
        KC_KUBE_MINOR: String(spec.kubernetesVersion.minor),
        KC_KUBE_VERSION: spec.kubernetesVersion.full,
    };
}

export function prepSystemParams(spec: ClusterSpec, host: HostSpec): Params {
    return {
        KC_HOSTNAME: host.name,
        KC_HOSTS_ENTRIES_B64: b64(renderHostsEntries(spec, host)),
        KC_SYSCTL_B64: b64(renderSysctl(spec)),
        KC_MODULES: KERNEL_MODULES.join(" "),
        KC_PACKAGES: basePackages(spec).join(" "),
        KC_CENTOS7_VAULT_URL: spec.packageRepos.centos7Vault,
    };
}

export function prepFirewallParams(spec: ClusterSpec, host: HostSpec): Params {
    const rules = firewallRules(spec, host);
    return {
        KC_FIREWALL: spec.firewall,
        KC_TCP_PORTS: rules.tcp.join(" "),
        KC_UDP_PORTS: rules.udp.join(" "),
        KC_PROTOCOLS: rules.protocols.join(" "),
        KC_TRUSTED_CIDRS: rules.trustedCidrs.join(" "),
    };
}

export function prepTimesyncParams(spec: ClusterSpec): Params {
    return {
        KC_TIME_SYNC: String(spec.timeSync),
        KC_NTP_SERVERS: spec.ntpServers.join(" "),
    };
}

/** The runtime step's parameters for the configured container runtime (runtime-containerd or runtime-docker). */
export function runtimeParams(spec: ClusterSpec): Params {
    if (spec.containerRuntime === "containerd") {
        const sandboxImage = pauseImage(spec);
        return {
            KC_DOCKER_REPO_URL: spec.packageRepos.docker,
            KC_CONTAINERD_CONFIG_V1_B64: b64(renderContainerdConfig(1, { sandboxImage })),
            KC_CONTAINERD_CONFIG_V2_B64: b64(renderContainerdConfig(2, { sandboxImage })),
            KC_REGISTRY_MIRRORS: spec.registryMirrors.join(" "),
            KC_CRI_SOCKET: criSocket(spec.containerRuntime),
        };
    }
    return {
        KC_DOCKER_REPO_URL: spec.packageRepos.docker,
        KC_DOCKER_DAEMON_JSON_B64: b64(renderDockerDaemonJson(spec)),
        KC_CRI_DOCKERD_VERSION: DEFAULT_CRI_DOCKERD_VERSION,
        KC_CRI_DOCKERD_URL: DEFAULT_CRI_DOCKERD_RPM_URL,
        KC_PAUSE_IMAGE: pauseImage(spec),
        KC_CRI_SOCKET: criSocket(spec.containerRuntime),
    };
}

export function kubePackagesParams(spec: ClusterSpec, host: HostSpec): Params {
    return {
        KC_KUBE_VERSION: spec.kubernetesVersion.full,
        KC_KUBE_REPO_B64: b64(renderKubernetesRepo(spec)),
        KC_NODE_IP: host.address,
    };
}

export function controlPlaneInitParams(spec: ClusterSpec, host: HostSpec): Params {
    return {
        KC_KUBEADM_CONFIG_B64: b64(renderInitConfig(spec, host)),
        KC_CRI_SOCKET: criSocket(spec.containerRuntime),
        KC_UPLOAD_CERTS: String(uploadsCerts(spec)),
    };
}

/** Secret: the join configuration of another control plane carries the token and the certificate key. */
export function controlPlaneJoinSecretParams(spec: ClusterSpec, host: HostSpec, token: string, caCertHash: string, certificateKey: string): Params {
    return {
        KC_JOIN_CONFIG_B64: b64(
            renderJoinConfig(spec, host, { apiServerEndpoint: spec.controlPlaneEndpoint, token, caCertHash, certificateKey }),
        ),
    };
}

/** keepalived + haproxy on a control plane; the keepalived.conf (VRRP password) is passed separately as a secret. */
export function lbKeepalivedHaproxyParams(spec: ClusterSpec): Params {
    return {
        KC_HAPROXY_CFG_B64: b64(renderHaproxyCfg(spec)),
        KC_CHECK_SCRIPT_B64: b64(renderHaproxyCheckScript(spec)),
        KC_ENDPOINT_PORT: String(spec.ha.endpointPort),
        KC_VIP: spec.ha.vip ?? "",
    };
}

export function keepalivedSecretParams(spec: ClusterSpec, host: HostSpec, authPass: string, iface: string): Params {
    return { KC_KEEPALIVED_CONF_B64: b64(renderKeepalivedConf(spec, host, { authPass, interface: iface })) };
}

/** kube-vip's static pod; the first control plane's step points it at super-admin.conf until init is done. */
export function lbKubeVipParams(spec: ClusterSpec, host: HostSpec, iface: string, first: boolean): Params {
    return {
        KC_KUBE_VIP_MANIFEST_B64: b64(renderKubeVipManifest(spec, host, { interface: iface, kubeconfigPath: "/etc/kubernetes/admin.conf" })),
        KC_FIRST_CONTROL_PLANE: String(first),
        KC_VIP: spec.ha.vip ?? "",
    };
}

/** Description every token made by this program carries, so the init step can tell them apart. */
export function tokenDescription(host: HostSpec): string {
    return `kubeadm-cluster join of ${host.name}`;
}

export function joinTokenParams(spec: ClusterSpec, worker: HostSpec): Params {
    return { KC_TTL: spec.joinTokenTtl, KC_DESCRIPTION: tokenDescription(worker) };
}

/** Secret: the join configuration carries the token. */
export function workerJoinSecretParams(spec: ClusterSpec, worker: HostSpec, token: string, caCertHash: string): Params {
    return {
        KC_JOIN_CONFIG_B64: b64(
            renderJoinConfig(spec, worker, { apiServerEndpoint: spec.controlPlaneEndpoint, token, caCertHash }),
        ),
    };
}

export function joinParams(spec: ClusterSpec): Params {
    return { KC_CRI_SOCKET: criSocket(spec.containerRuntime) };
}

/** The Node's registration on the control plane: waits until it is registered and Ready; drains and deletes it on delete. */
export function nodeRegistrationParams(node: HostSpec): Params {
    return { KC_NODE: node.name, KC_DRAIN_TIMEOUT: DRAIN_TIMEOUT, KC_READY_TIMEOUT: READY_TIMEOUT };
}

/**
 * The control planes must be Ready (the CNI runs) before workloads go on. Each worker is awaited
 * by its own registration step, so adding a worker leaves this step alone.
 */
export function waitNodesReadyParams(spec: ClusterSpec): Params {
    return { KC_NODES: spec.hosts.filter((h) => h.role === "control-plane").map((h) => h.name).join(" "), KC_TIMEOUT: "10m" };
}

/** How long a drain may take before the step gives up on evicting and reports. */
export const DRAIN_TIMEOUT = "5m";
/** How long a node may take to come back Ready after an upgrade or join. */
export const READY_TIMEOUT = "10m";

export function upgradeControlPlaneParams(spec: ClusterSpec, host: HostSpec): Params {
    return {
        KC_KUBE_VERSION: spec.kubernetesVersion.full,
        KC_KUBE_REPO_B64: b64(renderKubernetesRepo(spec)),
        KC_NODE: host.name,
        KC_CRI_SOCKET: criSocket(spec.containerRuntime),
        KC_DRAIN_TIMEOUT: DRAIN_TIMEOUT,
    };
}

export function upgradeNodeParams(spec: ClusterSpec): Params {
    return { KC_KUBE_VERSION: spec.kubernetesVersion.full, KC_KUBE_REPO_B64: b64(renderKubernetesRepo(spec)) };
}

export function nodeDrainParams(spec: ClusterSpec, node: HostSpec, action: "drain" | "uncordon"): Params {
    return {
        KC_ACTION: action,
        KC_NODE: node.name,
        KC_KUBE_VERSION: spec.kubernetesVersion.full,
        KC_DRAIN_TIMEOUT: DRAIN_TIMEOUT,
        KC_READY_TIMEOUT: READY_TIMEOUT,
    };
}

export function certsParams(spec: ClusterSpec): Params {
    return { KC_RENEW: String(spec.certificateRenewal) };
}

export function etcdBackupParams(spec: ClusterSpec): Params {
    return {
        KC_BACKUP_DIR: spec.etcdBackup.dir,
        KC_SCHEDULE: spec.etcdBackup.schedule,
        KC_RETENTION: String(spec.etcdBackup.retention),
    };
}
