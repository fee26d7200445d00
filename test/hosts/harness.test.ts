// The harness itself: real sshd/ssh logins into namespaced test hosts with their own hostname,
// /etc and fakes; stand-ins journal; teardown leaves nothing behind.
import { execFileSync } from "child_process";
import { Cluster, createCluster } from "./harness";

jest.setTimeout(120_000);

let c: Cluster;

beforeAll(async () => {
    c = await createCluster([
        { name: "h1", ip: "10.250.0.201", os: "rocky9", role: "control-plane", uuid: "11111111-2222-3333-4444-555555555555" },
        { name: "h2", ip: "10.250.0.202", os: "centos7", user: "kcadmin", cpus: 1, memMb: 900, swap: false },
    ]);
});

afterAll(async () => {
    await c?.destroy();
});

const sshRaw = (user: string, ip: string, cmd: string) =>
    execFileSync(
        "ssh",
        ["-F", "/dev/null", "-i", c.key, "-o", `UserKnownHostsFile=${c.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${user}@${ip}`, "--", cmd],
        { encoding: "utf8" },
    );

test("a real SSH login reaches each host, with its own hostname, /etc and fakes", () => {
    const [h1, h2] = c.hosts;
    const out1 = sshRaw("root", h1.ip, "uname -n; . /etc/os-release; echo $ID $VERSION_ID; nproc; cat /sys/class/dmi/id/product_uuid; awk '/MemTotal/ {print $2}' /proc/meminfo; tail -n +2 /proc/swaps | wc -l; echo $PATH");
    expect(out1.split("\n").slice(0, 7)).toEqual([
        "localhost.localdomain",
        "rocky 9.6",
        "2",
        "11111111-2222-3333-4444-555555555555",
        String(4096 * 1024),
        "1",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    const out2 = sshRaw("kcadmin", h2.ip, "sudo -n bash -c '. /etc/os-release; echo $ID $VERSION_ID; nproc; awk \"/MemTotal/ {print \\$2}\" /proc/meminfo; tail -n +2 /proc/swaps | wc -l; id -u; command -v yum dnf || true'");
    expect(out2.trim().split("\n")).toEqual(["centos 7", "1", String(900 * 1024), "0", "0", "/usr/local/bin/yum"]);
    // the machine's own /etc is untouched
    expect(execFileSync("bash", ["-c", ". /etc/os-release; echo $ID"], { encoding: "utf8" }).trim()).toBe("debian");
});

test("hosts reach each other over the bridge and nothing else", () => {
    const [h1, h2] = c.hosts;
    expect(c.sh(h1, `timeout 2 bash -c '</dev/tcp/${h2.ip}/22' && echo open`).stdout.trim()).toBe("open");
    expect(c.sh(h1, "ip route").stdout.trim()).toBe(`10.250.0.0/24 dev eth0 proto kernel scope link src ${h1.ip}`);
});

test("stand-ins journal their argv with the step that called them, and keep state", async () => {
    const h1 = c.hosts[0];
    c.clearJournal(h1);
    const r = await c.runStep(h1, "facts", { KC_ROLE: "control-plane", KC_MIN_CPUS: "1", KC_MIN_MEMORY_MB: "100", KC_CHECK_PORTS: "", KC_KUBE_MINOR: "33" });
    expect(r.code).toBe(0);
    sshRaw("root", h1.ip, "getenforce >/dev/null; setenforce 0; modprobe br_netfilter; sysctl -w net.bridge.bridge-nf-call-iptables=1 >/dev/null");
    expect(c.journal(h1)).toEqual([
        "-: getenforce",
        "-: setenforce 0",
        "-: modprobe br_netfilter",
        "-: sysctl -w net.bridge.bridge-nf-call-iptables=1",
    ]);
    expect(sshRaw("root", h1.ip, "getenforce; lsmod | awk '$1 == \"br_netfilter\"' | wc -l; sysctl -n net.bridge.bridge-nf-call-iptables")).toBe("Permissive\n1\n1\n");
});

test("injected failures fire on the matching call only", () => {
    const h1 = c.hosts[0];
    c.failNext(h1, "modprobe", "ip_vs", { after: 1 });
    const run = (m: string) => c.sh(h1, `modprobe ${m}`).code;
    expect([run("overlay"), run("ip_vs"), run("ip_vs"), run("ip_vs")]).toEqual([0, 0, 1, 0]);
});

test("teardown removes namespaces, links, processes and directories; cleanup finds nothing left", async () => {
    const c2 = await createCluster([{ name: "t1", ip: "10.250.0.203", os: "alma9" }]);
    const id = c2.hosts[0].id;
    const pid = c2.pid(c2.hosts[0]);
    c2.listen(c2.hosts[0], 6443);
    await c2.destroy();
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(`kcth-${id}`);
    expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(`kcth-${id}`);
    // gone, or a zombie waiting for its reaper: either way no longer running
    const state = () => execFileSync("bash", ["-c", `awk '{print $3}' /proc/${pid}/stat 2>/dev/null || echo gone`], { encoding: "utf8" }).trim();
    expect(["gone", "Z"]).toContain(state());
    expect(execFileSync("bash", ["-c", `ls /tmp/kcth/${id} 2>&1 || true`], { encoding: "utf8" })).toContain("No such file");
    expect(execFileSync("mount", { encoding: "utf8" })).not.toContain(id);
});
