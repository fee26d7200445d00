// The step files shipped once per host (components/remote/bundle.ts, nodes/host.ts): the upload over
// real SFTP into the SSH user's home, the install-steps command over real SSH (as root and through
// sudo), what it leaves, what it refuses, how a new bundle replaces an old one, and what a host that
// lost its files says. Real: sshd and its SFTP server, the sftp client, sudo, bash, sha256sum.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cluster, StepResult, TestHost, createCluster } from "./harness";
import { useScriptsDir } from "../../components/remote/assemble";
import { STEPS_DIR, stepBundle, stepFile } from "../../components/remote/bundle";
import { FAST, nodeStep, specFor } from "./params";

jest.setTimeout(120_000);

let c: Cluster;
let root: TestHost;

beforeAll(async () => {
    c = await createCluster(
        [
            { name: "host01", ip: "10.250.0.41", os: "rocky9" },
            { name: "host02", ip: "10.250.0.42", os: "rocky8", user: "kcadmin" },
        ],
        { installSteps: false },
    );
    [root] = c.hosts;
});

afterAll(async () => {
    await c?.destroy();
});

function ok(r: StepResult, what: string): StepResult {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}`);
    return r;
}

const SCRIPTS = path.join(__dirname, "..", "..", "scripts");

/** Runs fn with the scripts read from dir (a changed copy), then the project's again. */
function useScriptsDirForBundle<T>(dir: string, fn: () => T): T {
    useScriptsDir(dir);
    let result: T;
    try {
        result = fn();
    } catch (e) {
        useScriptsDir(SCRIPTS);
        throw e;
    }
    if (result instanceof Promise) return result.finally(() => useScriptsDir(SCRIPTS)) as T;
    useScriptsDir(SCRIPTS);
    return result;
}

const files = (h: TestHost) => c.shOk(h, `ls -A ${STEPS_DIR} | sort`).split("\n").filter(Boolean);

describe("shipping the step files", () => {
    test.each([
        ["root", 0],
        ["a sudoer", 1],
    ])("to %s: uploaded into the SSH user's home, installed root-only in /var/lib/kubeadm-cluster/steps, the upload removed", async (_who, i) => {
        const h = c.hosts[i as number];
        const r = ok(await c.installSteps(h), "installSteps");
        const b = stepBundle();
        expect(r.stderr).toContain(`[${h.name}] step scripts (bundle ${b.hash}) in place in ${STEPS_DIR}: ${b.files.length} new or changed, 0 removed`);
        expect(files(h)).toEqual([".bundle", ...b.files.map((f) => f.file)].sort());
        expect(c.shOk(h, `stat -c '%a %U' /var/lib/kubeadm-cluster ${STEPS_DIR} ${STEPS_DIR}/${stepFile("facts").file}`)).toBe("700 root\n700 root\n600 root\n");
        expect(c.readFile(h, `${STEPS_DIR}/${stepFile("facts").file}`)).toBe(stepFile("facts").text);
        const home = h.user === "root" ? "/root" : `/home/${h.user}`;
        expect(c.exists(h, `${home}/.kubeadm-cluster`)).toBe(false);
        // The program's step commands run from there.
        const { step, params } = nodeStep(specFor(c.hosts), h, "facts");
        const facts = ok(await c.runStep(h, step, { ...params, ...FAST }), "facts");
        expect(JSON.parse(facts.stdout).hostname).toBeDefined();
    });

    test("the install command again without a new upload: the same bundle is in place, nothing changes", async () => {
        const before = c.checksum(root, [STEPS_DIR]);
        const r = ok(await c.runRaw(root, c.installCommand(root)), "install again");
        expect(r.stderr).toBe(`[host01] step scripts (bundle ${stepBundle().hash}) already in place\n`);
        expect(c.checksum(root, [STEPS_DIR])).toEqual(before);
    });

    test("a new version of the scripts: changed files replaced, new ones added, ones no step uses any more removed", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-scripts-"));
        try {
            fs.cpSync(path.join(__dirname, "..", "..", "scripts"), dir, { recursive: true });
            fs.appendFileSync(path.join(dir, "prep-firewall.sh"), "\n: a change\n");
            fs.appendFileSync(path.join(dir, "facts.sh"), "\n# a comment only\n");
            const old = { firewall: stepFile("prep-firewall").file, facts: stepFile("facts") };
            useScriptsDirForBundle(dir, () => {
                expect(stepFile("prep-firewall").file).not.toBe(old.firewall);
                // A comment changes the file's content, not its name (nothing re-runs).
                expect(stepFile("facts").file).toBe(old.facts.file);
                expect(stepFile("facts").text).not.toBe(old.facts.text);
            });
            const r = ok(await useScriptsDirForBundle(dir, () => c.installSteps(root)), "install the new bundle");
            expect(r.stderr).toContain("2 new or changed, 1 removed");
            const now = files(root);
            expect(now).not.toContain(old.firewall);
            expect(now).toContain(useScriptsDirForBundle(dir, () => stepFile("prep-firewall").file));
            expect(c.readFile(root, `${STEPS_DIR}/${old.facts.file}`)).toContain("# a comment only");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            ok(await c.installSteps(root), "back to the current bundle");
        }
    });

    test("an upload that does not match its MANIFEST (a copy cut short) is refused and changes nothing", async () => {
        const before = c.checksum(root, [STEPS_DIR]);
        const b = stepBundle();
        const r = await c.installSteps(root, { tamper: `${b.files[0].file}` });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`[host01] ERROR: the uploaded step files in /root/.kubeadm-cluster/${b.hash} do not match their MANIFEST (a copy cut short?): run pulumi up again`);
        expect(c.checksum(root, [STEPS_DIR])).toEqual(before);
        c.shOk(root, "rm -rf /root/.kubeadm-cluster");
    });

    test("a host that lost its step files (re-imaged, /var/lib wiped): a step says so and where to look; an undo has nothing left to do; shipping them again mends it", async () => {
        c.shOk(root, "rm -rf /var/lib/kubeadm-cluster");
        const { step, params } = nodeStep(specFor(c.hosts), root, "facts");
        const r = await c.runStep(root, step, { ...params, ...FAST });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            `[host01] ERROR: ${STEPS_DIR}/${stepFile("facts").file} is missing: the step files of kubeadm-cluster are gone from this host (see Lost step files in its README)\n`,
        );
        const undo = await c.runStep(root, "worker-join", { KC_CRI_SOCKET: "unix:///var/run/containerd/containerd.sock" }, "delete");
        expect(undo.code).toBe(0);
        expect(undo.stderr).toBe(`[host01] ${STEPS_DIR}/${stepFile("worker-join").file} is gone: this host was reset already\n`);
        // What `pulumi up --replace <the host's steps-upload>` does: upload, then install.
        ok(await c.installSteps(root), "ship again");
        ok(await c.runStep(root, step, { ...params, ...FAST }), "facts after shipping again");
    });
});
