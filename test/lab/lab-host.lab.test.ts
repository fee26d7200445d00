// Lab hosts themselves (test/hosts/README.md, "Lab hosts"): a package install gives the lab's real
// binaries and refuses a version the lab did not build; systemctl runs, restarts and stops the real
// containerd; and whatever ran on the host (daemons, containers, their cgroups) is gone after
// `host.sh down`, and after `host.sh cleanup` when the run that made the host was killed.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { Cluster, HOST_SH, TestHost, createCluster } from "../hosts/harness";
import { KUBE, imageArchive, kubeadmImages, requireLab } from "./lab";

jest.setTimeout(180_000);

let c: Cluster;
let h: TestHost;

beforeAll(async () => {
    requireLab("cluster");
    c = await createCluster([{ name: "lab01", ip: "10.250.0.21", os: "rocky9", lab: 2 }]);
    [h] = c.hosts;
});

afterAll(async () => {
    await c?.destroy();
});

const repo = (minor: string) =>
    `[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/\nenabled=1\ngpgcheck=1\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n`;

describe("a lab host", () => {
    test("a package install puts the lab's real binaries in place; a version the lab did not build is not in the repo", () => {
        const minor = KUBE.split(".").slice(0, 2).join(".");
        c.writeFile(h, "/etc/yum.repos.d/kubernetes.repo", repo(minor));
        c.shOk(h, `dnf install -y --disableexcludes=kubernetes kubeadm-${KUBE} kubelet-${KUBE} kubectl-${KUBE}`);
        expect(c.shOk(h, "kubeadm version -o short").trim()).toBe(`v${KUBE}`);
        expect(c.shOk(h, "kubelet --version").trim()).toBe(`Kubernetes v${KUBE}`);
        const missing = c.sh(h, `dnf install -y --disableexcludes=kubernetes kubeadm-${minor}.99`);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain(`No match for argument: kubeadm-${minor}.99`);
    });

    test("systemctl runs the real containerd, starts it again when it dies (Restart=always), and stops it", async () => {
        c.writeFile(h, "/etc/yum.repos.d/docker-ce.repo", "[docker-ce-stable]\nbaseurl=https://download.docker.com/linux/centos/9/x86_64/stable\nenabled=1\n");
        c.shOk(h, "dnf install -y containerd.io && systemctl enable --now containerd");
        expect(c.shOk(h, "systemctl is-active containerd").trim()).toBe("active");
        const pid = c.shOk(h, "cat /run/kc-lab/units/containerd.service.main").trim();
        expect(c.shOk(h, `cat /proc/${pid}/comm`).trim()).toBe("containerd");
        c.shOk(h, `kill -9 ${pid}`);
        // RestartSec=5, as in containerd.io's unit.
        const end = Date.now() + 20_000;
        let again = "";
        while (Date.now() < end) {
            again = c.sh(h, "cat /run/kc-lab/units/containerd.service.main 2>/dev/null").stdout.trim();
            if (again && again !== pid && c.sh(h, "ctr version").code === 0) break;
            await new Promise((r) => setTimeout(r, 500));
        }
        expect(again).not.toBe(pid);
        expect(c.shOk(h, "ctr version")).toContain("Server:");
        c.shOk(h, "systemctl stop containerd");
        expect(c.sh(h, "systemctl is-active containerd").stdout.trim()).toBe("inactive");
        expect(c.sh(h, `kill -0 ${again}`).code).not.toBe(0);
    });

    test("down and cleanup leave nothing: no process (daemon or container), no cgroup, no namespace, even when the run that made the host was killed", async () => {
        // A container in the host's cgroup root, as the kubelet's pods are.
        c.shOk(h, "systemctl start containerd");
        const pause = kubeadmImages(KUBE).find((r) => r.includes("/pause:"))!;
        c.shOk(h, `ctr -n k8s.io images import ${imageArchive(pause)} >/dev/null`);
        const root = fs.readFileSync(`/tmp/kcth/${h.id}/cgroup-root`, "utf8").trim();
        c.shOk(h, `ctr -n k8s.io run -d --cgroup ${root}/lab-test ${pause} lab-test`);
        const pids = execFileSync("bash", ["-c", `ip netns pids kcth-${h.id}; cat /sys/fs/cgroup/pids${root}/lab-test/cgroup.procs`], { encoding: "utf8" })
            .split("\n")
            .filter(Boolean);
        expect(pids.length).toBeGreaterThan(3);
        // As after a killed test run: the harness's own teardown never ran; the next run's cleanup removes it.
        execFileSync("bash", [HOST_SH, "cleanup"], { stdio: "pipe" });
        // Still running: a process that exists and is not a zombie (dead, waiting for its parent to collect it).
        const running = (pid: string) => {
            try {
                const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
                return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z" ? "" : fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
            } catch {
                return "";
            }
        };
        for (const pid of pids) expect({ pid, running: running(pid) }).toEqual({ pid, running: "" });
        expect(fs.existsSync(`/sys/fs/cgroup/memory${root}`)).toBe(false);
        expect(fs.existsSync(`/sys/fs/cgroup/pids${root}`)).toBe(false);
        expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(`kcth-${h.id}`);
        expect(fs.existsSync(`/tmp/kcth/${h.id}`)).toBe(false);
    });
});
