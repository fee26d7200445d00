import { renderInitConfig, renderJoinConfig, kubeadmApiVersion, endpointHost, extraArgs } from "../../components/render";
import { makeHaSpec, makeSpec, version } from "../fixtures/spec";
import { docOfKind, parseDocs } from "./helpers";

const join = {
    apiServerEndpoint: "192.168.10.11:6443",
    token: "abcdef.0123456789abcdef",
    caCertHash: `sha256:${"0123456789abcdef".repeat(4)}`,
};

const spec130 = makeSpec({ kubernetesVersion: version("1.30.14") });
const spec133 = makeSpec();
const [master, worker1] = spec133.hosts;

describe("kubeadmApiVersion", () => {
    test("switches to v1beta4 at 1.31", () => {
        expect(kubeadmApiVersion(28)).toBe("kubeadm.k8s.io/v1beta3");
        expect(kubeadmApiVersion(30)).toBe("kubeadm.k8s.io/v1beta3");
        expect(kubeadmApiVersion(31)).toBe("kubeadm.k8s.io/v1beta4");
        expect(kubeadmApiVersion(35)).toBe("kubeadm.k8s.io/v1beta4");
    });
});

describe("endpointHost", () => {
    test.each([
        ["192.168.10.11:6443", "192.168.10.11"],
        ["k8s-api.example.com:6443", "k8s-api.example.com"],
        ["k8s-api.example.com", "k8s-api.example.com"],
        ["[fd00::1]:6443", "fd00::1"],
    ])("%s -> %s", (endpoint, host) => expect(endpointHost(endpoint)).toBe(host));
});

describe("extraArgs", () => {
    test("map before 1.31, sorted {name,value} list from 1.31", () => {
        expect(extraArgs(30, { b: "2", a: "1" })).toEqual({ a: "1", b: "2" });
        expect(extraArgs(31, { b: "2", a: "1" })).toEqual([
            { name: "a", value: "1" },
            { name: "b", value: "2" },
        ]);
    });
});

describe("renderInitConfig", () => {
    test("1.30 (v1beta3) snapshot", () => expect(renderInitConfig(spec130, master)).toMatchSnapshot());
    test("1.33 (v1beta4) snapshot", () => expect(renderInitConfig(spec133, master)).toMatchSnapshot());

    test.each([
        ["1.30", spec130],
        ["1.33", spec133],
    ])("%s: header, four parseable documents in order", (_label, spec) => {
        const text = renderInitConfig(spec, master);
        expect(text.split("\n")[0]).toBe("# managed by kubeadm-cluster");
        expect(parseDocs(text).map((d) => d.kind)).toEqual([
            "InitConfiguration",
            "ClusterConfiguration",
            "KubeletConfiguration",
            "KubeProxyConfiguration",
        ]);
    });

    test("kubeadm documents carry the API version of the minor; the others keep theirs", () => {
        for (const [spec, api] of [
            [spec130, "kubeadm.k8s.io/v1beta3"],
            [makeSpec({ kubernetesVersion: version("1.31.0") }), "kubeadm.k8s.io/v1beta4"],
            [spec133, "kubeadm.k8s.io/v1beta4"],
        ] as const) {
            const text = renderInitConfig(spec, master);
            expect(docOfKind(text, "InitConfiguration").apiVersion).toBe(api);
            expect(docOfKind(text, "ClusterConfiguration").apiVersion).toBe(api);
            expect(docOfKind(text, "KubeletConfiguration").apiVersion).toBe("kubelet.config.k8s.io/v1beta1");
            expect(docOfKind(text, "KubeProxyConfiguration").apiVersion).toBe("kubeproxy.config.k8s.io/v1alpha1");
        }
    });

    test("v1beta4 kubeletExtraArgs is a list of {name, value}; v1beta3 a map", () => {
        const v4 = docOfKind(renderInitConfig(spec133, master), "InitConfiguration");
        expect(v4.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: "192.168.10.11" }]);
        const v3 = docOfKind(renderInitConfig(spec130, master), "InitConfiguration");
        expect(v3.nodeRegistration.kubeletExtraArgs).toEqual({ "node-ip": "192.168.10.11" });
    });

    test("node registration and local endpoint come from the host", () => {
        const init = docOfKind(renderInitConfig(spec133, master), "InitConfiguration");
        expect(init.localAPIEndpoint).toEqual({ advertiseAddress: "192.168.10.11", bindPort: 6443 });
        expect(init.nodeRegistration.name).toBe("master01");
        expect(init.nodeRegistration.criSocket).toBe("unix:///var/run/containerd/containerd.sock");
        expect(init).not.toHaveProperty("bootstrapTokens");
    });

    test("docker runtime uses the cri-dockerd socket", () => {
        const init = docOfKind(renderInitConfig(makeSpec({ containerRuntime: "docker" }), master), "InitConfiguration");
        expect(init.nodeRegistration.criSocket).toBe("unix:///var/run/cri-dockerd.sock");
    });

    test("cluster settings come from the spec", () => {
        const spec = makeSpec({
            podCidr: "172.16.0.0/16",
            serviceCidr: "10.100.0.0/16",
            controlPlaneEndpoint: "k8s-api.lab:6443",
            imageRepository: "registry.aliyuncs.com/google_containers",
            kubernetesVersion: version("1.32.9"),
        });
        const cluster = docOfKind(renderInitConfig(spec, spec.hosts[0]), "ClusterConfiguration");
        expect(cluster.kubernetesVersion).toBe("v1.32.9");
        expect(cluster.networking).toEqual({ podSubnet: "172.16.0.0/16", serviceSubnet: "10.100.0.0/16", dnsDomain: "cluster.local" });
        expect(cluster.controlPlaneEndpoint).toBe("k8s-api.lab:6443");
        expect(cluster.imageRepository).toBe("registry.aliyuncs.com/google_containers");
        expect(cluster.clusterName).toBe("kubernetes");
        expect(cluster.apiServer.certSANs).toEqual(["192.168.10.11", "k8s-api.lab"]);
    });

    test("certSANs are not duplicated when the endpoint is the host itself", () => {
        const cluster = docOfKind(renderInitConfig(spec133, master), "ClusterConfiguration");
        expect(cluster.apiServer.certSANs).toEqual(["192.168.10.11"]);
    });

    test("v1beta4 output has no v1beta3-only fields", () => {
        const text = renderInitConfig(spec133, master);
        expect(text).not.toMatch(/timeoutForControlPlane|discovery:\s*\n\s*timeout/);
    });

    test("kubelet uses the systemd cgroup driver", () => {
        expect(docOfKind(renderInitConfig(spec133, master), "KubeletConfiguration").cgroupDriver).toBe("systemd");
    });

    test("kube-proxy mode follows the spec; strictARP only with ipvs", () => {
        const ipvs = docOfKind(renderInitConfig(spec133, master), "KubeProxyConfiguration");
        expect(ipvs.mode).toBe("ipvs");
        expect(ipvs.ipvs).toEqual({ strictARP: true });
        const ipt = docOfKind(renderInitConfig(makeSpec({ kubeProxyMode: "iptables" }), master), "KubeProxyConfiguration");
        expect(ipt.mode).toBe("iptables");
        expect(ipt).not.toHaveProperty("ipvs");
    });

    test("refuses a worker", () => {
        expect(() => renderInitConfig(spec133, worker1)).toThrow("renderInitConfig: host worker01 has role worker");
    });

    test("is deterministic", () => {
        expect(renderInitConfig(spec133, master)).toBe(renderInitConfig(makeSpec(), makeSpec().hosts[0]));
    });
});

describe("renderJoinConfig", () => {
    test("1.30 (v1beta3) snapshot", () => expect(renderJoinConfig(spec130, worker1, join)).toMatchSnapshot());
    test("1.33 (v1beta4) snapshot", () => expect(renderJoinConfig(spec133, worker1, join)).toMatchSnapshot());

    test("v1beta3: discovery.timeout, kubeletExtraArgs map", () => {
        const text = renderJoinConfig(spec130, worker1, join);
        expect(text.split("\n")[0]).toBe("# managed by kubeadm-cluster");
        const doc = docOfKind(text, "JoinConfiguration");
        expect(doc.apiVersion).toBe("kubeadm.k8s.io/v1beta3");
        expect(doc.discovery).toEqual({
            bootstrapToken: { apiServerEndpoint: "192.168.10.11:6443", token: join.token, caCertHashes: [join.caCertHash] },
            timeout: "5m0s",
        });
        expect(doc.nodeRegistration).toEqual({
            name: "worker01",
            criSocket: "unix:///var/run/containerd/containerd.sock",
            kubeletExtraArgs: { "node-ip": "192.168.10.12" },
        });
        expect(doc).not.toHaveProperty("timeouts");
    });

    test("v1beta4: timeouts struct, kubeletExtraArgs list", () => {
        const doc = docOfKind(renderJoinConfig(spec133, worker1, join), "JoinConfiguration");
        expect(doc.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
        expect(doc.discovery).toEqual({
            bootstrapToken: { apiServerEndpoint: "192.168.10.11:6443", token: join.token, caCertHashes: [join.caCertHash] },
        });
        expect(doc.timeouts).toEqual({ discovery: "5m0s", tlsBootstrap: "5m0s" });
        expect(doc.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: "192.168.10.12" }]);
    });

    test("trims whitespace from remote command output", () => {
        const doc = docOfKind(
            renderJoinConfig(spec133, worker1, { ...join, token: ` ${join.token}\n`, caCertHash: `${join.caCertHash}\n` }),
            "JoinConfiguration",
        );
        expect(doc.discovery.bootstrapToken.token).toBe(join.token);
        expect(doc.discovery.bootstrapToken.caCertHashes).toEqual([join.caCertHash]);
    });

    test("malformed token or hash is refused without echoing the secret", () => {
        const badToken = "NOTATOKEN-secretvalue";
        expect(() => renderJoinConfig(spec133, worker1, { ...join, token: badToken })).toThrow(/join token for worker01/);
        try {
            renderJoinConfig(spec133, worker1, { ...join, token: badToken });
        } catch (e) {
            expect((e as Error).message).not.toContain(badToken);
        }
        expect(() => renderJoinConfig(spec133, worker1, { ...join, caCertHash: "md5:abc" })).toThrow(/CA hash for worker01/);
    });

    test("refuses a control plane without a certificate key, and a worker with one", () => {
        expect(() => renderJoinConfig(spec133, master, join)).toThrow("control plane master01 joins with a certificate key; pass certificateKey");
        expect(() => renderJoinConfig(spec133, spec133.hosts[1], { ...join, certificateKey: "ab".repeat(32) })).toThrow("worker worker01 must not get the certificate key");
    });
});

describe("control-plane join configuration (HA)", () => {
    const ha = makeHaSpec();
    const m2 = ha.hosts[1];
    const cpJoin = { ...join, apiServerEndpoint: "192.168.10.100:8443", certificateKey: "0f".repeat(32) };
    test.each([["1.30.14", "kubeadm.k8s.io/v1beta3"], ["1.33.5", "kubeadm.k8s.io/v1beta4"]])("%s: controlPlane section with its own advertise address and the certificate key", (v, api) => {
        const doc = docOfKind(renderJoinConfig({ ...ha, kubernetesVersion: version(v) }, m2, cpJoin), "JoinConfiguration");
        expect(doc.apiVersion).toBe(api);
        expect(doc.controlPlane).toEqual({ localAPIEndpoint: { advertiseAddress: "192.168.10.12", bindPort: 6443 }, certificateKey: "0f".repeat(32) });
        expect(doc.discovery.bootstrapToken.apiServerEndpoint).toBe("192.168.10.100:8443");
    });
    test("a malformed certificate key is refused without printing it", () => {
        expect(() => renderJoinConfig(ha, m2, { ...cpJoin, certificateKey: "nothex" })).toThrow("the certificate key for master02 is not 64 hex digits");
    });
});

describe("control-plane taint", () => {
    const initDoc = (spec: ReturnType<typeof makeSpec>) =>
        docOfKind(renderInitConfig(spec, spec.hosts[0]), "InitConfiguration") as { nodeRegistration: { taints?: unknown[] } };
    test("kept (kubeadm's default) when the cluster has workers", () => {
        expect(initDoc(makeSpec()).nodeRegistration.taints).toBeUndefined();
    });
    test("removed on a cluster without workers, so the demo and user workloads can run", () => {
        const spec = makeSpec();
        const single = makeSpec({ hosts: [spec.hosts[0]] });
        expect(initDoc(single).nodeRegistration.taints).toEqual([]);
    });
});

describe("the kubelet on cgroup v1 hosts (EL8, CentOS 7)", () => {
    test("failCgroupV1: false wherever the field exists (1.31 on), so clusters made before 1.35 keep cgroup v1 nodes through the upgrade to 1.35, where the kubelet refuses cgroup v1 by default", () => {
        const kubelet = (minorVersion: string) =>
            docOfKind(renderInitConfig(makeSpec({ kubernetesVersion: version(minorVersion) }), master), "KubeletConfiguration");
        for (const v of ["1.31.4", "1.34.4", "1.35.4", "1.36.3"]) expect({ v, failCgroupV1: kubelet(v).failCgroupV1 }).toEqual({ v, failCgroupV1: false });
        // The kubelet of 1.30 has no such field.
        expect(kubelet("1.30.14")).not.toHaveProperty("failCgroupV1");
    });
});
