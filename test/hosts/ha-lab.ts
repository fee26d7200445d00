// Three control-plane test hosts behind a virtual IP, as the program's keepalived-haproxy load
// balancer builds them, with the real programs: keepalived (VRRP, unicast, PASS authentication,
// chk_haproxy) and haproxy (TCP on the endpoint port, /readyz checks over TLS), each running the
// configuration the program renders (components/render/ha.ts) inside its host's namespaces. The
// API servers are stood in for by a small HTTPS server per host (python3's http.server over TLS
// with a self-signed certificate made by openssl). A fourth test host is the client.
// Used by ha-failover.real-ssh.test.ts and bench/ha-failover.ts.
import { execFileSync, spawnSync } from "child_process";
import { performance } from "perf_hooks";
import { ClusterSpec } from "../../components/config/spec";
import { HAPROXY_CHECK_SCRIPT_PATH, renderHaproxyCfg, renderHaproxyCheckScript, renderKeepalivedConf } from "../../components/render/ha";
import { makeHaSpec } from "../fixtures/spec";
import { Cluster, OsName, ShResult, TestHost, checkHaPrerequisites, createCluster } from "./harness";

export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
const API_SERVER_PORT = 6443;
const HAPROXY_PID = "/run/haproxy.pid";
const KEEPALIVED_PID = "/run/keepalived.pid";
const VRRP_PID = "/run/vrrp.pid";
const KEEPALIVED_LOG = "/var/log/keepalived.log";
const APISERVER_DIR = "/opt/kc-test-apiserver";
const APISERVER_PID = "/run/kc-test-apiserver.pid";

/**
 * The API server stand-in: HTTPS on :6443; GET /readyz answers 200 "ok", any other path 200 with
 * the host's name. The TLS handshake happens in the connection's own thread, so a slow or silent
 * client (a health check, a cut connection) never holds up the others.
 */
const APISERVER_PY = `import http.server, ssl, sys
name, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path == "/readyz" else name.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def finish_request(self, request, client_address):
        request.settimeout(5)
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = Server(("0.0.0.0", ${API_SERVER_PORT}), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
srv.serve_forever()
`;

export interface HaLabOptions {
    /** The three control planes' addresses (10.250.0.x). */
    controlPlaneIps: [string, string, string];
    clientIp: string;
    /** The virtual IP, inside 10.250.0.0/24 and held by no test host. */
    vip: string;
    endpointPort?: number;
    authPass?: string;
    os?: OsName;
}

export interface Reply {
    ok: boolean;
    /** curl's exit code (0: an HTTP answer came). */
    curlExit: number;
    status: number;
    body: string;
    /** CN of the certificate the client saw: the API server that terminated TLS. */
    certName: string;
}

export interface Failover {
    /** From just before the stop until the VIP answered through another control plane. */
    ms: number;
    /** Until the stop had finished (the stopped program gone). */
    stoppedMs: number;
    /** Until `ip addr` first showed the VIP on another control plane alone. */
    movedMs: number;
    from: string;
    to: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HaLab {
    readonly cps: TestHost[];
    readonly client: TestHost;
    readonly spec: ClusterSpec;
    readonly vip: string;
    readonly port: number;
    readonly authPass: string;
    /** Every pid of keepalived, haproxy and the API server stand-ins ever started, for teardown checks. */
    readonly startedPids = new Set<number>();
    private torn = false;

    private constructor(readonly c: Cluster, o: HaLabOptions) {
        this.cps = c.hosts.slice(0, 3);
        this.client = c.hosts[3];
        this.vip = o.vip;
        this.port = o.endpointPort ?? 8443;
        this.authPass = o.authPass ?? "kcTest12";
        this.spec = makeHaSpec({
            hosts: this.cps.map((h) => h.spec),
            controlPlaneEndpoint: `${this.vip}:${this.port}`,
            ha: { loadBalancer: "keepalived-haproxy", vip: this.vip, endpointPort: this.port, virtualRouterId: 51 },
        });
    }

    /** Builds the four hosts and writes the rendered configuration; starts nothing. */
    static async create(o: HaLabOptions): Promise<HaLab> {
        checkHaPrerequisites();
        const os = o.os ?? "rocky9";
        const c = await createCluster([
            ...o.controlPlaneIps.map((ip, i) => ({ name: `master0${i + 1}`, ip, os, role: "control-plane" as const })),
            { name: "client", ip: o.clientIp, os },
        ]);
        const lab = new HaLab(c, o);
        try {
            lab.install();
        } catch (e) {
            await lab.destroy();
            throw e;
        }
        return lab;
    }

    /** The interface carrying the host's address, found as the facts step finds it. */
    iface(h: TestHost): string {
        const out = this.c.shOk(h, `ip -o -4 addr show | awk -v a=${h.ip}/ 'index($4, a) == 1 { print $2 }'`).trim();
        if (!out) throw new Error(`${h.name}: no interface carries ${h.ip}`);
        return out;
    }

    haproxyCfg(): string {
        return renderHaproxyCfg(this.spec);
    }

    keepalivedConf(h: TestHost): string {
        return renderKeepalivedConf(this.spec, h.spec, { authPass: this.authPass, interface: this.iface(h) });
    }

    /**
     * On each control plane, what lb-keepalived-haproxy leaves there, made by the renderers: the three
     * files with the step's modes; the directories the RHEL packages own (haproxy's chroot); the
     * systemctl stand-in also at /usr/bin/systemctl, where the check script's own PATH finds it.
     * And the API server stand-in's certificate and program.
     */
    private install(): void {
        const cfg = this.haproxyCfg();
        const check = renderHaproxyCheckScript(this.spec);
        for (const h of this.cps) {
            this.c.writeFile(h, HAPROXY_CFG_PATH, cfg, "0644");
            this.c.writeFile(h, HAPROXY_CHECK_SCRIPT_PATH, check, "0700");
            this.c.writeFile(h, KEEPALIVED_CONF_PATH, this.keepalivedConf(h), "0600");
            this.c.shOk(h, "mkdir -p /var/lib/haproxy && chmod 755 /var/lib/haproxy");
            this.c.systemStandin(h, "systemctl");
            this.c.writeFile(h, `${APISERVER_DIR}/apiserver.py`, APISERVER_PY, "0644");
            this.c.shOk(
                h,
                `cd ${APISERVER_DIR} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=${h.name} -keyout key.pem -out cert.pem 2>/dev/null`,
            );
        }
    }

    /** `haproxy -c` and `keepalived -t` (configuration tests) on the files as installed. */
    checkConfigs(h: TestHost): { haproxy: ShResult; keepalived: ShResult } {
        return {
            haproxy: this.c.sh(h, `haproxy -c -f ${HAPROXY_CFG_PATH} 2>&1`),
            keepalived: this.c.sh(h, `keepalived -t -f ${KEEPALIVED_CONF_PATH} 2>&1`),
        };
    }

    private track(pid: string): number {
        const n = Number(pid.trim());
        if (!Number.isInteger(n) || n <= 1) throw new Error(`not a pid: '${pid}'`);
        this.startedPids.add(n);
        return n;
    }

    startApiServer(h: TestHost): void {
        const pid = this.c.shOk(
            h,
            `cd ${APISERVER_DIR}
            setsid /usr/bin/python3 apiserver.py ${h.name} cert.pem key.pem </dev/null >>/var/log/kc-test-apiserver.log 2>&1 &
            echo $! >${APISERVER_PID}
            for i in $(seq 1 100); do ss -Hltn "sport = :${API_SERVER_PORT}" | grep -q . && { cat ${APISERVER_PID}; exit 0; }; sleep 0.05; done
            cat /var/log/kc-test-apiserver.log >&2; exit 1`,
        );
        this.track(pid);
    }

    stopApiServer(h: TestHost): void {
        this.c.shOk(h, killByPidfile(APISERVER_PID) + waitPortFree(API_SERVER_PORT));
    }

    /**
     * Starts the real haproxy (daemon, as haproxy.service does) and then marks the unit active in
     * the systemctl stand-in, which is what chk_haproxy asks.
     */
    startHaproxy(h: TestHost): void {
        const pid = this.c.shOk(
            h,
            `haproxy -f ${HAPROXY_CFG_PATH} -D -p ${HAPROXY_PID}
            for i in $(seq 1 100); do ss -Hltn "sport = :${this.port}" | grep -q . && break; sleep 0.05; done
            ss -Hltn "sport = :${this.port}" | grep -q . || { echo "haproxy does not listen on ${this.port}" >&2; exit 1; }
            printf 'enabled active\\n' >/var/lib/kc-standin/units/haproxy.service
            head -n 1 ${HAPROXY_PID}`,
        );
        this.track(pid);
    }

    /** systemctl stop haproxy: the unit inactive in the stand-in, the real haproxy gone. */
    stopHaproxy(h: TestHost): void {
        this.c.shOk(h, `printf 'enabled inactive\\n' >/var/lib/kc-standin/units/haproxy.service\n${killByPidfile(HAPROXY_PID)}`);
    }

    /** The real keepalived in the foreground of its own session (-n), logging to a file (-l -D). */
    startKeepalived(h: TestHost): void {
        const out = this.c.shOk(
            h,
            `rm -f ${KEEPALIVED_PID} ${VRRP_PID}
            setsid keepalived -n -l -D -f ${KEEPALIVED_CONF_PATH} -p ${KEEPALIVED_PID} -r ${VRRP_PID} </dev/null >>${KEEPALIVED_LOG} 2>&1 &
            for i in $(seq 1 100); do [ -s ${KEEPALIVED_PID} ] && [ -s ${VRRP_PID} ] && break; sleep 0.05; done
            [ -s ${VRRP_PID} ] || { tail -n 30 ${KEEPALIVED_LOG} >&2; exit 1; }
            cat ${KEEPALIVED_PID} ${VRRP_PID}`,
        );
        for (const p of out.trim().split(/\s+/)) this.track(p);
    }

    /**
     * systemctl stop keepalived: SIGTERM to the main process, which stops its VRRP child; both gone.
     * wait false: only the signal (keepalived takes about a second to exit; a failover measured from
     * the signal runs meanwhile). Called again, it waits for what is left.
     */
    stopKeepalived(h: TestHost, wait = true): void {
        if (!wait) {
            this.c.shOk(h, `kill "$(head -n 1 ${KEEPALIVED_PID})"`);
            return;
        }
        this.c.shOk(h, `vrrp=$(cat ${VRRP_PID} 2>/dev/null || true)\n${killByPidfile(KEEPALIVED_PID)}
            if [ -n "$vrrp" ]; then for i in $(seq 1 250); do alive "$vrrp" || exit 0; sleep 0.02; done; exit 1; fi`);
    }

    keepalivedLog(h: TestHost): string {
        return this.c.readFile(h, KEEPALIVED_LOG) ?? "";
    }

    /** Names of the control planes whose interface holds the VIP (read with `ip -n` from outside). */
    holders(): string[] {
        return this.cps
            .filter((h) => {
                const out = execFileSync("ip", ["-n", this.c.netns(h), "-o", "-4", "addr", "show"], { encoding: "utf8" });
                return out.split("\n").some((l) => l.split(/\s+/)[3] === `${this.vip}/32`);
            })
            .map((h) => h.name);
    }

    /** One HTTPS request from the client host to https://VIP:port/path (certificate not verified). */
    request(path: string, maxTimeS = 2, connectTimeoutS = 1): Reply {
        const r = spawnSync(
            "nsenter",
            [
                "-t", this.c.pid(this.client), "-n", "--",
                "curl", "-sSk", "-v", "--noproxy", "*",
                "--connect-timeout", String(connectTimeoutS), "--max-time", String(maxTimeS),
                "-w", "\\n%{http_code}",
                `https://${this.vip}:${this.port}${path}`,
            ],
            { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" } },
        );
        const lines = (r.stdout ?? "").split("\n");
        const status = Number(lines.pop() ?? 0) || 0;
        const body = lines.join("\n");
        const certName = /subject: CN\s*=\s*(\S+)/.exec(r.stderr ?? "")?.[1] ?? "";
        const curlExit = r.status ?? -1;
        return { ok: curlExit === 0 && status === 200, curlExit, status, body, certName };
    }

    /** Waits until the VIP sits on one control plane accepted by `want`; returns its name. */
    async waitHolder(want: (name: string) => boolean, limitMs: number): Promise<string> {
        const end = performance.now() + limitMs;
        let hs: string[] = [];
        while (performance.now() < end) {
            hs = this.holders();
            if (hs.length === 1 && want(hs[0])) return hs[0];
            await sleep(20);
        }
        throw new Error(`VIP ${this.vip} held by [${hs.join(", ")}] after ${limitMs} ms`);
    }

    /**
     * Runs `stop` on the current holder and measures from just before it until the VIP sits on
     * another control plane alone and answers GET /readyz through it.
     */
    async failover(stop: (h: TestHost) => void, limitMs = 20_000): Promise<Failover> {
        const hs = this.holders();
        if (hs.length !== 1) throw new Error(`VIP ${this.vip} held by [${hs.join(", ")}] before the failover`);
        const from = this.cps.find((h) => h.name === hs[0]) as TestHost;
        const t0 = performance.now();
        stop(from);
        const stoppedMs = performance.now() - t0;
        const end = t0 + limitMs;
        let movedMs = -1;
        while (performance.now() < end) {
            const now = this.holders();
            if (now.length === 1 && now[0] !== from.name) {
                if (movedMs < 0) movedMs = performance.now() - t0;
                const r = this.request("/readyz", 1, 0.25);
                if (r.ok && r.body === "ok") return { ms: performance.now() - t0, stoppedMs, movedMs, from: from.name, to: now[0] };
            }
            await sleep(10);
        }
        throw new Error(`after stopping on ${from.name}, the VIP did not answer through another host within ${limitMs} ms (held by [${this.holders().join(", ")}])`);
    }

    /** Stops keepalived, haproxy and the API server stand-in on every control plane (best effort). */
    stopAll(): void {
        for (const h of this.cps) {
            this.c.sh(h, `for f in ${KEEPALIVED_PID} ${VRRP_PID} ${HAPROXY_PID} ${APISERVER_PID}; do\n${killByPidfile('"$f"')}done`);
        }
    }

    /** stopAll, then the harness's teardown (which also kills whatever else runs in the hosts). */
    async destroy(): Promise<void> {
        if (this.torn) return;
        this.torn = true;
        try {
            this.stopAll();
        } finally {
            await this.c.destroy();
        }
    }
}

/** Shell: whether pid $1 runs (a zombie waiting for its reaper has stopped running). */
const ALIVE = `alive() { [ -r /proc/$1/stat ] && [ "$(sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1)" != Z ]; }`;

/** Shell: SIGTERM to the pid in FILE, then wait (up to 5 s, then SIGKILL) until it has stopped; FILE removed. */
function killByPidfile(file: string): string {
    return `${ALIVE}
p=$(head -n 1 ${file} 2>/dev/null || true)
if [ -n "$p" ]; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 1 250); do alive "$p" || break; sleep 0.02; done
    if alive "$p"; then kill -9 "$p" 2>/dev/null || true; fi
    rm -f ${file}
fi
`;
}

function waitPortFree(port: number): string {
    return `for i in $(seq 1 100); do ss -Hltn "sport = :${port}" | grep -q . || exit 0; sleep 0.05; done; exit 1`;
}
