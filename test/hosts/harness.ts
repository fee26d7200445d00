// Test hosts for the remote-step tests: real sshd, real SSH client, real bash and coreutils, the
// program's own command line (renderCommand); stand-ins only for the tools listed in README.md.
// A cluster's hosts are built by lib/host.sh (network + UTS + mount namespaces on the bridge
// kcbr0, 10.250.0.0/24) and torn down by destroy(), by a process 'exit' hook, or by
// `host.sh cleanup` after a crash.
import { execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderCommand } from "../../components/remote/command";
import { UPLOAD_DIR, stepBundle, writeBundle } from "../../components/remote/bundle";
import { HostSpec, Role } from "../../components/config/spec";
import { installStepsCommand } from "../../components/nodes/host";

export const HOST_SH = path.join(__dirname, "lib", "host.sh");
const REPO_ROOT = path.join(__dirname, "..", "..");

export type OsName = "centos7" | "rocky8" | "rocky9" | "alma9" | "ubuntu2204" | "centos6";
export const SUPPORTED_OS: OsName[] = ["centos7", "rocky8", "rocky9", "alma9"];

export interface HostOptions {
    /** Hostname the step scripts set (KC_HOSTNAME) and node name. */
    name: string;
    /** 10.250.0.2 - 10.250.0.254 */
    ip: string;
    os: OsName;
    role?: Role;
    /** SSH user the steps run as; anything but root runs through sudo -n (a sudoer is created). */
    user?: string;
    /** 1: the host's sshd (and so every session) is pinned to one CPU, so nproc says 1. */
    cpus?: 1;
    memMb?: number;
    uuid?: string;
    /** An active swap area in /proc/swaps and a swap line in /etc/fstab (default true). */
    swap?: boolean;
    selinux?: "enforcing" | "permissive" | "disabled";
    /** What `containerd --version` reports once containerd.io is installed (default 1.7.27). */
    containerdVersion?: string;
    /**
     * A lab host (README "Lab hosts"): the real containerd (1: Debian's 1.6, 2: the lab's 2.x),
     * kubelet, kubeadm, kubectl, crictl, runc and iptables run on it, from test/lab/build.sh.
     */
    lab?: 1 | 2;
    /** A lab host's memory limit for its pods (its cgroup root), default 3072. */
    cgroupMemMb?: number;
}

export interface TestHost {
    /** Infrastructure id (netns kcth-<id>). */
    id: string;
    name: string;
    ip: string;
    os: OsName;
    role: Role;
    user: string;
    /** The host as the program's spec has it. */
    spec: HostSpec;
}

export interface StepResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** Milliseconds the SSH session took. */
    ms: number;
}

export interface ShResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface FailOptions {
    /** Matching calls that still succeed before the failure (default 0). */
    after?: number;
    /** How many matching calls fail before the rule is spent (default 1). */
    times?: number;
    /** fail: exit at once; partial: do part of the work, then fail; hang / partialhang: never return. */
    mode?: "fail" | "partial" | "hang" | "partialhang";
    exit?: number;
}

/** A step run that can be cut (SSH client killed) while it runs. */
export interface RunningStep {
    result: Promise<StepResult>;
    /** Kills the SSH client, as a dropped connection would. */
    cut(): void;
}

let clusterCounter = 0;
const liveClusters = new Set<Cluster>();

function hostSh(args: string[], opts: { input?: string } = {}): string {
    return execFileSync("bash", [HOST_SH, ...args], { encoding: "utf8", input: opts.input, stdio: ["pipe", "pipe", "pipe"] });
}

function runAsync(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** Shell-quote for the scripts the harness runs inside a host. */
export function q(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class Cluster {
    readonly hosts: TestHost[] = [];
    readonly dir: string;
    readonly key: string;
    readonly knownHosts: string;
    /** SSH sessions opened per host name (runStep only). */
    readonly sshSessions = new Map<string, number>();
    private destroyed = false;

    constructor(readonly tag: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `kcth-cluster-${tag}-`));
        this.key = path.join(this.dir, "id_ed25519");
        this.knownHosts = path.join(this.dir, "known_hosts");
    }

    host(name: string): TestHost {
        const h = this.hosts.find((x) => x.name === name);
        if (!h) throw new Error(`no test host ${name}`);
        return h;
    }

    pid(host: TestHost): string {
        return fs.readFileSync(`/tmp/kcth/${host.id}/pid`, "utf8").trim();
    }

    /** Runs a bash script as root inside the host's namespaces (not through SSH, no stand-in journal step). */
    sh(host: TestHost, script: string, input?: string): ShResult {
        const r = spawnSync("nsenter", ["-t", this.pid(host), "-m", "-u", "-n", "-p", "--", "bash", "-c", script], {
            encoding: "utf8",
            input,
            env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LC_ALL: "C" },
        });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    /** Like sh, but throws when the script fails. */
    shOk(host: TestHost, script: string, input?: string): string {
        const r = this.sh(host, script, input);
        if (r.code !== 0) throw new Error(`on ${host.name}: ${script}\nexit ${r.code}\n${r.stdout}${r.stderr}`);
        return r.stdout;
    }

    /** The exact command line the program sends for a step (KC_HOST added as remoteStep does). */
    command(host: TestHost, step: string, params: Record<string, string>, mode?: string, user?: string): string {
        return renderCommand(user ?? host.user, step, { KC_HOST: host.name, ...params }, mode);
    }

    /**
     * Ships the step files to a host as the program does (nodes/host.ts): the bundle directory the
     * program writes, uploaded over SFTP into the SSH user's ~/.kubeadm-cluster/ (the directory
     * itself, named by the bundle's hash, as CopyToRemote copies a directory), then the host's
     * install-steps command over SSH. Real: sftp and its server, ssh, the installer.
     */
    async installSteps(host: TestHost, opts: { tamper?: string } = {}): Promise<StepResult> {
        let local = path.join(REPO_ROOT, writeBundle(REPO_ROOT));
        let tmp: string | undefined;
        if (opts.tamper) {
            // A copy whose file `tamper` no longer matches the MANIFEST (as a copy cut short would leave it).
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kc-bundle-"));
            fs.cpSync(local, path.join(tmp, path.basename(local)), { recursive: true });
            local = path.join(tmp, path.basename(local));
            fs.appendFileSync(path.join(local, opts.tamper), "\necho tampered\n");
        }
        const batch = `-mkdir ${UPLOAD_DIR}\nput -r ${local} ${UPLOAD_DIR}/\n`;
        const sftp = spawnSync(
            "sftp",
            ["-b", "-", "-F", "/dev/null", "-i", this.key, "-o", `UserKnownHostsFile=${this.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-P", "22", `${host.user}@${host.ip}`],
            { input: batch, encoding: "utf8" },
        );
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        if (sftp.status !== 0) throw new Error(`sftp to ${host.name} failed:\n${sftp.stdout}${sftp.stderr}`);
        return this.runRaw(host, this.installCommand(host));
    }

    /** The host's install-steps command, as the program renders it for the current bundle. */
    installCommand(host: TestHost): string {
        return installStepsCommand(host.spec, stepBundle().hash);
    }

    /** Runs a command line over real SSH as the host's user. */
    runRaw(host: TestHost, cmd: string, timeoutMs = 120_000): Promise<StepResult> {
        return this.startCommand(host, host.user, cmd, timeoutMs).result;
    }

    private startCommand(host: TestHost, user: string, cmd: string, timeoutMs: number): RunningStep {
        this.sshSessions.set(host.name, (this.sshSessions.get(host.name) ?? 0) + 1);
        const args = [
            "-F", "/dev/null",
            "-i", this.key,
            "-o", `UserKnownHostsFile=${this.knownHosts}`,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR",
            "-p", "22",
            `${user}@${host.ip}`,
            "--",
            cmd,
        ];
        const started = Date.now();
        const p = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        const result = new Promise<StepResult>((resolve, reject) => {
            const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
            p.on("error", reject);
            p.on("close", (code, signal) => {
                clearTimeout(timer);
                resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
            });
        });
        return { result, cut: () => p.kill("SIGKILL") };
    }

    /** Starts a step over real SSH, exactly as the program sends it. */
    startStep(host: TestHost, step: string, params: Record<string, string>, mode?: string, opts: { user?: string; timeoutMs?: number } = {}): RunningStep {
        const user = opts.user ?? host.user;
        return this.startCommand(host, user, this.command(host, step, params, mode, user), opts.timeoutMs ?? 120_000);
    }

    runStep(host: TestHost, step: string, params: Record<string, string>, mode?: string, opts: { user?: string; timeoutMs?: number } = {}): Promise<StepResult> {
        return this.startStep(host, step, params, mode, opts).result;
    }

    /** Stand-in journal lines: "<kc-step or ->: <tool> <args>". */
    journal(host: TestHost): string[] {
        const text = this.readFile(host, "/var/lib/kc-standin/journal") ?? "";
        return text.split("\n").filter((l) => l.length > 0);
    }

    clearJournal(host: TestHost): void {
        this.shOk(host, ": >/var/lib/kc-standin/journal");
    }

    readFile(host: TestHost, file: string): string | null {
        const r = this.sh(host, `if [ -e ${q(file)} ]; then cat ${q(file)}; else exit 3; fi`);
        if (r.code === 3) return null;
        if (r.code !== 0) throw new Error(`readFile ${host.name}:${file}: ${r.stderr}`);
        return r.stdout;
    }

    exists(host: TestHost, file: string): boolean {
        return this.sh(host, `[ -e ${q(file)} ] || [ -L ${q(file)} ]`).code === 0;
    }

    writeFile(host: TestHost, file: string, content: string, mode = "0644"): void {
        this.shOk(host, `mkdir -p "$(dirname ${q(file)})" && cat >${q(file)} && chmod ${mode} ${q(file)}`, content);
    }

    /**
     * sha256, mode and owner of every file (and symlink target) under the given paths, by path;
     * "absent" for a path that does not exist. Paths matching `exclude` are left out.
     */
    checksum(host: TestHost, paths: string[], exclude: RegExp[] = [], keepAbsent = true): Record<string, string> {
        // One pass: sha256 of every regular file, then mode/owner of files and symlink targets.
        const script = `for p in ${paths.map(q).join(" ")}; do
                if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo "A absent $p"; fi
            done
            find ${paths.map(q).join(" ")} -type f -print0 2>/dev/null | xargs -0 -r sha256sum | sed 's/^/S /'
            find ${paths.map(q).join(" ")} \\( -type f -printf 'M %m:%u:%g %p\\n' \\) -o \\( -type l -printf 'L link:%l %p\\n' \\) 2>/dev/null
            true`;
        const sums: Record<string, string> = {};
        const meta: Record<string, string> = {};
        for (const line of this.shOk(host, script).split("\n")) {
            const m = /^([ASML]) (\S+) +(.*)$/.exec(line);
            if (!m) continue;
            const [, kind, value, file] = m;
            if (exclude.some((re) => re.test(file))) continue;
            if (kind === "A" && keepAbsent) meta[file] = "absent";
            if (kind === "S") sums[file] = value;
            if (kind === "M" || kind === "L") meta[file] = value;
        }
        const out: Record<string, string> = {};
        for (const file of Object.keys(meta).sort()) out[file] = sums[file] ? `${sums[file]}:${meta[file]}` : meta[file];
        return out;
    }

    /** Everything a step may change on a host, for byte-for-byte comparisons. */
    snapshot(host: TestHost): Record<string, string> {
        return this.checksum(
            host,
            ["/etc", "/opt", "/usr/local/bin", "/var/lib", "/root", "/proc/swaps", "/run/containerd", "/run/cri-dockerd.sock", "/run/docker.sock"],
            [/^\/var\/lib\/kc-standin\/(journal|\.lock|api\.log|hung|cluster\/)/],
            false,
        );
    }

    /** Makes the next matching call of a stand-in fail (see standins/lib.sh). */
    failNext(host: TestHost, tool: string, pattern: string, opts: FailOptions = {}): void {
        const line = `${opts.after ?? 0} ${opts.times ?? 1} ${opts.mode ?? "fail"} ${opts.exit ?? 1} ${pattern}\n`;
        this.shOk(host, `mkdir -p /var/lib/kc-standin/fail && cat >>/var/lib/kc-standin/fail/${tool}`, line);
    }

    clearFailures(host: TestHost): void {
        this.shOk(host, "rm -f /var/lib/kc-standin/fail/*");
    }

    /** Whether a stand-in is hanging (mode hang/partialhang reached). */
    isHung(host: TestHost): boolean {
        return (this.readFile(host, "/var/lib/kc-standin/hung") ?? "").trim().length > 0;
    }

    async waitHung(host: TestHost, timeoutMs = 30_000): Promise<void> {
        const end = Date.now() + timeoutMs;
        while (!this.isHung(host)) {
            if (Date.now() > end) throw new Error(`no stand-in hung on ${host.name}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    /**
     * Kills the process group of every hanging stand-in on the host: the script of that SSH
     * session dies where it was, as when a dropped connection's session is torn down.
     */
    killHung(host: TestHost, signal: "KILL" | "TERM" | "HUP" = "KILL"): void {
        this.shOk(host, `f=/var/lib/kc-standin/hung
            [ -f $f ] || exit 0
            while read -r pid pgid; do kill -${signal} -- "-$pgid" 2>/dev/null || kill -${signal} "$pid" 2>/dev/null || true; done <$f
            rm -f $f`);
    }

    /** Stand-in state file helper: the rpm database entry of a package, or null. */
    rpm(host: TestHost, name: string): string | null {
        const s = this.readFile(host, `/var/lib/kc-standin/rpm/${name}`);
        return s === null ? null : s.trim();
    }

    /**
     * Starts a real TCP listener on PORT inside the host's network namespace (socat, or a copy of
     * it named `as`, so ss shows that process name); returns its pid.
     */
    listen(host: TestHost, port: number, as?: string): number {
        const bin = as ? `/tmp/${as}` : "socat";
        if (as) this.shOk(host, `cp "$(command -v socat)" ${q(bin)}`);
        const out = this.shOk(host, `setsid ${bin} TCP-LISTEN:${port},bind=0.0.0.0,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 & echo $!
            for i in $(seq 1 100); do ss -Hltn "sport = :${port}" | grep -q . && exit 0; sleep 0.05; done; exit 1`);
        return Number(out.trim());
    }

    /** Stops a listener started by listen() (by its pid) and waits until its port is free. */
    stopListener(host: TestHost, pid: number, port: number): void {
        this.shOk(host, `kill ${pid} 2>/dev/null || true
            for i in $(seq 1 100); do ss -Hltn "sport = :${port}" | grep -q . || exit 0; sleep 0.05; done; exit 1`);
    }

    /** The host's network namespace (`ip -n`), for reading its links and addresses from outside. */
    netns(host: TestHost): string {
        return `kcth-${host.id}`;
    }

    /**
     * Makes the host's stand-in for `tool` answer also at the real binary's path (/usr/bin/<tool>),
     * inside the host only: for a script that sets its own PATH=/usr/sbin:/usr/bin:/sbin:/bin, as
     * keepalived's check script does, where /usr/local/bin is not searched.
     */
    systemStandin(host: TestHost, tool: string): void {
        hostSh(["system-standin", host.id, tool]);
    }

    async destroy(): Promise<void> {
        if (this.destroyed) return;
        this.destroyed = true;
        liveClusters.delete(this);
        await Promise.all(this.hosts.map((h) => runAsync("bash", [HOST_SH, "down", h.id])));
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** Synchronous teardown for exit hooks. */
    destroySync(): void {
        if (this.destroyed) return;
        this.destroyed = true;
        liveClusters.delete(this);
        for (const h of this.hosts) {
            try {
                hostSh(["down", h.id]);
            } catch {
                /* best effort at exit */
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

let hooksInstalled = false;
function installExitHooks(): void {
    if (hooksInstalled) return;
    hooksInstalled = true;
    process.on("exit", () => {
        for (const c of [...liveClusters]) c.destroySync();
    });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            for (const c of [...liveClusters]) c.destroySync();
            process.exit(130);
        });
    }
}

/** Checks what the harness needs and says exactly what is missing. */
export function checkPrerequisites(): void {
    const problems: string[] = [];
    if (process.getuid && process.getuid() !== 0) problems.push("the host tests must run as root (network and mount namespaces)");
    for (const tool of ["sshd", "ssh", "ssh-keygen", "ip", "unshare", "nsenter", "socat", "openssl", "flock", "setsid", "perl", "sudo"]) {
        const r = spawnSync("bash", ["-c", `command -v ${tool} || [ -x /usr/sbin/${tool} ]`]);
        if (r.status !== 0) problems.push(`${tool} is missing (apt-get install -y openssh-server openssh-client iproute2 util-linux socat openssl sudo)`);
    }
    if (problems.length > 0) throw new Error(`host tests cannot run:\n  ${problems.join("\n  ")}`);
}

/**
 * What the high-availability tests need beyond checkPrerequisites: the real keepalived and haproxy,
 * python3 (the API server stand-in) and curl (the client), each said exactly when missing.
 */
export function checkHaPrerequisites(): void {
    const problems: string[] = [];
    for (const [tool, pkg] of [["keepalived", "keepalived"], ["haproxy", "haproxy"], ["python3", "python3"], ["curl", "curl"]]) {
        // python3 at the system path: a test host's private /root hides per-user interpreters.
        const where = tool === "python3" ? "[ -x /usr/bin/python3 ]" : `command -v ${tool} || [ -x /usr/sbin/${tool} ]`;
        if (spawnSync("bash", ["-c", where]).status !== 0) problems.push(`${tool} is missing (apt-get install -y ${pkg})`);
    }
    if (problems.length > 0) throw new Error(`high-availability host tests cannot run:\n  ${problems.join("\n  ")}`);
}

/**
 * Builds the hosts (in parallel) on the test bridge, with one SSH key and a known_hosts file
 * holding their generated host keys. Workers get the key so their kubeadm join stand-in can reach
 * the control plane the way the real one reaches the API server.
 */
export async function createCluster(hostOpts: HostOptions[], options: { installSteps?: boolean } = {}): Promise<Cluster> {
    checkPrerequisites();
    installExitHooks();
    const tag = `${(process.pid % 1296).toString(36).padStart(2, "0")}${(clusterCounter++ % 36).toString(36)}${crypto.randomBytes(1).toString("hex")[0]}`;
    const cluster = new Cluster(tag);
    liveClusters.add(cluster);
    try {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `kcth-${tag}`, "-f", cluster.key]);
        const shared = path.join(cluster.dir, "shared");
        fs.mkdirSync(shared);
        fs.copyFileSync(cluster.key, path.join(shared, "id_ed25519"));
        fs.chmodSync(path.join(shared, "id_ed25519"), 0o600);
        hostOpts.forEach((o, i) => {
            const role: Role = o.role ?? "worker";
            const user = o.user ?? "root";
            cluster.hosts.push({
                id: `${tag}-${i}`,
                name: o.name,
                ip: o.ip,
                os: o.os,
                role,
                user,
                spec: { name: o.name, address: o.ip, role, user, port: 22 },
            });
        });
        // allSettled: on a failure every other host must have finished coming up before teardown.
        const settled = await Promise.allSettled(
            hostOpts.map(async (o, i) => {
                const h = cluster.hosts[i];
                const args = [HOST_SH, "up", h.id, o.ip, o.os, "--key", `${cluster.key}.pub`, "--hostname", "localhost.localdomain", "--cluster-dir", shared];
                if (h.user !== "root") args.push("--user", h.user);
                if (o.cpus) args.push("--cpus", String(o.cpus));
                if (o.memMb) args.push("--mem-mb", String(o.memMb));
                if (o.uuid) args.push("--uuid", o.uuid);
                if (o.swap === false) args.push("--swap", "no");
                if (o.selinux) args.push("--selinux", o.selinux);
                if (o.containerdVersion) args.push("--containerd-version", o.containerdVersion);
                if (o.lab) args.push("--lab", String(o.lab));
                if (o.cgroupMemMb) args.push("--cgroup-mem-mb", String(o.cgroupMemMb));
                const r = await runAsync("bash", args);
                if (r.code !== 0) throw new Error(`host ${o.name} (${o.os}, ${o.ip}) did not come up:\n${r.stderr}`);
                return r.stdout.trim();
            }),
        );
        const failed = settled.filter((x): x is PromiseRejectedResult => x.status === "rejected");
        if (failed.length > 0) throw new Error(failed.map((f) => String(f.reason?.message ?? f.reason)).join("\n"));
        const lines = settled.map((x) => (x as PromiseFulfilledResult<string>).value);
        fs.writeFileSync(cluster.knownHosts, `${lines.join("\n")}\n`);
        fs.copyFileSync(cluster.knownHosts, path.join(shared, "known_hosts"));
        // As the program's first action on a host: the step files shipped (nodes/host.ts).
        if (options.installSteps !== false) {
            const installed = await Promise.all(cluster.hosts.map((h) => cluster.installSteps(h)));
            installed.forEach((r, i) => {
                if (r.code !== 0) throw new Error(`installing the step files on ${cluster.hosts[i].name} failed:\n${r.stderr}`);
            });
        }
        return cluster;
    } catch (e) {
        await cluster.destroy();
        throw e;
    }
}

/** Journal lines of one step ("kc-<step>: ..."), without the step prefix. */
export function stepCalls(journal: string[], step: string): string[] {
    const prefix = `kc-${step}: `;
    return journal.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

/** Calls that change a host: everything but queries (rpm -q, systemctl is-*, getenforce, ...). */
export function changingCalls(calls: string[]): string[] {
    const readOnly = [
        /^rpm -q/,
        /^rpm --query/,
        /^systemctl (is-active|is-enabled|is-failed|status|show|--quiet is-|-q is-)/,
        /^systemctl .*\bis-(active|enabled)\b/,
        /^getenforce\b/,
        /^lsmod\b/,
        /^sysctl -n\b/,
        /^firewall-cmd (--state|.*--(query|list|get)-)/,
        /^containerd (--version|-v)\b/,
        /^(kubeadm|kubectl|kubelet) (version|--version)\b/,
        /^kubectl .*\bget\b/,
        /^kubeadm token list\b/,
        /^(iptables|ip6tables) (-t \S+ )?-S\b/,
        /^iptables-save\b/,
        /^chronyc (sources|tracking)\b/,
        /^docker (info|version)\b/,
        /^crictl (info|version|ps|pods|inspecti)\b/,
        /^kubeadm config images list\b/,
        /^(yum|dnf) (list|info|repolist)\b/,
    ];
    return calls.filter((c) => !readOnly.some((re) => re.test(c)));
}
