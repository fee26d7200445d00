// The command a step runs (components/remote/command.ts) and the registry of steps
// (components/steps/registry.ts): what a command holds, that parseCommand reads back exactly what
// renderCommand wrote, and that the registry agrees with the scripts.
import * as fs from "fs";
import * as path from "path";
import { allSteps, assembleStep } from "../../components/remote/assemble";
import { STEPS_DIR, stepBundle, stepFile } from "../../components/remote/bundle";
import { parseCommand, renderCommand } from "../../components/remote/command";
import { SECRET_PARAMS, STEPS } from "../../components/steps";

const SCRIPTS = path.join(__dirname, "..", "..", "scripts");

describe("a step's command", () => {
    test("names the step's file by its code hash and carries only the parameters: small, whatever the script's size", () => {
        const cmd = renderCommand("root", "worker-join", { KC_HOST: "worker01", KC_CRI_SOCKET: "unix:///var/run/containerd/containerd.sock" }, "create");
        expect(cmd).toBe(
            `env KC_CRI_SOCKET='unix:///var/run/containerd/containerd.sock' KC_HOST='worker01' bash -c 'f=${STEPS_DIR}/${stepFile("worker-join").file}; ` +
                `if [ -r "$f" ]; then . "$f"; elif [ "\${1:-}" = delete ]; then echo "[$KC_HOST] $f is gone: this host was reset already" >&2; ` +
                `else echo "[$KC_HOST] ERROR: $f is missing: the step files of kubeadm-cluster are gone from this host (see Lost step files in its README)" >&2; exit 1; fi' kc-worker-join create </dev/null`,
        );
        expect(stepFile("worker-join").file).toMatch(/^worker-join-[0-9a-f]{12}\.sh$/);
        expect(cmd.length).toBeLessThan(600);
        expect(assembleStep("worker-join").text.length).toBeGreaterThan(20_000);
    });

    test("a non-root user runs it through sudo -n", () => {
        expect(renderCommand("ops", "facts", { KC_HOST: "h" })).toMatch(/^sudo -n env KC_HOST='h' bash -c '/);
    });

    test("parseCommand reads back what renderCommand wrote, quotes in values included", () => {
        const params = { KC_HOST: "master01", KC_DESCRIPTION: "it's a 'quoted' value; $(not run)", KC_EMPTY: "" };
        for (const [user, mode] of [["root", undefined], ["ops", "delete"]] as const) {
            expect(parseCommand(renderCommand(user, "join-token", params, mode))).toEqual({
                sudo: user !== "root",
                params,
                step: "join-token",
                file: `${STEPS_DIR}/${stepFile("join-token").file}`,
                ...(mode ? { mode } : {}),
            });
        }
        expect(parseCommand("echo hello")).toBeUndefined();
    });

    test("a parameter name must be KC_*", () => {
        expect(() => renderCommand("root", "facts", { HOME: "/" })).toThrow("step facts: parameter name HOME must match /^KC_[A-Z0-9_]+$/");
    });
});

describe("the bundle of step files", () => {
    test("every step's file, a MANIFEST of their sha256, the installer; named by the hash of both", () => {
        const b = stepBundle();
        expect(b.files.map((f) => f.step)).toEqual(allSteps());
        const lines = b.manifest.trim().split("\n");
        expect(lines).toHaveLength(allSteps().length);
        for (const l of lines) expect(l).toMatch(/^[0-9a-f]{64} {2}[a-z0-9-]+-[0-9a-f]{12}\.sh$/);
        expect(b.hash).toMatch(/^[0-9a-f]{16}$/);
        expect(b.installer).toContain("sha256sum --quiet --strict -c MANIFEST");
    });
});

describe("the registry of steps", () => {
    const defs = Object.values(STEPS);

    test("every script under scripts/ is one registered step, and every registered step has its script", () => {
        expect(defs.map((d) => d.script).sort()).toEqual(allSteps());
    });

    test("a step has an undo exactly when its script takes the create/delete mode", () => {
        for (const d of defs) {
            const usesMode = /\bstep_mode\b/.test(fs.readFileSync(path.join(SCRIPTS, `${d.script}.sh`), "utf8"));
            expect({ step: d.script, undo: d.undo }).toEqual({ step: d.script, undo: usesMode });
        }
    });

    test("SECRET_PARAMS is every step's secrets, and each secret is a parameter its script reads", () => {
        expect([...SECRET_PARAMS]).toEqual([...new Set(defs.flatMap((d) => d.secrets))].sort());
        expect(SECRET_PARAMS).toEqual(["KC_CERTIFICATE_KEY", "KC_JOIN_CONFIG_B64", "KC_KEEPALIVED_CONF_B64", "KC_TOKEN"]);
        for (const d of defs) {
            for (const s of d.secrets) expect({ step: d.script, secret: s, read: assembleStep(d.script).text.includes(s) }).toEqual({ step: d.script, secret: s, read: true });
        }
    });
});
