import {
    basePackages,
    firewallRules,
    hostPortsToCheck,
    KERNEL_MODULES,
    renderHostsEntries,
    renderSysctl,
} from "../../components/render";
import { HostSpec } from "../../components/config/spec";
import { makeHaSpec, makeSpec } from "../fixtures/spec";

const spec = makeSpec();
const [master, worker1, worker2] = spec.hosts;

describe("KERNEL_MODULES", () => {
    test("bridge netfilter, overlay, IPVS and conntrack", () => {
        expect(KERNEL_MODULES).toEqual(["br_netfilter", "overlay", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"]);
    });
});

describe("renderSysctl", () => {
    test("snapshot with extras", () => {
        expect(renderSysctl(makeSpec({ sysctl: { "net.core.somaxconn": "32768", "fs.inotify.max_user_watches": "524288" } }))).toMatchSnapshot();
    });

    test("required keys first, then extras sorted, header on top", () => {
        const lines = renderSysctl(makeSpec({ sysctl: { "z.key": "1", "a.key": "2" } })).trimEnd().split("\n");
        expect(lines).toEqual([
            "# managed by kubeadm-cluster",
            "net.bridge.bridge-nf-call-iptables = 1",
            "net.bridge.bridge-nf-call-ip6tables = 1",
            "net.ipv4.ip_forward = 1",
            "vm.swappiness = 0",
            "a.key = 2",
            "z.key = 1",
        ]);
    });

    test("vm.swappiness may be overridden in place", () => {
        const text = renderSysctl(makeSpec({ sysctl: { "vm.swappiness": "10" } }));
        expect(text).toContain("vm.swappiness = 10\n");
        expect(text.match(/vm\.swappiness/g)).toHaveLength(1);
    });

    test("a required key may be repeated with its value but not changed", () => {
        expect(renderSysctl(makeSpec({ sysctl: { "net.ipv4.ip_forward": "1" } })).match(/ip_forward/g)).toHaveLength(1);
        expect(() => renderSysctl(makeSpec({ sysctl: { "net.ipv4.ip_forward": "0" } }))).toThrow(
            "sysctl.net.ipv4.ip_forward must stay 1 for Kubernetes networking (got 0)",
        );
    });
});

describe("basePackages", () => {
    test("ipvs mode brings ipvsadm", () => {
        expect(basePackages(spec)).toEqual(["conntrack", "ethtool", "ipset", "ipvsadm", "socat"]);
        expect(basePackages(makeSpec({ kubeProxyMode: "iptables" }))).not.toContain("ipvsadm");
    });
});

describe("renderHostsEntries", () => {
    test("snapshots", () => {
        expect(renderHostsEntries(spec, master)).toMatchSnapshot("master01");
        expect(renderHostsEntries(spec, worker1)).toMatchSnapshot("worker01");
    });

    test("a worker sees itself and the control planes, never other workers", () => {
        const text = renderHostsEntries(spec, worker1);
        expect(text).toBe("192.168.10.11 master01\n192.168.10.12 worker01\n");
        expect(text).not.toContain("worker02");
        expect(text).not.toContain(worker2.address);
    });

    test("a control plane lists itself once", () => {
        expect(renderHostsEntries(spec, master)).toBe("192.168.10.11 master01\n");
    });

    test("adding a worker changes no existing host's entries", () => {
        const worker3: HostSpec = { name: "worker03", address: "192.168.10.14", role: "worker", user: "root", port: 22 };
        const bigger = makeSpec({ hosts: [...spec.hosts, worker3] });
        for (const h of spec.hosts) expect(renderHostsEntries(bigger, h)).toBe(renderHostsEntries(spec, h));
    });
});

describe("firewallRules", () => {
    test("control plane with Calico", () => {
        expect(firewallRules(spec, master)).toEqual({
            tcp: ["6443", "2379-2380", "10250", "10257", "10259", "30000-32767", "179", "5473"],
            udp: ["4789"],
            protocols: ["4"],
            trustedCidrs: ["10.244.0.0/16", "10.96.0.0/12"],
        });
    });

    test("worker with Calico: kubelet, NodePorts, Calico", () => {
        expect(firewallRules(spec, worker1)).toEqual({
            tcp: ["10250", "30000-32767", "179", "5473"],
            udp: ["4789"],
            protocols: ["4"],
            trustedCidrs: ["10.244.0.0/16", "10.96.0.0/12"],
        });
    });

    test("Flannel: VXLAN 8472/udp only", () => {
        const flannel = makeSpec({ cni: { plugin: "flannel", version: "v0.28.9", source: "https://flannel-io.github.io/flannel/" } });
        expect(firewallRules(flannel, worker1)).toEqual({
            tcp: ["10250", "30000-32767"],
            udp: ["8472"],
            protocols: [],
            trustedCidrs: ["10.244.0.0/16", "10.96.0.0/12"],
        });
    });

    test("the demo NodePort is open on every node", () => {
        for (const h of spec.hosts) expect(firewallRules(spec, h).tcp).toContain("30000-32767");
    });

    test("IP-in-IP is protocol number 4, never the name ipip (= 94 in /etc/protocols)", () => {
        expect(firewallRules(spec, master).protocols).not.toContain("ipip");
    });

    test("keepalived + haproxy: control planes open the endpoint port and VRRP (protocol 112); workers do not", () => {
        const ha = makeHaSpec();
        const [m1, , , w1] = ha.hosts;
        expect(firewallRules(ha, m1)).toEqual({
            tcp: ["6443", "2379-2380", "10250", "10257", "10259", "30000-32767", "179", "5473", "8443"],
            udp: ["4789"],
            protocols: ["4", "112"],
            trustedCidrs: ["10.244.0.0/16", "10.96.0.0/12"],
        });
        expect(firewallRules(ha, w1)).toEqual(firewallRules(spec, worker1));
        expect(firewallRules(ha, m1).protocols).not.toContain("vrrp");
    });

    test("kube-vip: nothing more on 6443; another endpoint port is opened on control planes", () => {
        const kubeVip = (endpointPort: number) =>
            makeHaSpec({ controlPlaneEndpoint: `192.168.10.100:${endpointPort}`, ha: { loadBalancer: "kube-vip", vip: "192.168.10.100", endpointPort, virtualRouterId: 51 } });
        const m1 = kubeVip(6443).hosts[0];
        expect(firewallRules(kubeVip(6443), m1)).toEqual(firewallRules(spec, master));
        expect(firewallRules(kubeVip(7443), m1).tcp).toEqual([...firewallRules(spec, master).tcp, "7443"]);
        expect(firewallRules(kubeVip(7443), m1).protocols).toEqual(["4"]);
        expect(firewallRules(kubeVip(7443), kubeVip(7443).hosts[3]).tcp).not.toContain("7443");
    });

    test("an external load balancer opens nothing more", () => {
        const ext = makeHaSpec({ controlPlaneEndpoint: "api.example.com:6443", ha: { loadBalancer: "external", endpointPort: 6443, virtualRouterId: 51 } });
        expect(firewallRules(ext, ext.hosts[0])).toEqual(firewallRules(spec, master));
    });
});

describe("hostPortsToCheck", () => {
    test("control plane and worker", () => {
        expect(hostPortsToCheck(spec, master)).toEqual(["tcp:6443", "tcp:2379", "tcp:2380", "tcp:10250", "tcp:10257", "tcp:10259"]);
        expect(hostPortsToCheck(spec, worker1)).toEqual(["tcp:10250"]);
    });
});
