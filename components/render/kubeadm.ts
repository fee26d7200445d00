// kubeadm configuration files: `kubeadm init --config` on the first control plane and
// `kubeadm join --config` on each worker. The config API switches from v1beta3 to v1beta4 at 1.31
// (v1beta4 exists from 1.31; v1beta3 is removed after 1.35), and v1beta4 turns every extraArgs map
// into a list of {name, value}.
import * as yaml from "js-yaml";
import { ClusterSpec, HostSpec, criSocket } from "../config/spec";
import { MANAGED_HEADER } from "./header";

/** Port the API server binds to on each control plane. */
export const API_SERVER_PORT = 6443;

/** How long discovery may take on join (kubeadm's own default, written out so both API versions agree). */
export const JOIN_DISCOVERY_TIMEOUT = "5m0s";

/** The kubeadm config API version for a Kubernetes minor: v1beta3 before 1.31, v1beta4 from 1.31. */
export function kubeadmApiVersion(minor: number): string {
    return minor < 31 ? "kubeadm.k8s.io/v1beta3" : "kubeadm.k8s.io/v1beta4";
}

/** Whether this minor gets the v1beta4 config API. */
function isV1beta4(minor: number): boolean {
    return kubeadmApiVersion(minor) === "kubeadm.k8s.io/v1beta4";
}

/** Extra arguments in the shape the API version wants: a map (v1beta3) or a list of {name, value} (v1beta4). */
export function extraArgs(minor: number, args: Record<string, string>): Record<string, string> | { name: string; value: string }[] {
    const names = Object.keys(args).sort();
    if (isV1beta4(minor)) return names.map((name) => ({ name, value: args[name] }));
    return Object.fromEntries(names.map((name) => [name, args[name]]));
}

/** The host part of a "host:port" endpoint ("[::1]:6443" gives "::1"; no port gives the input). */
export function endpointHost(endpoint: string): string {
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(endpoint);
    if (bracketed) return bracketed[1];
    const colons = endpoint.split(":").length - 1;
    if (colons === 1) return endpoint.slice(0, endpoint.lastIndexOf(":"));
    return endpoint;
}

/** Multi-document YAML with the managed-file header; documents are separated by `---`. */
function renderDocuments(docs: object[]): string {
    const body = docs.map((d) => yaml.dump(d, { lineWidth: -1, noRefs: true })).join("---\n");
    return `${MANAGED_HEADER}\n${body}`;
}

/** nodeRegistration shared by init and join: node name, CRI socket and the kubelet's node IP. */
function nodeRegistration(spec: ClusterSpec, host: HostSpec): object {
    return {
        name: host.name,
        criSocket: criSocket(spec.containerRuntime),
        kubeletExtraArgs: extraArgs(spec.kubernetesVersion.minor, { "node-ip": host.address }),
    };
}

/**
 * The `kubeadm init --config` file for the first control plane: InitConfiguration,
 * ClusterConfiguration, KubeletConfiguration and KubeProxyConfiguration.
 * No bootstrapTokens: kubeadm creates its default one itself, and joins use short-lived tokens
 * minted per worker (join-token step).
 */
export function renderInitConfig(spec: ClusterSpec, host: HostSpec): string {
    if (host.role !== "control-plane") {
        throw new Error(`renderInitConfig: host ${host.name} has role ${host.role}; kubeadm init runs on a control plane`);
    }
    const v = spec.kubernetesVersion;
    const apiVersion = kubeadmApiVersion(v.minor);
    const certSANs = [...new Set([host.address, endpointHost(spec.controlPlaneEndpoint)])];

    const init = {
        apiVersion,
        kind: "InitConfiguration",
        localAPIEndpoint: { advertiseAddress: host.address, bindPort: API_SERVER_PORT },
        nodeRegistration: {
            ...nodeRegistration(spec, host),
            // A cluster without workers runs its workloads on the control plane: no NoSchedule taint.
            ...(spec.hosts.some((h) => h.role === "worker") ? {} : { taints: [] }),
        },
    };
    const cluster = {
        apiVersion,
        kind: "ClusterConfiguration",
        clusterName: "kubernetes",
        kubernetesVersion: `v${v.full}`,
        controlPlaneEndpoint: spec.controlPlaneEndpoint,
        imageRepository: spec.imageRepository,
        networking: { podSubnet: spec.podCidr, serviceSubnet: spec.serviceCidr, dnsDomain: "cluster.local" },
        apiServer: { certSANs },
    };
    const kubelet: Record<string, unknown> = {
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        // Must match the runtime's cgroup driver (containerd SystemdCgroup, docker native.cgroupdriver).
        cgroupDriver: "systemd",
    };
    // From 1.35 the kubelet refuses a cgroup v1 host (EL8 and CentOS 7 boot with v1) unless told
    // otherwise; the steps skip kubeadm's matching preflight check there (kubeadm_preflight). Set
    // wherever the field exists (1.31, defaulting to false until 1.35), so that a cluster made at
    // 1.31-1.34 keeps its cgroup v1 nodes through the upgrade to 1.35: kubeadm upgrade writes each
    // node's kubelet configuration from the cluster's copy of this document.
    if (v.minor >= 31) kubelet.failCgroupV1 = false;
    const kubeProxy: Record<string, unknown> = {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        mode: spec.kubeProxyMode,
    };
    // strictARP keeps kube-ipvs0 from answering ARP for service IPs, which MetalLB / kube-vip in L2 mode need.
    if (spec.kubeProxyMode === "ipvs") kubeProxy.ipvs = { strictARP: true };

    return renderDocuments([init, cluster, kubelet, kubeProxy]);
}

/** What a worker needs to join: the API endpoint, a bootstrap token and the CA public-key hash. */
export interface JoinParams {
    /** "host:port" of the API server. */
    apiServerEndpoint: string;
    /** Bootstrap token "[a-z0-9]{6}.[a-z0-9]{16}". */
    token: string;
    /** "sha256:<64 hex>" of the cluster CA's public key. */
    caCertHash: string;
}

const TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CA_HASH = /^sha256:[0-9a-f]{64}$/;

/** A control plane joining also needs the key that decrypts the certificates `kubeadm init --upload-certs` stored. */
export interface ControlPlaneJoinParams extends JoinParams {
    /** 64 hex characters (32 bytes). */
    certificateKey: string;
}

const CERTIFICATE_KEY = /^[0-9a-f]{64}$/;

/**
 * The `kubeadm join --config` file for a worker, or for another control plane when
 * `join.certificateKey` is given. The result contains the bootstrap token (and the certificate
 * key): the caller keeps it secret. Surrounding whitespace on token and hash is trimmed.
 */
export function renderJoinConfig(spec: ClusterSpec, host: HostSpec, join: JoinParams | ControlPlaneJoinParams): string {
    const certificateKey = "certificateKey" in join ? join.certificateKey.trim() : undefined;
    if (host.role === "control-plane" && certificateKey === undefined) {
        throw new Error(`renderJoinConfig: control plane ${host.name} joins with a certificate key; pass certificateKey`);
    }
    if (host.role === "worker" && certificateKey !== undefined) {
        throw new Error(`renderJoinConfig: worker ${host.name} must not get the certificate key`);
    }
    if (certificateKey !== undefined && !CERTIFICATE_KEY.test(certificateKey)) {
        throw new Error(`renderJoinConfig: the certificate key for ${host.name} is not 64 hex digits`);
    }
    const token = join.token.trim();
    const caCertHash = join.caCertHash.trim();
    // The messages never include the values: the token is a secret.
    if (!TOKEN.test(token)) throw new Error(`renderJoinConfig: the join token for ${host.name} is not of the form [a-z0-9]{6}.[a-z0-9]{16}`);
    if (!CA_HASH.test(caCertHash)) throw new Error(`renderJoinConfig: the CA hash for ${host.name} is not of the form sha256:<64 hex digits>`);

    const minor = spec.kubernetesVersion.minor;
    const bootstrapToken = { apiServerEndpoint: join.apiServerEndpoint, token, caCertHashes: [caCertHash] };
    const doc: Record<string, unknown> = {
        apiVersion: kubeadmApiVersion(minor),
        kind: "JoinConfiguration",
        discovery: isV1beta4(minor) ? { bootstrapToken } : { bootstrapToken, timeout: JOIN_DISCOVERY_TIMEOUT },
        nodeRegistration: nodeRegistration(spec, host),
    };
    if (certificateKey !== undefined) {
        doc.controlPlane = { localAPIEndpoint: { advertiseAddress: host.address, bindPort: API_SERVER_PORT }, certificateKey };
    }
    // v1beta4 moved discovery.timeout into the timeouts struct.
    if (isV1beta4(minor)) doc.timeouts = { discovery: JOIN_DISCOVERY_TIMEOUT, tlsBootstrap: JOIN_DISCOVERY_TIMEOUT };
    return renderDocuments([doc]);
}
