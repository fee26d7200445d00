// Node preparation (facts, prep-system, prep-firewall, prep-timesync, runtime-containerd /
// runtime-docker, kube-packages) on CentOS 7, Rocky 8, Rocky 9 and AlmaLinux 9 test hosts.
// Real: SSH (sshd + ssh client, the program's own command line), bash, coreutils, sed, awk, grep,
// openssl, ss, sudo, every file under /etc. Stood in: the package manager, rpm, systemctl,
// hostnamectl, modprobe/lsmod, sysctl, swapoff, SELinux tools, firewall-cmd, chronyc, containerd
// and the kube binaries (see README.md).
import { renderContainerdConfig, renderContainerdHostsToml } from "../../components/render/containerd";
import { renderDockerDaemonJson } from "../../components/render/docker";
import { renderKubernetesRepo } from "../../components/render/repos";
import { renderSysctl } from "../../components/render/node";
import { pauseImage } from "../../components/config/spec";
import { Cluster, StepResult, TestHost, changingCalls, createCluster, stepCalls } from "./harness";
import { FAST, NODE_PREP_STEPS, nodeStep, specFor } from "./params";

jest.setTimeout(240_000);

const MIRROR = "https://mirror.example.internal";
let c: Cluster;
let spec: ReturnType<typeof specFor>;
let dockerSpec: ReturnType<typeof specFor>;
const first = new Map<string, Map<string, StepResult>>();
const second = new Map<string, Map<string, StepResult>>();
const journalFirst = new Map<string, string[]>();
const journalSecond = new Map<string, string[]>();
const snapBefore = new Map<string, Record<string, string>>();
const snapAfter = new Map<string, Record<string, string>>();

const USER_HOSTS = "192.0.2.10  nas.example.internal nas\n# the backup box\n192.0.2.11  backup\n";
const USER_FSTAB_EXTRA = "nas:/export            /mnt/nas                nfs     defaults,_netdev 0 0\n#/dev/sdb1              none                    swap    defaults        0 0\n";
const USER_SYSCTL = "# tuned for the search service\nvm.max_map_count = 262144\n";
const USER_CONTAINERD = 'version = 2\n# my own settings\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.example.internal/pause:3.9"\n';
const USER_CHRONY_EXTRA = "# site policy\nallow 10.250.0.0/24\n";

function specOf(h: TestHost) {
    return h.name === "d9" ? dockerSpec : spec;
}

async function runAll(h: TestHost, into: Map<string, Map<string, StepResult>>): Promise<void> {
    const results = new Map<string, StepResult>();
    into.set(h.name, results);
    for (const s of ["facts", ...NODE_PREP_STEPS]) {
        const { step, params } = nodeStep(specOf(h), h, s);
        const r = await c.runStep(h, step, { ...params, ...FAST });
        results.set(s, r);
        if (r.code !== 0) break;
    }
}

beforeAll(async () => {
    c = await createCluster([
        { name: "c7", ip: "10.250.0.21", os: "centos7", role: "control-plane" },
        { name: "r8", ip: "10.250.0.22", os: "rocky8" },
        { name: "r9", ip: "10.250.0.23", os: "rocky9", containerdVersion: "2.1.4" },
        { name: "a9", ip: "10.250.0.24", os: "alma9", user: "kcadmin" },
        { name: "d9", ip: "10.250.0.25", os: "rocky9" },
    ]);
    const overrides = {
        packageRepos: {
            kubernetes: `${MIRROR}/k8s/core:/stable:/v{minor}/rpm/`,
            docker: `${MIRROR}/docker-ce/linux/centos/`,
            centos7Vault: `${MIRROR}/centos-vault`,
        },
        ntpServers: ["ntp1.example.internal", "ntp2.example.internal"],
        registryMirrors: ["https://registry-mirror.example.internal:5000"],
        sysctl: { "fs.inotify.max_user_watches": "524288" },
    };
    spec = specFor(c.hosts, overrides);
    dockerSpec = specFor(c.hosts, { ...overrides, containerRuntime: "docker" });

    // Content the user had before: it must survive.
    const r8 = c.host("r8");
    c.writeFile(r8, "/etc/hosts", (c.readFile(r8, "/etc/hosts") ?? "") + USER_HOSTS);
    c.writeFile(r8, "/etc/fstab", (c.readFile(r8, "/etc/fstab") ?? "") + USER_FSTAB_EXTRA);
    c.writeFile(r8, "/etc/sysctl.d/50-search.conf", USER_SYSCTL);
    c.writeFile(r8, "/etc/containerd/config.toml", USER_CONTAINERD);
    c.writeFile(r8, "/etc/chrony.conf", (c.readFile(r8, "/etc/chrony.conf") ?? "") + USER_CHRONY_EXTRA);
    c.writeFile(r8, "/etc/modules-load.d/wireguard.conf", "wireguard\n");
    for (const h of c.hosts) snapBefore.set(h.name, c.snapshot(h));

    await Promise.all(c.hosts.map((h) => runAll(h, first)));
    for (const h of c.hosts) {
        journalFirst.set(h.name, c.journal(h));
        snapAfter.set(h.name, c.snapshot(h));
        c.clearJournal(h);
    }
    await Promise.all(c.hosts.map((h) => runAll(h, second)));
    for (const h of c.hosts) journalSecond.set(h.name, c.journal(h));
});

afterAll(async () => {
    await c?.destroy();
});

function expectAllOk(results: Map<string, StepResult> | undefined, host: string): void {
    expect(results).toBeDefined();
    for (const [step, r] of results!) {
        if (r.code !== 0) throw new Error(`${step} on ${host} exited ${r.code}:\n${r.stderr}`);
    }
    expect([...results!.keys()]).toEqual(["facts", ...NODE_PREP_STEPS]);
}

describe("first run on each OS", () => {
    test.each(["c7", "r8", "r9", "a9", "d9"])("every step exits 0 on %s and logs only [host]-prefixed lines on stderr", (name) => {
        const results = first.get(name);
        expectAllOk(results, name);
        for (const [step, r] of results!) {
            const lines = r.stderr.split("\n").filter((l) => l !== "");
            for (const l of lines) expect(`${step}: ${l}`).toMatch(new RegExp(`^${step}: \\[${name}\\] `));
            if (step !== "facts") expect(r.stdout).toBe("");
        }
    });

    test("facts prints one JSON line with the OS, resources and product_uuid", () => {
        for (const h of c.hosts) {
            const facts = JSON.parse(first.get(h.name)!.get("facts")!.stdout);
            const uuid = (c.readFile(h, "/sys/class/dmi/id/product_uuid") ?? "").trim();
            expect(facts).toMatchObject({ cpus: 2, memoryMb: 4096, productUuid: uuid, family: h.os === "centos7" ? "el7" : h.os === "rocky8" ? "el8" : "el9" });
        }
    });

    test("CentOS 7 uses yum (and never dnf); EL8/EL9 use dnf", () => {
        const c7 = journalFirst.get("c7")!;
        expect(c7.filter((l) => / dnf /.test(` ${l.split(": ")[1]}`))).toEqual([]);
        expect(changingCalls(stepCalls(c7, "prep-system")).filter((l) => l.startsWith("yum"))).toEqual([
            "yum install -y --setopt=skip_missing_names_on_install=False conntrack-tools ethtool ipset ipvsadm socat",
        ]);
        expect(changingCalls(stepCalls(c7, "runtime-containerd")).filter((l) => l.startsWith("yum"))).toEqual([
            "yum install -y --setopt=skip_missing_names_on_install=False containerd.io",
        ]);
        expect(changingCalls(stepCalls(c7, "kube-packages"))).toEqual([
            "yum install -y --setopt=skip_missing_names_on_install=False --disableexcludes=kubernetes kubeadm-1.33.5 kubelet-1.33.5 kubectl-1.33.5",
            "systemctl enable kubelet",
        ]);
        for (const name of ["r8", "r9", "a9"]) {
            const j = journalFirst.get(name)!;
            expect(j.filter((l) => l.includes(": yum "))).toEqual([]);
            expect(changingCalls(stepCalls(j, "prep-system")).filter((l) => l.startsWith("dnf"))).toEqual([
                "dnf install -y conntrack-tools ethtool ipset ipvsadm socat iproute-tc",
            ]);
            expect(changingCalls(stepCalls(j, "kube-packages"))).toEqual([
                "dnf install -y --disableexcludes=kubernetes kubeadm-1.33.5 kubelet-1.33.5 kubectl-1.33.5",
                "systemctl enable kubelet",
            ]);
        }
    });

    test("prep-system changes exactly: hostname, swap, SELinux, modules (CentOS 7 conntrack name), sysctl", () => {
        for (const h of c.hosts) {
            const conntrack = h.os === "centos7" ? "nf_conntrack_ipv4" : "nf_conntrack";
            const calls = changingCalls(stepCalls(journalFirst.get(h.name)!, "prep-system")).filter((l) => !/^(yum|dnf) /.test(l));
            expect(calls).toEqual([
                `hostnamectl set-hostname ${h.name}`,
                "swapoff -a",
                "setenforce 0",
                ...["br_netfilter", "overlay", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", conntrack].map((m) => `modprobe ${m}`),
                "sysctl --system",
            ]);
            expect(c.sh(h, "uname -n; cat /etc/hostname; getenforce; tail -n +2 /proc/swaps | wc -l; sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.swappiness fs.inotify.max_user_watches").stdout)
                .toBe(`${h.name}\n${h.name}\nPermissive\n0\n1\n1\n0\n524288\n`);
        }
    });

    test("/etc/hosts: the managed block (the host and the control plane), every other line kept", () => {
        const base = "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n";
        for (const h of c.hosts) {
            const block = h.name === "c7" ? "10.250.0.21 c7\n" : `10.250.0.21 c7\n${h.ip} ${h.name}\n`;
            const user = h.name === "r8" ? USER_HOSTS : "";
            expect(c.readFile(h, "/etc/hosts")).toBe(`${base}${user}# BEGIN kubeadm-cluster\n${block}# END kubeadm-cluster\n`);
        }
    });

    test("/etc/fstab: only the active swap line is commented out", () => {
        for (const h of c.hosts) {
            const fstab = c.readFile(h, "/etc/fstab")!;
            expect(fstab).toContain("\n#/dev/mapper/rl-swap     none                    swap    defaults        0 0\n");
            expect(fstab).toContain("\n/dev/mapper/rl-root     /                       xfs     defaults        0 0\n");
            expect(fstab).toContain("\n/dev/mapper/rl-home     /home                   xfs     defaults        0 0\n");
            expect(fstab.split("\n").filter((l) => /^[^#].*\sswap\s/.test(l))).toEqual([]);
            if (h.name === "r8") expect(fstab.endsWith(USER_FSTAB_EXTRA)).toBe(true);
        }
    });

    test("/etc/selinux/config says permissive; /etc/sysconfig/selinux is still its symlink", () => {
        for (const h of c.hosts) {
            const cfg = c.readFile(h, "/etc/selinux/config")!;
            expect(cfg.split("\n").filter((l) => l.startsWith("SELINUX="))).toEqual(["SELINUX=permissive"]);
            expect(cfg).toContain("SELINUXTYPE=targeted\n");
            expect(c.sh(h, "readlink /etc/sysconfig/selinux").stdout.trim()).toBe("../selinux/config");
        }
    });

    test("sysctl and modules-load files are exactly what the program renders; other files stay", () => {
        for (const h of c.hosts) {
            expect(c.readFile(h, "/etc/sysctl.d/90-kubeadm-cluster.conf")).toBe(renderSysctl(spec));
            const conntrack = h.os === "centos7" ? "nf_conntrack_ipv4" : "nf_conntrack";
            expect(c.readFile(h, "/etc/modules-load.d/kubeadm-cluster.conf")).toBe(
                `# managed by kubeadm-cluster\nbr_netfilter\noverlay\nip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\n${conntrack}\n`,
            );
        }
        const r8 = c.host("r8");
        expect(c.readFile(r8, "/etc/sysctl.d/50-search.conf")).toBe(USER_SYSCTL);
        expect(c.readFile(r8, "/etc/modules-load.d/wireguard.conf")).toBe("wireguard\n");
        expect(c.sh(r8, "sysctl -n vm.max_map_count").stdout).toBe("262144\n");
    });

    test("repo files: CentOS 7 moved to the configured vault; Docker and Kubernetes repos from the configured mirror", () => {
        const c7 = c.host("c7");
        expect(c.readFile(c7, "/etc/yum.repos.d/CentOS-Base.repo")).toBe(
            [
                "# kubeadm-cluster: mirrorlist.centos.org is gone, so the baseurls point at the vault; the original is CentOS-Base.repo.kubeadm-cluster.bak",
                "# CentOS-Base.repo",
                "#",
                "# The mirror system uses the connecting IP address of the client and the",
                "# update status of each mirror to pick mirrors that are updated to and",
                "# geographically close to the client.  You should use this for CentOS updates",
                "# unless you are manually picking other mirrors.",
                "#",
                "",
                "[base]",
                "name=CentOS-$releasever - Base",
                "#mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra",
                `baseurl=${MIRROR}/centos-vault/7.9.2009/os/$basearch/`,
                "gpgcheck=1",
                "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7",
                "",
                "#released updates",
                "[updates]",
                "name=CentOS-$releasever - Updates",
                "#mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra",
                `baseurl=${MIRROR}/centos-vault/7.9.2009/updates/$basearch/`,
                "gpgcheck=1",
                "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7",
                "",
                "#additional packages that may be useful",
                "[extras]",
                "name=CentOS-$releasever - Extras",
                "#mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=extras&infra=$infra",
                `baseurl=${MIRROR}/centos-vault/7.9.2009/extras/$basearch/`,
                "gpgcheck=1",
                "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7",
                "",
            ].join("\n"),
        );
        expect(c.readFile(c7, "/etc/yum.repos.d/CentOS-Base.repo.kubeadm-cluster.bak")).toContain("\nmirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra\n");
        for (const h of c.hosts) {
            const major = h.os === "centos7" ? 7 : h.os === "rocky8" ? 8 : 9;
            expect(c.readFile(h, "/etc/yum.repos.d/docker-ce.repo")).toBe(
                `# managed by kubeadm-cluster\n[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=${MIRROR}/docker-ce/linux/centos/${major}/$basearch/stable\nenabled=1\ngpgcheck=1\ngpgkey=${MIRROR}/docker-ce/linux/centos/gpg\n`,
            );
            expect(c.readFile(h, "/etc/yum.repos.d/kubernetes.repo")).toBe(renderKubernetesRepo(spec));
            expect(c.readFile(h, "/etc/yum.repos.d/kubernetes.repo")).toContain(`baseurl=${MIRROR}/k8s/core:/stable:/v1.33/rpm/\n`);
            if (h.os !== "centos7") expect(c.exists(h, "/etc/yum.repos.d/CentOS-Base.repo.kubeadm-cluster.bak")).toBe(false);
        }
    });

    test("containerd: config layout chosen by the version containerd reports; packaged or user config backed up", () => {
        const sandboxImage = pauseImage(spec);
        for (const name of ["c7", "r8", "a9"]) {
            expect(c.readFile(c.host(name), "/etc/containerd/config.toml")).toBe(renderContainerdConfig(1, { sandboxImage }));
        }
        const r9 = c.host("r9");
        expect(c.sh(r9, "containerd --version").stdout).toMatch(/ v2\.1\.4 /);
        expect(c.readFile(r9, "/etc/containerd/config.toml")).toBe(renderContainerdConfig(2, { sandboxImage }));
        expect(c.readFile(c.host("r8"), "/etc/containerd/config.toml.kubeadm-cluster.bak")).toBe(USER_CONTAINERD);
        expect(c.readFile(c.host("c7"), "/etc/containerd/config.toml.kubeadm-cluster.bak")).toContain('disabled_plugins = ["cri"]');
        for (const name of ["c7", "r8", "r9", "a9"]) {
            const h = c.host(name);
            expect(c.readFile(h, "/etc/containerd/certs.d/docker.io/hosts.toml")).toBe(renderContainerdHostsToml(spec.registryMirrors));
            expect(c.readFile(h, "/etc/crictl.yaml")).toBe(
                "# managed by kubeadm-cluster\nruntime-endpoint: unix:///var/run/containerd/containerd.sock\nimage-endpoint: unix:///var/run/containerd/containerd.sock\ntimeout: 10\n",
            );
            expect(c.sh(h, "systemctl is-enabled containerd; systemctl is-active containerd; test -S /run/containerd/containerd.sock && echo socket").stdout).toBe("enabled\nactive\nsocket\n");
        }
    });

    test("runtime-docker (Rocky 9): daemon.json, cri-dockerd RPM installed with --nodeps, drop-in with the pause image", () => {
        const d9 = c.host("d9");
        const calls = changingCalls(stepCalls(journalFirst.get("d9")!, "runtime-docker"));
        expect(calls).toContain("dnf install -y docker-ce docker-ce-cli containerd.io");
        expect(calls).toContain("rpm -U --nodeps https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.14/cri-dockerd-0.3.14-3.el8.x86_64.rpm");
        expect(c.readFile(d9, "/etc/docker/daemon.json")).toBe(renderDockerDaemonJson(dockerSpec));
        expect(c.readFile(d9, "/etc/systemd/system/cri-docker.service.d/10-kubeadm-cluster.conf")).toBe(
            `# managed by kubeadm-cluster\n[Service]\nExecStart=\nExecStart=/usr/bin/cri-dockerd --pod-infra-container-image=${pauseImage(dockerSpec)} --container-runtime-endpoint fd://\n`,
        );
        expect(c.readFile(d9, "/etc/crictl.yaml")).toContain("runtime-endpoint: unix:///var/run/cri-dockerd.sock\n");
        expect(c.sh(d9, "docker info --format '{{.CgroupDriver}}'; for u in docker cri-docker.socket cri-docker; do systemctl is-enabled $u; systemctl is-active $u; done").stdout).toBe(
            "systemd\nenabled\nactive\nenabled\nactive\nenabled\nactive\n",
        );
    });

    test("kube-packages: exact versions, kubelet node IP, kubelet enabled but not started", () => {
        for (const h of c.hosts) {
            for (const p of ["kubeadm", "kubelet", "kubectl"]) expect(c.sh(h, `rpm -q ${p}`).stdout).toBe(`${p}-1.33.5-150500.1.1.x86_64\n`);
            expect(c.readFile(h, "/etc/sysconfig/kubelet")).toBe(`KUBELET_EXTRA_ARGS=--node-ip=${h.ip}\n`);
            expect(c.sh(h, "systemctl is-enabled kubelet; systemctl is-active kubelet").stdout).toBe("enabled\ninactive\n");
        }
    });

    test("prep-timesync: chrony's pool replaced by the configured servers, the rest of chrony.conf kept", () => {
        for (const h of c.hosts) {
            const conf = c.readFile(h, "/etc/chrony.conf")!;
            expect(conf.split("\n").filter((l) => /^(server|pool) /.test(l))).toEqual(["server ntp1.example.internal iburst", "server ntp2.example.internal iburst"]);
            expect(conf).toContain("\nmakestep 1.0 3\n");
            expect(conf.startsWith("# Use public servers from the pool.ntp.org project.\n")).toBe(true);
            expect(changingCalls(stepCalls(journalFirst.get(h.name)!, "prep-timesync"))).toEqual(["systemctl restart chronyd"]);
        }
        expect(c.readFile(c.host("r8"), "/etc/chrony.conf")!.endsWith(USER_CHRONY_EXTRA)).toBe(true);
    });

    test("prep-firewall: exactly the role's ports, the CNI's, trusted pod/service networks, one reload", () => {
        const cpTcp = "6443/tcp 2379-2380/tcp 10250/tcp 10257/tcp 10259/tcp 30000-32767/tcp 179/tcp 5473/tcp 4789/udp";
        const wTcp = "10250/tcp 30000-32767/tcp 179/tcp 5473/tcp 4789/udp";
        for (const h of c.hosts) {
            const out = c.sh(h, "firewall-cmd --permanent --list-ports; firewall-cmd --permanent --list-protocols; firewall-cmd --permanent --zone=trusted --list-sources; firewall-cmd --list-ports; firewall-cmd --permanent --query-masquerade").stdout;
            const ports = h.role === "control-plane" ? cpTcp : wTcp;
            expect(out).toBe(`${ports}\n4\n10.244.0.0/16 10.96.0.0/12\n${ports}\nyes\n`);
            expect(changingCalls(stepCalls(journalFirst.get(h.name)!, "prep-firewall")).filter((l) => l.includes("--reload"))).toEqual(["firewall-cmd --reload"]);
        }
    });

    test("through sudo -n as a non-root user (AlmaLinux 9) the steps do the same as root", () => {
        const strip = (j: string[], name: string) => changingCalls(j).map((l) => l.replace(new RegExp(`\\b${name}\\b`), "X"));
        expect(strip(journalFirst.get("a9")!, "a9")).toEqual(strip(journalFirst.get("r9")!, "r9"));
        expect(c.sh(c.host("a9"), "stat -c %U /etc/sysctl.d/90-kubeadm-cluster.conf").stdout).toBe("root\n");
    });
});

describe("second run (idempotency)", () => {
    test.each(["c7", "r8", "r9", "a9", "d9"])("every step exits 0 on %s, installs/restarts/changes nothing, files byte-identical", (name) => {
        expectAllOk(second.get(name), name);
        expect(changingCalls(journalSecond.get(name)!.map((l) => l.replace(/^[^:]+: /, "")))).toEqual([]);
        const h = c.host(name);
        expect(c.snapshot(h)).toEqual(snapAfter.get(name));
    });

    test("the first run changed only what it should (no stray files)", () => {
        const r8 = c.host("r8");
        const before = snapBefore.get("r8")!;
        const after = snapAfter.get("r8")!;
        const changed = Object.keys(after).filter((k) => before[k] !== after[k]);
        const removed = Object.keys(before).filter((k) => !(k in after));
        expect(removed).toEqual([]);
        const unexpected = changed.filter(
            (k) =>
                !/^\/etc\/(hostname|hosts|fstab|selinux\/config|chrony\.conf|crictl\.yaml|sysconfig\/kubelet)$/.test(k) &&
                !/^\/etc\/(sysctl\.d\/90-kubeadm-cluster\.conf|modules-load\.d\/kubeadm-cluster\.conf)$/.test(k) &&
                !/^\/etc\/yum\.repos\.d\/(docker-ce|kubernetes)\.repo$/.test(k) &&
                !/^\/etc\/containerd\//.test(k) &&
                !/^\/usr\/local\/bin\/(containerd|ctr|crictl|kubeadm|kubectl|kubelet|ipvsadm)$/.test(k) &&
                !/^\/var\/lib\/kc-standin\//.test(k) &&
                !/^\/(proc\/swaps|run\/containerd\/containerd\.sock)$/.test(k),
        );
        expect(unexpected).toEqual([]);
        expect(c.exists(r8, "/etc/kubeadm-cluster")).toBe(false);
    });
});
