// Offline plan: runs the real program under Pulumi's mock engine (no Pulumi CLI, no hosts, no
// network, no SSH key file) and prints what `pulumi up` would do, host by host.
//
//   npm run plan [-- --stack dev] [--full] [--graph FILE]
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SECRET_PARAMS } from "../components/steps";
import { parseCommand } from "../components/remote/command";
import { STEPS_DIR, stepBundle } from "../components/remote/bundle";
import { ProgramRun, Registered, collect, criticalPath, installMocks, isRemote, remoteSteps, stepOf } from "./mockEngine";
import { loadStackConfig, ROOT } from "./stackConfig";

interface Args {
    stack: string;
    full: boolean;
    graph?: string;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { stack: "dev", full: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack" || a === "-s") args.stack = argv[++i];
        else if (a.startsWith("--stack=")) args.stack = a.slice("--stack=".length);
        else if (a === "--full") args.full = true;
        else if (a === "--graph") args.graph = argv[++i];
        else if (a === "--help" || a === "-h") {
            console.log("usage: npm run plan [-- --stack NAME] [--full] [--graph FILE]");
            process.exit(0);
        } else {
            console.error(`unknown argument ${a}; usage: npm run plan [-- --stack NAME] [--full] [--graph FILE]`);
            process.exit(2);
        }
    }
    return args;
}

const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex").slice(0, 12);

/** One parameter of the env prefix, shown as the user should read it. */
function showParam(name: string, value: string, full: boolean): { inline: string; detail?: string } {
    if ((SECRET_PARAMS as readonly string[]).includes(name)) return { inline: `${name}=[secret]` };
    if (name.endsWith("_B64")) {
        const text = Buffer.from(value, "base64").toString("utf8");
        const inline = full ? `${name}='${value}'` : `${name}=<${text.length} bytes, sha256 ${sha(text)}>`;
        return { inline, detail: `${name} decodes to:\n${text.replace(/\n$/, "").replace(/^/gm, "        | ")}` };
    }
    return { inline: `${name}='${value}'` };
}

/**
 * The command text with secrets masked and base64 files summarised; the step file it runs named
 * (its content: `--full`, or the step files section).
 */
export function describeCommand(create: string, full: boolean): { line: string; details: string[]; file?: string } {
    const c = parseCommand(create);
    if (!c) return { line: "[unparsed command]", details: [] };
    const shown = Object.keys(c.params)
        .sort()
        .map((k) => showParam(k, c.params[k], full));
    return {
        line: `${c.sudo ? "sudo -n " : ""}env ${shown.map((s) => s.inline).join(" ")} bash ${c.file} kc-${c.step}${c.mode ? ` ${c.mode}` : ""}`,
        details: shown.flatMap((s) => (full && s.detail ? [s.detail] : [])),
        file: c.file,
    };
}

/** Depth of each remote step = remote steps on the longest chain ending at it. */
function stepDepths(run: ProgramRun): Map<string, number> {
    const memo = new Map<string, number>();
    const visit = (r: Registered): number => {
        const hit = memo.get(r.urn);
        if (hit !== undefined) return hit;
        let best = 0;
        for (const d of r.dependencies) {
            const dep = run.byUrn(d);
            if (dep) best = Math.max(best, visit(dep));
        }
        const v = best + (isRemote(r) ? 1 : 0);
        memo.set(r.urn, v);
        return v;
    };
    for (const r of run.resources) visit(r);
    return memo;
}

function k8sSummary(r: Registered): string {
    const i = r.inputs;
    if (r.type === "kubernetes:yaml/v2:ConfigFile") return `file ${i.file}`;
    if (r.type === "kubernetes:yaml/v2:ConfigGroup") return `your manifests (${String(i.yaml ?? "").split(/^---$/m).length} documents)`;
    if (r.type === "kubernetes:helm.sh/v4:Chart") return `chart ${i.chart} ${i.version} from ${i.repositoryOpts?.repo} values ${JSON.stringify(i.values)}`;
    if (r.type.startsWith("kubernetes:operator.tigera.io")) return `${i.kind} ${i.metadata?.name}: ${JSON.stringify(i.spec)}`;
    if (r.type === "kubernetes:apps/v1:Deployment") return `${i.metadata?.namespace}/${i.metadata?.name} ${i.spec?.replicas}x ${i.spec?.template?.spec?.containers?.[0]?.image}`;
    if (r.type === "kubernetes:core/v1:Service") return `${i.metadata?.namespace}/${i.metadata?.name} ${i.spec?.type} ${JSON.stringify(i.spec?.ports)}`;
    if (r.type === "kubernetes:core/v1:Namespace") return `${i.metadata?.name}`;
    return "";
}

/** Mermaid flowchart of remote steps and Kubernetes objects, edges reduced to the direct ones. */
export function mermaid(run: ProgramRun): string {
    const nodes = run.resources.filter((r) => r.type === "command:remote:Command" || (r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers")));
    const ids = new Map(nodes.map((r, i) => [r.urn, `n${i}`]));
    // Nearest graph nodes each node depends on, looking through resources not drawn.
    const direct = new Map<string, Set<string>>();
    const nearest = (urn: string, seen = new Set<string>()): Set<string> => {
        const out = new Set<string>();
        for (const d of run.byUrn(urn)?.dependencies ?? []) {
            if (seen.has(d)) continue;
            seen.add(d);
            if (ids.has(d)) out.add(d);
            else for (const x of nearest(d, seen)) out.add(x);
        }
        return out;
    };
    for (const r of nodes) direct.set(r.urn, nearest(r.urn));
    // Transitive reduction: drop an edge a->c when some other b in deps(a) reaches c.
    const reach = new Map<string, Set<string>>();
    const reachable = (urn: string): Set<string> => {
        const hit = reach.get(urn);
        if (hit) return hit;
        const out = new Set<string>();
        for (const d of direct.get(urn) ?? []) {
            out.add(d);
            for (const x of reachable(d)) out.add(x);
        }
        reach.set(urn, out);
        return out;
    };
    const lines = ["flowchart TD"];
    for (const r of nodes) {
        const label = r.type === "command:remote:Command"
            ? (() => {
                  const s = stepOf(String(r.inputs.create));
                  return `${s.host}: ${s.step}`;
              })()
            : `${r.type.split(":").pop()} ${r.name}`;
        lines.push(`    ${ids.get(r.urn)}["${label}"]`);
    }
    for (const r of nodes) {
        const deps = [...(direct.get(r.urn) ?? [])];
        for (const d of deps) {
            const redundant = deps.some((o) => o !== d && reachable(o).has(d));
            if (!redundant) lines.push(`    ${ids.get(d)} --> ${ids.get(r.urn)}`);
        }
    }
    return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const stackConfig = loadStackConfig(args.stack);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const rec = installMocks(pulumi, { config: stackConfig.config, secretKeys: stackConfig.secretKeys, stack: args.stack, preview: true });
    let run: ProgramRun;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index")) as Parameters<typeof collect>[1];
        run = await collect(pulumi, program, rec);
    } catch (e) {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    }

    const steps = [...remoteSteps(run), ...run.resources.filter((r) => r.type === "command:remote:Command" && stepOf(String(r.inputs.create)).step === "install-steps")];
    const depth = stepDepths(run);
    const byHost = new Map<string, Registered[]>();
    for (const s of steps) {
        const host = stepOf(String(s.inputs.create)).host;
        byHost.set(host, [...(byHost.get(host) ?? []), s]);
    }
    const out: string[] = [];
    out.push(`kubeadm-cluster plan for stack "${args.stack}" (offline: Pulumi's mock engine; nothing was contacted)`);
    out.push("");
    for (const [host, list] of byHost) {
        const conn = list[0].inputs.connection ?? {};
        out.push(`== ${host} (${conn.user}@${conn.host}:${conn.port}${conn.proxy ? ` via ${conn.proxy.user}@${conn.proxy.host}` : ""}) ==`);
        list.sort((a, b) => depth.get(a.urn)! - depth.get(b.urn)! || a.seq - b.seq);
        for (const s of list) {
            const { step } = stepOf(String(s.inputs.create));
            if (step === "install-steps") {
                const b = stepBundle();
                out.push(`  [wave ${depth.get(s.urn)}] install-steps  — ${s.name}`);
                out.push(`      the step files (bundle ${b.hash}, ${b.files.length} files) uploaded over SFTP to ~${conn.user}/.kubeadm-cluster/${b.hash}, then installed as root in ${STEPS_DIR}`);
                continue;
            }
            const d = describeCommand(String(s.inputs.create), args.full);
            const secret = s.secretInputs.has("create") ? " (command is a secret)" : "";
            out.push(`  [wave ${depth.get(s.urn)}] ${step}  — ${s.name}${secret}`);
            out.push(`      $ ${d.line}`);
            for (const detail of d.details) out.push(`      ${detail}`);
            if (s.inputs.delete) out.push(`      on destroy: ${describeCommand(String(s.inputs.delete), false).line.replace(/^.* (kc-[a-z0-9-]+ delete).*$/, "$1")}`);
        }
        out.push("");
    }
    const b = stepBundle();
    out.push(`== Step files (bundle ${b.hash}: what each step runs, in ${STEPS_DIR} on every host) ==`);
    for (const f of b.files) {
        const lines = f.text.split("\n").length;
        out.push(`  ${f.file}  ${lines} lines, sha256 ${crypto.createHash("sha256").update(f.text).digest("hex").slice(0, 12)}  (${/^# kubeadm-cluster step: .*\((.*)\)$/m.exec(f.text)?.[1] ?? ""})`);
        if (args.full) out.push(f.text.replace(/\n$/, "").replace(/^/gm, "      | "));
    }
    out.push("");
    const k8s = run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"));
    out.push("== Kubernetes objects (through the provider built from the cluster's kubeconfig) ==");
    for (const r of k8s) out.push(`  ${r.type}  ${r.name}  ${k8sSummary(r)}`);
    out.push("");
    const cp = criticalPath(run);
    out.push(`Critical path: ${cp.length} sequential remote steps (${steps.length} remote steps in all, ${byHost.size} hosts)`);
    out.push(`  ${cp.chain.map((s) => { if (s.type === "command:remote:CopyToRemote") return `${s.inputs.connection?.host}:upload-steps`; const x = stepOf(String(s.inputs.create)); return `${x.host}:${x.step}`; }).join(" -> ")}`);
    const graphFile = args.graph ?? path.join(ROOT, ".plan", `${args.stack}.mmd`);
    fs.mkdirSync(path.dirname(graphFile), { recursive: true });
    fs.writeFileSync(graphFile, mermaid(run));
    out.push(`Dependency graph (mermaid): ${path.relative(process.cwd(), graphFile)}`);
    console.log(out.join("\n"));
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
