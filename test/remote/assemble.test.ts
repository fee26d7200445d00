// The assembly of step scripts from the library (components/remote/assemble.ts): each step gets the
// core, the modules its kc-modules line names (and theirs, first), then itself; it uses nothing of a
// module it did not name; the bats tests' assembler (test/scripts/assemble.bash) produces the same
// bytes; and a step's hash covers what it runs, not its comments.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { allSteps, assembleStep, codeLines, declaredModules, useScriptsDir } from "../../components/remote/assemble";

const SCRIPTS = path.join(__dirname, "..", "..", "scripts");
const LIB = path.join(SCRIPTS, "lib");

/** The functions and readonly constants a library file defines. */
function definitions(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    return [...text.matchAll(/^([a-z_][a-z0-9_]*)\(\)/gm), ...text.matchAll(/^readonly ([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]);
}

/** Whether TEXT uses NAME as a word (a call or an expansion), outside comment lines. */
function uses(text: string, name: string): boolean {
    const code = text
        .split("\n")
        .filter((l) => !/^\s*#/.test(l))
        .join("\n");
    return new RegExp(`(?<![A-Za-z0-9_./-])${name}(?![A-Za-z0-9_./-])`).test(code);
}

const modules = fs
    .readdirSync(LIB)
    .filter((f) => f.endsWith(".sh") && f !== "core.sh")
    .map((f) => f.slice(0, -3));

afterEach(() => useScriptsDir(SCRIPTS));

describe("the library in modules", () => {
    test("the core is small and every module is named by at least one step", () => {
        const named = new Set(allSteps().flatMap((s) => assembleStep(s).modules));
        expect(modules.filter((m) => !named.has(m))).toEqual([]);
        expect(fs.readFileSync(path.join(LIB, "core.sh"), "utf8").split("\n").length).toBeLessThan(500);
    });

    test("no two library files define the same name", () => {
        const seen = new Map<string, string>();
        for (const f of ["core", ...modules]) {
            for (const d of definitions(path.join(LIB, `${f}.sh`))) {
                expect({ name: d, in: f, already: seen.get(d) }).toEqual({ name: d, in: f, already: undefined });
                seen.set(d, f);
            }
        }
    });

    test.each(allSteps())("%s uses nothing from a module it does not name (directly or through a named module)", (step) => {
        const { modules: included, text } = assembleStep(step);
        const own = fs.readFileSync(path.join(SCRIPTS, `${step}.sh`), "utf8");
        const sources = [own, ...included.map((m) => fs.readFileSync(path.join(LIB, `${m}.sh`), "utf8"))];
        const missing: string[] = [];
        for (const m of modules.filter((x) => !included.includes(x))) {
            for (const d of definitions(path.join(LIB, `${m}.sh`))) if (sources.some((s) => uses(s, d))) missing.push(`${d} (lib/${m}.sh)`);
        }
        expect(missing).toEqual([]);
        // ... and every module it names is used.
        for (const m of declaredModules(own)) expect({ module: m, used: definitions(path.join(LIB, `${m}.sh`)).some((d) => sources.some((s) => uses(s, d))) }).toEqual({ module: m, used: true });
        expect(text.startsWith(`#!/usr/bin/env bash\n# kubeadm-cluster step: ${step} (core`)).toBe(true);
    });

    test.each(allSteps())("%s: the bats tests' assembler gives the same bytes", (step) => {
        const bash = execFileSync("bash", ["-c", `source ${JSON.stringify(path.join(__dirname, "..", "scripts", "assemble.bash"))} && assemble_step ${step}`], { encoding: "utf8" });
        expect(bash).toBe(assembleStep(step).text);
    });

    test("a module's own kc-modules come first: reset names kubevip, so a step naming reset gets kubevip before it", () => {
        expect(declaredModules(fs.readFileSync(path.join(LIB, "reset.sh"), "utf8"))).toEqual(["kubevip"]);
        expect(assembleStep("worker-join").modules).toEqual(["join", "kube", "kubevip", "reset"]);
    });
});

describe("a step's hash", () => {
    function copyScripts(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kc-scripts-"));
        fs.cpSync(SCRIPTS, dir, { recursive: true });
        return dir;
    }

    test("covers its code and its modules' code: a changed reset module changes only the steps that use it", () => {
        const before = new Map(allSteps().map((s) => [s, assembleStep(s).codeHash]));
        const dir = copyScripts();
        fs.appendFileSync(path.join(dir, "lib", "reset.sh"), "\nreset_extra() { log \"one more thing\"; }\n");
        useScriptsDir(dir);
        const changed = allSteps().filter((s) => assembleStep(s).codeHash !== before.get(s));
        expect(changed).toEqual(allSteps().filter((s) => assembleStep(s).modules.includes("reset")));
        expect(changed.length).toBeGreaterThan(0);
        expect(changed.length).toBeLessThan(allSteps().length / 2);
    });

    test("not its comments: a comment changed in the core changes every step's text and no step's hash", () => {
        const before = new Map(allSteps().map((s) => [s, assembleStep(s)]));
        const dir = copyScripts();
        const core = path.join(dir, "lib", "core.sh");
        fs.writeFileSync(core, fs.readFileSync(core, "utf8").replace("# Stable, parseable output", "# Stable and parseable output"));
        useScriptsDir(dir);
        for (const s of allSteps()) {
            expect(assembleStep(s).text).not.toBe(before.get(s)!.text);
            expect(assembleStep(s).codeHash).toBe(before.get(s)!.codeHash);
        }
    });

    test("a comment line inside a here-document is content: it counts", () => {
        const script = "write_file /x 0644 <<EOF\n# managed by kubeadm-cluster\nvalue=1\nEOF\n# a comment\nlog done\n";
        expect(codeLines(script)).toBe("write_file /x 0644 <<EOF\n# managed by kubeadm-cluster\nvalue=1\nEOF\nlog done");
        expect(codeLines("cat <<'HELPER_END'\n#!/bin/bash\n# kept\nHELPER_END\n  # dropped\n")).toBe("cat <<'HELPER_END'\n#!/bin/bash\n# kept\nHELPER_END");
    });
});
