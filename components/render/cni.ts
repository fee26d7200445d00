// The pod network: Calico through the Tigera operator (manifests + an Installation), or Flannel
// through its Helm chart.
import { ClusterSpec } from "../config/spec";

/** Calico release installed unless the spec pins another. */
export const DEFAULT_CALICO_VERSION = "v3.31.7";

/** Where Calico's operator manifests live; "{version}" is replaced by the Calico version. */
export const DEFAULT_CALICO_SOURCE = "https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests";

/** Flannel Helm chart version installed unless the spec pins another (chart versions carry the "v"). */
export const DEFAULT_FLANNEL_VERSION = "v0.28.9";

/** The Flannel Helm chart repository. */
export const DEFAULT_FLANNEL_CHART_REPO = "https://flannel-io.github.io/flannel/";

/** Name of the Calico IP pool the Installation creates. */
export const CALICO_IPV4_POOL_NAME = "default-ipv4-ippool";

/** The operator manifests to apply, in order: the CRDs, then the operator itself. */
export function calicoManifestUrls(spec: ClusterSpec): string[] {
    const base = spec.cni.source.replace(/\{version\}/g, spec.cni.version).replace(/\/+$/, "");
    return [`${base}/operator-crds.yaml`, `${base}/tigera-operator.yaml`];
}

/** One IP pool of the Installation. */
export interface CalicoIpPool {
    name: string;
    cidr: string;
    encapsulation: "IPIPCrossSubnet" | "IPIP" | "VXLAN" | "VXLANCrossSubnet" | "None";
    natOutgoing: "Enabled" | "Disabled";
    blockSize: number;
    nodeSelector: string;
}

/** The operator.tigera.io/v1 Installation named "default", as far as this program sets it. */
export interface CalicoInstallation {
    apiVersion: "operator.tigera.io/v1";
    kind: "Installation";
    metadata: { name: "default" };
    spec: {
        calicoNetwork: {
            ipPools: CalicoIpPool[];
            nodeAddressAutodetectionV4: { kubernetes: "NodeInternalIP" };
        };
        cni: { type: "Calico" };
        registry?: string;
    };
}

/** A registry host/prefix with exactly one trailing "/" (the form Installation.spec.registry wants). */
export function registryWithSlash(registry: string): string {
    return `${registry.replace(/\/+$/, "")}/`;
}

/**
 * The Calico Installation: one IPv4 pool over the pod CIDR (VXLAN across subnets, NAT out, /26
 * blocks), Calico CNI, and each node's address taken from its Node InternalIP, which the kubelet's
 * node-ip pins to the configured host address (Calico's default "first found" interface picks the
 * wrong NIC on multi-NIC VMs).
 */
export function calicoInstallation(spec: ClusterSpec): CalicoInstallation {
    const install: CalicoInstallation = {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
            calicoNetwork: {
                ipPools: [
                    {
                        name: CALICO_IPV4_POOL_NAME,
                        cidr: spec.podCidr,
                        encapsulation: "VXLANCrossSubnet",
                        natOutgoing: "Enabled",
                        blockSize: 26,
                        nodeSelector: "all()",
                    },
                ],
                nodeAddressAutodetectionV4: { kubernetes: "NodeInternalIP" },
            },
            cni: { type: "Calico" },
        },
    };
    if (spec.cni.registry) install.spec.registry = registryWithSlash(spec.cni.registry);
    return install;
}

/** Values for the flannel Helm chart, as far as this program sets them. */
export interface FlannelChartValues {
    podCidr: string;
    flannel: {
        backend: "vxlan";
        image?: { repository: string };
        /** Chart layout from v0.28: flannel.flannel_cni.image. */
        flannel_cni?: { image: { repository: string } };
        /** Chart layout up to v0.27: flannel.image_cni. */
        image_cni?: { repository: string };
    };
}

/**
 * Flannel chart values: the pod CIDR and the VXLAN backend. With spec.cni.registry set, both images
 * are pulled from that registry under their ghcr.io paths (flannel-io/flannel,
 * flannel-io/flannel-cni-plugin); only repositories are overridden, so the chart's tags stay. The CNI
 * plugin image is set under both the old (image_cni) and new (flannel_cni.image) keys so any chart
 * version picks it up; the chart has no values schema, so the unused key is ignored.
 */
export function flannelChartValues(spec: ClusterSpec): FlannelChartValues {
    const values: FlannelChartValues = { podCidr: spec.podCidr, flannel: { backend: "vxlan" } };
    if (spec.cni.registry) {
        const registry = spec.cni.registry.replace(/\/+$/, "");
        const cniPlugin = `${registry}/flannel-io/flannel-cni-plugin`;
        values.flannel.image = { repository: `${registry}/flannel-io/flannel` };
        values.flannel.flannel_cni = { image: { repository: cniPlugin } };
        values.flannel.image_cni = { repository: cniPlugin };
    }
    return values;
}
