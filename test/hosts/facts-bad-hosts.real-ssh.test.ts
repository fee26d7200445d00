// The facts step refuses bad hosts before anything is changed: unsupported OS (Ubuntu 22.04,
// CentOS 6), too few CPUs (the host's sshd really runs on one CPU), too little memory (a fake
// /proc/meminfo), a port already taken by a real listener in the host's network namespace.
// Real: SSH, bash, nproc, awk, ss, the listener (socat). Stood in: nothing the facts step calls
// changes anything; the journal and a checksum of the host prove it.
import { Cluster, TestHost, changingCalls, createCluster } from "./harness";
import { FAST, nodeStep, specFor } from "./params";

jest.setTimeout(120_000);

let c: Cluster;
let spec: ReturnType<typeof specFor>;
let busyPid = 0;
let kubeletPortPid = 0;

beforeAll(async () => {
    c = await createCluster([
        { name: "cp", ip: "10.250.0.41", os: "rocky9", role: "control-plane", uuid: "0a0a0a0a-1111-2222-3333-444444444444" },
        { name: "ubuntu", ip: "10.250.0.42", os: "ubuntu2204" },
        { name: "old", ip: "10.250.0.43", os: "centos6" },
        { name: "onecpu", ip: "10.250.0.44", os: "rocky8", role: "control-plane", cpus: 1 },
        { name: "smallmem", ip: "10.250.0.45", os: "alma9", memMb: 700 },
        { name: "busy", ip: "10.250.0.46", os: "centos7", role: "control-plane", uuid: "0a0a0a0a-1111-2222-3333-444444444444" },
    ]);
    spec = specFor(c.hosts);
});

afterAll(async () => {
    await c?.destroy();
});

async function facts(h: TestHost) {
    const { step, params } = nodeStep(spec, h, "facts");
    const before = c.snapshot(h);
    c.clearJournal(h);
    const r = await c.runStep(h, step, { ...params, ...FAST });
    return { r, journal: c.journal(h), unchanged: JSON.stringify(c.snapshot(h)) === JSON.stringify(before) };
}

function errorLines(stderr: string): string[] {
    return stderr.split("\n").filter((l) => l.includes("ERROR"));
}

test("Ubuntu 22.04: refused, naming the OS, the host and the supported ones; nothing changed", async () => {
    const { r, journal, unchanged } = await facts(c.host("ubuntu"));
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    const errors = errorLines(r.stderr);
    expect(errors[0]).toMatch(/^\[ubuntu\] ERROR: unsupported OS 'Ubuntu 22\.04\.5 LTS'/);
    expect(errors[0]).toMatch(/supported are CentOS 7 and Rocky Linux, AlmaLinux/);
    expect(errors[0]).toMatch(/\bubuntu\b.*reinstall/);
    expect(errors[errors.length - 1]).toMatch(/nothing was changed/);
    expect(changingCalls(journal.map((l) => l.replace(/^[^:]+: /, "")))).toEqual([]);
    expect(unchanged).toBe(true);
});

test("CentOS 6: refused as unsupported; nothing changed", async () => {
    const { r, journal, unchanged } = await facts(c.host("old"));
    expect(r.code).not.toBe(0);
    expect(errorLines(r.stderr)[0]).toMatch(/^\[old\] ERROR: unsupported OS 'CentOS Linux 6 \(Final\)'.*ID=centos VERSION_ID=6.*reinstall/);
    expect(changingCalls(journal.map((l) => l.replace(/^[^:]+: /, "")))).toEqual([]);
    expect(unchanged).toBe(true);
});

test("one CPU for a control plane: refused with the count and the fix", async () => {
    const h = c.host("onecpu");
    expect(c.sh(h, "true").code).toBe(0);
    const { r, unchanged } = await facts(h);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("[onecpu] ERROR: onecpu has 1 CPU(s); a control-plane needs at least 2: give the VM more CPUs");
    expect(unchanged).toBe(true);
});

test("700 MB for a worker: refused with the amount and the fix", async () => {
    const { r, unchanged } = await facts(c.host("smallmem"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("[smallmem] ERROR: smallmem has 700 MB of memory; a worker needs at least 1000 MB: give the VM more memory");
    expect(unchanged).toBe(true);
});

test("port 6443 held by a real listener: refused naming the port, the process and the fix; every problem reported at once", async () => {
    const h = c.host("busy");
    busyPid = c.listen(h, 6443);
    kubeletPortPid = c.listen(h, 10250);
    const { r, journal, unchanged } = await facts(h);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("[busy] ERROR: port 6443/tcp is already in use by socat on busy: Kubernetes needs it; stop that service or move it to another port, then run again");
    expect(r.stderr).toContain("[busy] ERROR: port 10250/tcp is already in use by socat on busy");
    expect(r.stderr).toContain("[busy] ERROR: busy is not ready for Kubernetes: 2 problem(s) above; nothing was changed");
    expect(changingCalls(journal.map((l) => l.replace(/^[^:]+: /, "")))).toEqual([]);
    expect(unchanged).toBe(true);
});

test("a port held by a Kubernetes process (a node set up earlier) is not a problem", async () => {
    const h = c.host("busy");
    c.stopListener(h, busyPid, 6443);
    // a listener whose process is called kube-apiserver, as on a node that already runs one;
    // 10250 is still held by socat
    c.listen(h, 6443, "kube-apiserver");
    const { r } = await facts(h);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain("port 6443");
    expect(r.stderr).toContain("[busy] ERROR: busy is not ready for Kubernetes: 1 problem(s) above; nothing was changed");
});

test("a good host prints its facts, with its product_uuid (duplicates are found from these outputs)", async () => {
    const { r, unchanged } = await facts(c.host("cp"));
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f).toMatchObject({
        os: "rocky",
        osVersion: "9.6",
        family: "el9",
        kernel: expect.any(String),
        cpus: 2,
        memoryMb: 4096,
        productUuid: "0a0a0a0a-1111-2222-3333-444444444444",
        cgroup: expect.stringMatching(/^v[12]$/),
        hostname: "localhost.localdomain",
        arch: expect.any(String),
    });
    expect(r.stdout.split("\n").filter((l) => l)).toHaveLength(1);
    expect(unchanged).toBe(true);
    // the same uuid on another host shows up in that host's facts too
    c.stopListener(c.host("busy"), kubeletPortPid, 10250);
    const busy = JSON.parse((await facts(c.host("busy"))).r.stdout);
    expect(busy.productUuid).toBe(f.productUuid);
});
