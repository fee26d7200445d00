// The keepalived-haproxy endpoint with the real programs on three control-plane test hosts: real
// keepalived (VRRP over unicast between the hosts' namespaces, PASS authentication, chk_haproxy as
// rendered), real haproxy (TCP on 8443, GET /readyz health checks over TLS), real TCP and TLS from a
// fourth host through the virtual IP. Stood in for: the API servers (a small HTTPS server per host
// answering /readyz and its host's name) and systemd (the systemctl stand-in answers chk_haproxy's
// `systemctl is-active haproxy` from the unit state the test sets when it starts or stops the real
// haproxy). All configuration comes from components/render/ha.ts for a spec of these hosts.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { performance } from "perf_hooks";
import { HaLab } from "./ha-lab";

jest.setTimeout(60_000);

const VIP = "10.250.0.100";
let lab: HaLab;

beforeAll(async () => {
    lab = await HaLab.create({ controlPlaneIps: ["10.250.0.31", "10.250.0.32", "10.250.0.33"], clientIp: "10.250.0.34", vip: VIP });
    for (const h of lab.cps) lab.startApiServer(h);
}, 60_000);

afterAll(async () => {
    await lab?.destroy();
});

const names = () => lab.cps.map((h) => h.name);
const host = (name: string) => lab.cps.find((h) => h.name === name)!;

/** n requests for /whoami through the VIP: every one must succeed with TLS from the API server that answered. */
function whoamis(n: number): string[] {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) {
        const r = lab.request("/whoami");
        expect({ ok: r.ok, curlExit: r.curlExit, status: r.status }).toEqual({ ok: true, curlExit: 0, status: 200 });
        // haproxy passes TCP through: the certificate is the answering API server's own
        expect(r.certName).toBe(r.body);
        seen.push(r.body);
    }
    return seen;
}

test("haproxy -c and keepalived -t accept the rendered configuration on every control plane", () => {
    for (const h of lab.cps) {
        const { haproxy, keepalived } = lab.checkConfigs(h);
        expect({ host: h.name, code: haproxy.code, out: haproxy.stdout }).toEqual({ host: h.name, code: 0, out: expect.stringContaining("Configuration file is valid") });
        expect({ host: h.name, code: keepalived.code, out: keepalived.stdout.replace(lab.authPass, "<pass>") }).toEqual({ host: h.name, code: 0, out: expect.any(String) });
    }
    // what keepalived runs: unicast to the two peers, the VIP as /32 on the host's own interface
    const conf = lab.keepalivedConf(lab.cps[0]);
    expect(conf).toContain(`unicast_src_ip ${lab.cps[0].ip}`);
    expect(conf).toContain(`${VIP}/32 dev eth0`);
});

test("started, keepalived puts the VIP on master01 alone and it answers over TLS through haproxy, reaching every API server", async () => {
    for (const h of lab.cps) lab.startHaproxy(h);
    for (const h of lab.cps) lab.startKeepalived(h);
    // all BACKUP: the first claims the VIP when no advertisement comes (about 3 advert intervals)
    const t0 = performance.now();
    expect(await lab.waitHolder((n) => n === "master01", 15_000)).toBe("master01");
    console.log(`VIP ${VIP} on master01 ${((performance.now() - t0) / 1000).toFixed(2)} s after keepalived started`);
    // chk_haproxy as rendered ran and passed (the stand-in answered at /usr/bin/systemctl)
    for (const h of lab.cps) {
        expect(lab.keepalivedLog(h)).toContain("VRRP_Script(chk_haproxy) succeeded");
        expect(lab.c.journal(h)).toContain("-: systemctl is-active --quiet haproxy");
        // VRRP over unicast from the host's own address
        expect(lab.keepalivedLog(h)).toContain(`unicast, address(${h.ip})`);
    }
    expect(lab.keepalivedLog(host("master01"))).toContain("Entering MASTER STATE");
    for (const n of ["master02", "master03"]) expect(lab.keepalivedLog(host(n))).not.toContain("Entering MASTER STATE");

    const ready = lab.request("/readyz");
    expect({ ok: ready.ok, body: ready.body }).toEqual({ ok: true, body: "ok" });
    // round robin over the three API servers, one TCP connection per request
    expect(new Set(whoamis(6))).toEqual(new Set(names()));
    expect(lab.holders()).toEqual(["master01"]);
});

test("stopping the holder's keepalived moves the VIP to master02; requests keep working; back on master01 when it returns", async () => {
    const f = await lab.failover((h) => lab.stopKeepalived(h, false));
    lab.stopKeepalived(host("master01")); // until it has exited
    expect(lab.keepalivedLog(host("master01"))).toContain("Stopped Keepalived");
    console.log(`failover, holder's keepalived stopped: ${f.from} -> ${f.to}, VIP answering again after ${f.ms.toFixed(0)} ms (stop done ${f.stoppedMs.toFixed(0)} ms, VIP moved ${f.movedMs.toFixed(0)} ms)`);
    expect([f.from, f.to]).toEqual(["master01", "master02"]);
    expect(lab.holders()).toEqual(["master02"]);
    // master02's haproxy forwards to all three API servers (master01's still runs)
    expect(new Set(whoamis(6))).toEqual(new Set(names()));

    // no nopreempt: the first control plane takes the VIP back when its keepalived returns
    const t0 = performance.now();
    lab.startKeepalived(host("master01"));
    expect(await lab.waitHolder((n) => n === "master01", 15_000)).toBe("master01");
    console.log(`VIP back on master01 ${((performance.now() - t0) / 1000).toFixed(2)} s after its keepalived restarted`);
    expect(lab.request("/readyz").ok).toBe(true);
});

test("stopping the holder's haproxy demotes it (chk_haproxy fails, priority 150 - 30 < 140): the VIP moves and requests keep working", async () => {
    const f = await lab.failover((h) => lab.stopHaproxy(h));
    console.log(`failover, holder's haproxy stopped: ${f.from} -> ${f.to}, VIP answering again after ${f.ms.toFixed(0)} ms (stop done ${f.stoppedMs.toFixed(0)} ms, VIP moved ${f.movedMs.toFixed(0)} ms)`);
    expect([f.from, f.to]).toEqual(["master01", "master02"]);
    expect(lab.holders()).toEqual(["master02"]);
    const log = lab.keepalivedLog(host("master01"));
    expect(log).toContain("VRRP_Script(chk_haproxy) failed");
    expect(log).toContain("Changing effective priority from 150 to 120");
    // keepalived still runs on master01 (BACKUP); only its priority dropped
    expect(log.slice(log.lastIndexOf("Starting Keepalived"))).not.toContain("Stopped Keepalived");
    expect(log.slice(log.lastIndexOf("Changing effective priority"))).toContain("Entering BACKUP STATE");
    expect(new Set(whoamis(6))).toEqual(new Set(names()));

    // haproxy back: chk_haproxy passes again (rise 2) and master01 preempts
    const t0 = performance.now();
    lab.startHaproxy(host("master01"));
    expect(await lab.waitHolder((n) => n === "master01", 20_000)).toBe("master01");
    console.log(`VIP back on master01 ${((performance.now() - t0) / 1000).toFixed(2)} s after its haproxy restarted`);
    expect(lab.request("/readyz").ok).toBe(true);
});

test("an API server that stops is taken out of haproxy's rotation (GET /readyz fails 3 times); requests through the VIP still succeed", async () => {
    lab.stopApiServer(host("master03"));
    // until haproxy marks it down (inter 3s, fall 3), requests sent to master03 fail; measure that
    const t0 = performance.now();
    const end = t0 + 25_000;
    let clean = 0;
    let failed = 0;
    while (clean < 6 && performance.now() < end) {
        const r = lab.request("/whoami", 1.5, 1);
        if (r.ok && r.body !== "master03") clean++;
        else {
            clean = 0;
            failed++;
        }
        await new Promise((res) => setTimeout(res, 50));
    }
    console.log(`master03's API server stopped: out of rotation after ${((performance.now() - t0) / 1000).toFixed(2)} s (${failed} requests failed before)`);
    expect(clean).toBe(6);
    const seen = whoamis(8);
    expect(new Set(seen)).toEqual(new Set(["master01", "master02"]));
    expect(lab.holders()).toEqual(["master01"]);
});

test("teardown stops keepalived, haproxy and the API server stand-ins and leaves no process, namespace, link, address or directory", async () => {
    const pids = [...lab.startedPids];
    const ids = lab.c.hosts.map((h) => h.id);
    expect(pids.length).toBeGreaterThanOrEqual(3 * 4);
    await lab.destroy();
    const state = (pid: number) => execFileSync("bash", ["-c", `sed 's/.*) //' /proc/${pid}/stat 2>/dev/null | cut -d' ' -f1 || true`], { encoding: "utf8" }).trim() || "gone";
    for (const pid of pids) expect({ pid, state: ["gone", "Z"].includes(state(pid)) }).toEqual({ pid, state: true });
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
    const mounts = execFileSync("mount", { encoding: "utf8" });
    for (const id of ids) {
        expect(netns).not.toContain(`kcth-${id}`);
        expect(links).not.toContain(`kcth-${id}`);
        expect(mounts).not.toContain(id);
        expect(execFileSync("bash", ["-c", `ls /tmp/kcth/${id} 2>&1 || true`], { encoding: "utf8" })).toContain("No such file");
    }
    expect(execFileSync("ip", ["-o", "addr"], { encoding: "utf8" })).not.toContain(`${VIP}/`);
    // the harness's own temporary directory (keys, known_hosts)
    expect(fs.existsSync(lab.c.dir)).toBe(false);
});
