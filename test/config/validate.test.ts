import { ConfigError, parseClusterConfig, RawConfig } from "../../components/config/validate";

const good = (): RawConfig => ({
    hosts: JSON.stringify([
        { name: "master01", address: "192.168.10.11", role: "control-plane" },
        { name: "worker01", address: "192.168.10.12", role: "worker" },
        { name: "worker02", address: "192.168.10.13", role: "worker" },
    ]),
    sshPrivateKey: "KEY",
});

function problemsOf(raw: RawConfig): string[] {
    try {
        parseClusterConfig(raw);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

function withHosts(hosts: unknown[], extra: RawConfig = {}): RawConfig {
    return { ...good(), hosts: JSON.stringify(hosts), ...extra };
}

const cp = { name: "master01", address: "192.168.10.11", role: "control-plane" };
const w1 = { name: "worker01", address: "192.168.10.12", role: "worker" };
const threeCps = [
    cp,
    { name: "master02", address: "192.168.10.12", role: "control-plane" },
    { name: "master03", address: "192.168.10.13", role: "control-plane" },
    { name: "worker01", address: "192.168.10.21", role: "worker" },
];

describe("config validation: each bad config gets its exact sentence", () => {
    const cases: [string, RawConfig, string][] = [
        ["no hosts", { sshPrivateKey: "KEY" }, "hosts is not set: list your machines, e.g. [{name: master01, address: 192.168.10.11, role: control-plane}, {name: worker01, address: 192.168.10.12, role: worker}]."],
        ["hosts not a list", { ...good(), hosts: "master01" }, 'hosts must be a list of {name, address, role}, not "master01".'],
        ["duplicate name", withHosts([cp, { ...w1, name: "master01" }]), 'hosts[1].name "master01" is already used by hosts[0]: give every host a unique name.'],
        ["duplicate address", withHosts([cp, { ...w1, address: "192.168.10.11" }]), "hosts[1].address 192.168.10.11 is already used by hosts[0]: every host needs its own address."],
        ["malformed address", withHosts([cp, { ...w1, address: "192.168.10.300" }]), 'hosts[1].address "192.168.10.300" is not an IPv4 address: write it as four numbers 0-255, e.g. 192.168.10.11.'],
        ["bad node name", withHosts([cp, { ...w1, name: "Worker_01" }]), 'hosts[1].name "Worker_01" is not a valid node name: use lowercase letters, digits and \'-\', at most 63 characters, starting and ending with a letter or digit.'],
        ["missing role", withHosts([cp, { name: "worker01", address: "192.168.10.12" }]), 'hosts[1].role is missing: set "control-plane" or "worker".'],
        ["unknown role", withHosts([cp, { ...w1, role: "master" }]), 'hosts[1].role is "master"; it must be "control-plane" or "worker".'],
        ["no control plane", withHosts([w1]), "hosts has no control-plane host: set role: control-plane on one host (or on 3 or 5 for high availability)."],
        ["an even number of control planes", withHosts([cp, { ...w1, role: "control-plane" }]), "hosts has 2 control-plane hosts (master01, worker01): etcd needs a majority of members, so 2 tolerate no more failures than 1; use an odd number (1, 3 or 5)."],
        ["HA without an endpoint", withHosts(threeCps), 'controlPlaneEndpoint is not set: with loadBalancer "keepalived-haproxy" it must be the virtual IP and port, e.g. 192.168.10.100:8443.'],
        ["HA without a load balancer", withHosts(threeCps, { loadBalancer: "none", controlPlaneEndpoint: "192.168.10.100:6443" }), 'loadBalancer is "none" but hosts has 3 control planes: set loadBalancer to "keepalived-haproxy", "kube-vip" or "external" so one endpoint reaches all of them.'],
        ["VIP on a host", withHosts(threeCps, { controlPlaneEndpoint: "192.168.10.12:8443" }), "controlPlaneEndpoint's virtual IP 192.168.10.12 is master02's address: choose a free address in the hosts' subnet that no host uses."],
        ["VIP in the pod CIDR", withHosts(threeCps, { controlPlaneEndpoint: "10.244.0.10:8443" }), "controlPlaneEndpoint's virtual IP 10.244.0.10 lies in podCidr 10.244.0.0/16: choose a free address in the hosts' subnet."],
        ["haproxy on the API server's port", withHosts(threeCps, { controlPlaneEndpoint: "192.168.10.100:6443" }), 'controlPlaneEndpoint "192.168.10.100:6443" uses port 6443, which the API server itself holds on every control plane: give haproxy another port, e.g. 192.168.10.100:8443.'],
        ["kube-vip with a DNS name", withHosts(threeCps, { loadBalancer: "kube-vip", controlPlaneEndpoint: "api.example.com:6443" }), 'controlPlaneEndpoint "api.example.com:6443" must use the virtual IP address (not a name) with loadBalancer "kube-vip", which holds that address on a control plane.'],
        ["kube-vip on another port", withHosts(threeCps, { loadBalancer: "kube-vip", controlPlaneEndpoint: "192.168.10.100:8443" }), 'controlPlaneEndpoint "192.168.10.100:8443" uses port 8443, but kube-vip only moves the address to the API server\'s own port: use 192.168.10.100:6443.'],
        ["unknown load balancer", withHosts(threeCps, { loadBalancer: "nginx", controlPlaneEndpoint: "192.168.10.100:8443" }), 'loadBalancer is "nginx"; it must be one of "keepalived-haproxy", "kube-vip", "external", "none".'],
        ["bad router id", { ...good(), virtualRouterId: 300 }, "virtualRouterId is 300, outside 1-255: VRRP router ids are 1-255; pick one no other VRRP group on this network uses."],
        ["malformed pod CIDR", { ...good(), podCidr: "10.244.0.0" }, 'podCidr "10.244.0.0" is not an IPv4 CIDR: write it as address/prefix, e.g. 10.244.0.0/16.'],
        ["CIDR with host bits", { ...good(), serviceCidr: "10.96.0.1/12" }, 'serviceCidr "10.96.0.1/12" has host bits set: did you mean 10.96.0.0/12?'],
        ["pod and service CIDR overlap", { ...good(), podCidr: "10.96.0.0/16" }, "podCidr 10.96.0.0/16 and serviceCidr 10.96.0.0/12 overlap: choose ranges that do not overlap, e.g. 10.244.0.0/16 and 10.96.0.0/12."],
        ["pod CIDR holds a host", { ...good(), podCidr: "192.168.0.0/16" }, "podCidr 192.168.0.0/16 contains host master01's address 192.168.10.11: pick a podCidr outside the hosts' network."],
        ["unknown runtime", { ...good(), containerRuntime: "cri-o" }, 'containerRuntime is "cri-o"; it must be one of "containerd", "docker".'],
        ["unknown CNI", { ...good(), cni: "cilium" }, 'cni is "cilium"; it must be one of "calico", "flannel".'],
        ["unknown proxy mode", { ...good(), kubeProxyMode: "nftables" }, 'kubeProxyMode is "nftables"; it must be one of "ipvs", "iptables".'],
        ["malformed version", { ...good(), kubernetesVersion: "1.33" }, 'kubernetesVersion "1.33" is not an exact version: give major.minor.patch, e.g. 1.35.9 (supported: 1.30.0 to 1.35.x).'],
        ["version too old", { ...good(), kubernetesVersion: "1.28.2" }, "kubernetesVersion 1.28.2 is outside the supported range 1.30.0 to 1.35.x: choose a version in that range, e.g. 1.35.9."],
        ["version too new", { ...good(), kubernetesVersion: "v1.36.0" }, "kubernetesVersion 1.36.0 is outside the supported range 1.30.0 to 1.35.x: choose a version in that range, e.g. 1.35.9."],
        ["nodePort out of range", { ...good(), demo: JSON.stringify({ nodePort: 8080 }) }, "demo.nodePort is 8080, outside 30000-32767: NodePorts must lie in the cluster's NodePort range 30000-32767."],
        ["missing key", { hosts: good().hosts }, "sshPrivateKey is not set: run `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`, or set sshPrivateKeyPath to the key file."],
        ["two keys", { ...good(), sshPrivateKeyPath: "/k" }, "sshPrivateKey and sshPrivateKeyPath are both set: keep one (pulumi config rm sshPrivateKeyPath, or pulumi config rm sshPrivateKey)."],
        ["unknown firewall policy", { ...good(), firewall: "off" }, 'firewall is "off"; it must be one of "open-ports", "disable".'],
        ["typo in a key", { ...good(), podCIDR: "10.244.0.0/16" }, "podCIDR is not a known setting: did you mean podCidr?"],
        ["repo URL without {minor}", { ...good(), kubernetesRepoUrl: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/rpm/" }, 'kubernetesRepoUrl "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/rpm/" has no {minor} placeholder: put {minor} where the version goes, as in https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/.'],
        ["image repository with scheme", { ...good(), imageRepository: "https://registry.aliyuncs.com/google_containers" }, 'imageRepository "https://registry.aliyuncs.com/google_containers" is not a registry path: give host/path without a scheme, e.g. registry.aliyuncs.com/google_containers.'],
        ["token TTL too long", { ...good(), joinTokenTtl: "48h" }, "joinTokenTtl 48h is longer than 24h: join tokens are meant to be short-lived; a fresh one is made for every join."],
        ["token TTL malformed", { ...good(), joinTokenTtl: "1 hour" }, 'joinTokenTtl "1 hour" is not a duration such as 30m or 1h.'],
        ["sysctl that breaks networking", { ...good(), sysctl: JSON.stringify({ "net.ipv4.ip_forward": 0 }) }, "sysctl.net.ipv4.ip_forward = 0 would break Kubernetes networking: it must stay 1; remove it from sysctl."],
        ["bad SSH port", withHosts([cp, { ...w1, port: 70000 }]), "hosts[1].port is 70000, outside 1-65535."],
        ["bad host key", withHosts([cp, { ...w1, hostKey: "AAAA" }]), 'hosts[1].hostKey is not an SSH public host key: paste one line of `ssh-keyscan -t ed25519 192.168.10.12` without the host name, e.g. "ssh-ed25519 AAAA...".'],
        ["unknown host field", withHosts([cp, { ...w1, ip: "1.2.3.4" }]), "hosts[1].ip is not a known field; known fields are name, address, role, user, port, hostKey."],
        ["bastion without address", { ...good(), bastion: JSON.stringify({ user: "jump" }) }, "bastion.address is missing: give the jump host's address or DNS name, or remove bastion."],
        ["bad endpoint", { ...good(), controlPlaneEndpoint: "https://api.example.com" }, 'controlPlaneEndpoint "https://api.example.com" must be host or host:port with an IPv4 address or DNS name, e.g. 192.168.10.11:6443.'],
        ["CNI version not pinned", { ...good(), cniVersion: "latest" }, 'cniVersion "latest" is not a pinned release: write it as vX.Y.Z, e.g. v3.31.7.'],
        ["timeSync not boolean", { ...good(), timeSync: "yes" }, 'timeSync must be true or false, not "yes".'],
        ["mirror not a URL", { ...good(), registryMirrors: JSON.stringify(["docker.m.daocloud.io"]) }, 'registryMirrors[0] "docker.m.daocloud.io" is not an http(s) URL.'],
    ];

    test.each(cases)("%s", (_label, raw, sentence) => {
        expect(problemsOf(raw)).toContain(sentence);
    });

    test("every problem is reported at once, not just the first", () => {
        const problems = problemsOf({
            hosts: JSON.stringify([cp, { ...w1, address: "192.168.10.11" }, { ...w1, name: "worker02", role: "boss" }]),
            containerRuntime: "rkt",
            podCidr: "10.96.0.0/16",
            demo: JSON.stringify({ nodePort: 1 }),
        });
        expect(problems).toEqual([
            "hosts[1].address 192.168.10.11 is already used by hosts[0]: every host needs its own address.",
            'hosts[2].role is "boss"; it must be "control-plane" or "worker".',
            "sshPrivateKey is not set: run `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`, or set sshPrivateKeyPath to the key file.",
            "podCidr 10.96.0.0/16 and serviceCidr 10.96.0.0/12 overlap: choose ranges that do not overlap, e.g. 10.244.0.0/16 and 10.96.0.0/12.",
            'containerRuntime is "rkt"; it must be one of "containerd", "docker".',
            "demo.nodePort is 1, outside 30000-32767: NodePorts must lie in the cluster's NodePort range 30000-32767.",
        ]);
    });

    test("the error message says nothing was changed and lists each problem on its own line", () => {
        expect(() => parseClusterConfig({ ...good(), cni: "weave", firewall: "x" })).toThrow(
            'The stack configuration has 2 problems; nothing was changed on any host:\n  - cni is "weave"; it must be one of "calico", "flannel".\n  - firewall is "x"; it must be one of "open-ports", "disable".',
        );
    });
});

describe("config validation: accepted forms", () => {
    test("a good config has no problems", () => {
        expect(problemsOf(good())).toEqual([]);
    });

    test("a non-root user, per-host port and host key are kept; sshUser applies to the rest", () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0f";
        const spec = parseClusterConfig(withHosts([cp, { ...w1, user: "ops", port: 2222, hostKey: key }], { sshUser: "admin" }));
        expect(spec.hosts[0]).toEqual({ ...cp, user: "admin", port: 22 });
        expect(spec.hosts[1]).toEqual({ ...w1, user: "ops", port: 2222, hostKey: key });
    });

    test("values arrive as strings from the CLI: numbers and booleans are parsed", () => {
        const spec = parseClusterConfig({ ...good(), sshPort: "2200", timeSync: "false", demo: JSON.stringify({ replicas: "3", enabled: "true" }) });
        expect(spec.hosts[0].port).toBe(2200);
        expect(spec.timeSync).toBe(false);
        expect(spec.demo.replicas).toBe(3);
    });

    test("controlPlaneEndpoint defaults to the control plane's address and gets :6443 when no port is given", () => {
        expect(parseClusterConfig(good()).controlPlaneEndpoint).toBe("192.168.10.11:6443");
        expect(parseClusterConfig({ ...good(), controlPlaneEndpoint: "k8s.example.com" }).controlPlaneEndpoint).toBe("k8s.example.com:6443");
    });

    test("Flannel gets its own default version and chart repository", () => {
        const spec = parseClusterConfig({ ...good(), cni: "flannel" });
        expect(spec.cni).toEqual({ plugin: "flannel", version: "v0.28.9", source: "https://flannel-io.github.io/flannel/" });
    });

    test("three control planes behind keepalived + haproxy: the VIP and port 8443 by default", () => {
        const spec = parseClusterConfig(withHosts(threeCps, { controlPlaneEndpoint: "192.168.10.100" }));
        expect(spec.controlPlaneEndpoint).toBe("192.168.10.100:8443");
        expect(spec.ha).toEqual({ loadBalancer: "keepalived-haproxy", vip: "192.168.10.100", endpointPort: 8443, virtualRouterId: 51 });
    });

    test("kube-vip keeps port 6443; an external load balancer may be a DNS name", () => {
        expect(parseClusterConfig(withHosts(threeCps, { loadBalancer: "kube-vip", controlPlaneEndpoint: "192.168.10.100" })).controlPlaneEndpoint).toBe("192.168.10.100:6443");
        const ext = parseClusterConfig(withHosts(threeCps, { loadBalancer: "external", controlPlaneEndpoint: "k8s-api.example.com" }));
        expect(ext.controlPlaneEndpoint).toBe("k8s-api.example.com:6443");
        expect(ext.ha.vip).toBeUndefined();
    });

    test("one control plane may already sit behind a VIP, so control planes can be added later", () => {
        const spec = parseClusterConfig({ ...good(), loadBalancer: "keepalived-haproxy", controlPlaneEndpoint: "192.168.10.100:8443" });
        expect(spec.ha.vip).toBe("192.168.10.100");
    });

    test("an empty bastion object (the Pulumi.yaml default) means no bastion", () => {
        expect(parseClusterConfig({ ...good(), bastion: "{}" }).bastion).toBeUndefined();
    });
});
