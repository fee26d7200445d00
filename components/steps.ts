// The parameters of every remote step, built from the spec. The program and the host tests
// both use these, so the tests run the scripts exactly as `pulumi up` does.
import { ClusterSpec, HostSpec, criSocket, pauseImage } from "./config/spec";
import {
    DEFAULT_CRI_DOCKERD_RPM_URL,
    DEFAULT_CRI_DOCKERD_VERSION,
    KERNEL_MODULES,
    basePackages,
    firewallRules,
    hostPortsToCheck,
    renderContainerdConfig,
    renderDockerDaemonJson,
    renderHostsEntries,
    renderInitConfig,
    renderJoinConfig,
    renderKubernetesRepo,
    renderSysctl,
} from "./render";

export type Params = Record<string, string>;

/** Parameters that carry secrets; the remote step refuses any other name as a secret, so the plan and logs can mask by name. */
export const SECRET_PARAMS = ["KC_TOKEN", "KC_JOIN_CONFIG_B64"] as const;

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Minimum resources per role (kubeadm preflight: control planes need 2 CPUs and 1700 MB). */
export const MIN_RESOURCES = {
    "control-plane": { cpus: 2, memoryMb: 1700 },
    worker: { cpus: 1, memoryMb: 1000 },
} as const;

export function factsParams(spec: ClusterSpec, host: HostSpec): Params {
    const min = MIN_RESOURCES[host.role];
    return {
        KC_ROLE: host.role,
        KC_MIN_CPUS: String(min.cpus),
        KC_MIN_MEMORY_MB: String(min.memoryMb),
        KC_CHECK_PORTS: hostPortsToCheck(spec, host).join(" "),
        KC_KUBE_MINOR: String(spec.kubernetesVersion.minor),
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

/** The runtime step's script name and parameters for the configured container runtime. */
export function runtimeStep(spec: ClusterSpec): { step: string; params: Params } {
    if (spec.containerRuntime === "containerd") {
        const sandboxImage = pauseImage(spec);
        return {
            step: "runtime-containerd",
            params: {
                KC_DOCKER_REPO_URL: spec.packageRepos.docker,
                KC_CONTAINERD_CONFIG_V1_B64: b64(renderContainerdConfig(1, { sandboxImage })),
                KC_CONTAINERD_CONFIG_V2_B64: b64(renderContainerdConfig(2, { sandboxImage })),
                KC_REGISTRY_MIRRORS: spec.registryMirrors.join(" "),
                KC_CRI_SOCKET: criSocket(spec.containerRuntime),
            },
        };
    }
    return {
        step: "runtime-docker",
        params: {
            KC_DOCKER_REPO_URL: spec.packageRepos.docker,
            KC_DOCKER_DAEMON_JSON_B64: b64(renderDockerDaemonJson(spec)),
            KC_CRI_DOCKERD_VERSION: DEFAULT_CRI_DOCKERD_VERSION,
            KC_CRI_DOCKERD_URL: DEFAULT_CRI_DOCKERD_RPM_URL,
            KC_PAUSE_IMAGE: pauseImage(spec),
            KC_CRI_SOCKET: criSocket(spec.containerRuntime),
        },
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

export function workerJoinParams(spec: ClusterSpec): Params {
    return { KC_CRI_SOCKET: criSocket(spec.containerRuntime) };
}

export function nodeRemoveParams(node: HostSpec): Params {
    return { KC_NODE: node.name, KC_DRAIN_TIMEOUT: "5m" };
}

export function waitNodesReadyParams(spec: ClusterSpec): Params {
    return { KC_NODES: spec.hosts.map((h) => h.name).join(" "), KC_TIMEOUT: "10m" };
}
