// Runs the real program under Pulumi's mock monitor and records every registered resource
// with its inputs, which of them are secret, its parent and its dependencies. No Pulumi CLI,
// no hosts, no network.
//
// The mock monitor drops secret flags when it hands inputs to the mocks and ignores
// `additionalSecretOutputs`; this engine reads the wire form to keep the flags and mirrors the
// real engine by marking those outputs secret.
import * as crypto from "crypto";
import type * as PulumiModule from "@pulumi/pulumi";
import { parseCommand } from "../components/remote/command";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
    type: string;
    name: string;
    urn: string;
    parent: string;
    /** Inputs with secrets unwrapped. */
    inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** Top-level input names whose value is, or contains, a secret. */
    secretInputs: Set<string>;
    /** URNs this resource depends on (explicit and implicit). */
    dependencies: string[];
    provider: string;
    additionalSecretOutputs: string[];
    /** Order of registration. */
    seq: number;
}

export interface ProgramRun {
    resources: Registered[];
    outputs: Record<string, unknown>;
    /** Exported outputs that are secret. */
    secretOutputs: Set<string>;
    byName(name: string): Registered;
    byUrn(urn: string): Registered | undefined;
    /** Does `a` depend on `b`, directly or through other resources? (names) */
    dependsOn(a: string, b: string): boolean;
}

export interface MockOptions {
    /** Stack config as the CLI passes it ("kubeadm-cluster:key" -> string). */
    config: Record<string, string>;
    secretKeys?: string[];
    stack?: string;
    preview?: boolean;
    /** Override what a remote step prints, by step name (e.g. "facts") and host. */
    stdout?: (step: string, hostName: string) => string | undefined;
    /** Read the remote scripts from this directory instead of scripts/. */
    scriptsDir?: string;
    /** The outputs of the stack's previous deployment (what a StackReference to itself reads). */
    deployedOutputs?: Record<string, unknown>;
}

/** The step name and host name a remote.Command's create text runs, e.g. {step: "facts", host: "worker01"}. */
export function stepOf(create: string): { step: string; host: string } {
    const parsed = parseCommand(create);
    // A host's install-steps command (nodes/host.ts) is no registered step, but runs on the host too.
    const install = /install\.sh" ([a-z0-9][a-z0-9.-]*) "\$b"/.exec(create);
    if (!parsed && install) return { step: "install-steps", host: install[1] };
    const step = parsed?.step ?? "?";
    const host = parsed?.params.KC_HOST ?? "?";
    return { step, host };
}

/** Facts as a Rocky 9 VM would report them; its address (from KC_ADDRESS) on eth0 in a /24. */
export function fakeFacts(host: string, uuid?: string, address?: string): string {
    const id = uuid ?? crypto.createHash("md5").update(host).digest("hex");
    const productUuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`.toUpperCase();
    return JSON.stringify({
        os: "rocky", osVersion: "9.4", family: "el9", kernel: "5.14.0", cpus: 2, memoryMb: 3900,
        productUuid, cgroup: "v2", hostname: host,
        ...(address ? { interface: "eth0", addressCidr: `${address}/24` } : {}),
        clusterVersion: "",
    });
}

export const FAKE_KUBECONFIG =
    "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n    server: https://192.0.2.10:6443\n    certificate-authority-data: RkFLRQ==\nusers:\n- name: kubernetes-admin\n  user:\n    client-key-data: U0VDUkVULUtFWQ==\n";
export const FAKE_CA_HASH = `sha256:${"ab".repeat(32)}`;

function containsSecret(v: unknown): boolean {
    if (Array.isArray(v)) return v.some(containsSecret);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG] === SECRET_SIG) return true;
        return Object.values(o).some(containsSecret);
    }
    return false;
}

function unwrap(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(unwrap);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG] === SECRET_SIG) return unwrap(o.value);
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
}

export interface Recorder {
    resources: Registered[];
    failure?: unknown;
    /** Called when the run fails inside an apply. */
    onFailure?: () => void;
}

/** Install the mocks on this copy of the Pulumi SDK. Require the program after this. */
export function installMocks(pulumi: typeof PulumiModule, opts: MockOptions): Recorder {
    const rec: Recorder = { resources: [] };
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ?? []);
    const aso = new Map<string, string[]>();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type === "command:remote:Command") {
                    const { step, host } = stepOf(String(args.inputs.create ?? ""));
                    const custom = opts.stdout?.(step, host);
                    state.stdout =
                        custom ??
                        (step === "facts" ? fakeFacts(host, undefined, parseCommand(String(args.inputs.create))?.params.KC_ADDRESS)
                            : step === "read-kubeconfig" ? FAKE_KUBECONFIG
                                : step === "ca-hash" ? `${FAKE_CA_HASH}\n` : "");
                    state.stderr = "";
                }
                if (args.type === "pulumi:pulumi:StackReference") {
                    state.outputs = opts.deployedOutputs ?? {};
                    state.secretOutputNames = [];
                }
                if (args.type.startsWith("random:")) {
                    const hex = crypto.createHash("sha256").update(args.name).digest("hex");
                    if (args.type === "random:index/randomId:RandomId") {
                        // What RandomId computes from byteLength random bytes.
                        const bytes = Buffer.from((hex + hex).slice(0, 2 * Number(args.inputs.byteLength ?? 8)), "hex");
                        Object.assign(state, { hex: bytes.toString("hex"), b64Std: bytes.toString("base64"), b64Url: bytes.toString("base64url"), dec: BigInt(`0x${bytes.toString("hex")}`).toString() });
                    } else {
                        const len = Number(args.inputs.length ?? 16);
                        state.result = (hex + hex).slice(0, len);
                    }
                }
                for (const k of aso.get(`${args.type}::${args.name}`) ?? []) {
                    if (k in state) state[k] = pulumi.secret(state[k]);
                }
                return { id: `${args.name}-id`, state };
            },
            call(args) {
                return args.inputs;
            },
        },
        "kubeadm-cluster",
        opts.stack ?? "dev",
        opts.preview ?? false,
        "organization",
    );
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const monitor = (pulumi.runtime as any).getMonitor();
    const original = monitor.registerResource.bind(monitor);
    let seq = 0;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    monitor.registerResource = (req: any, callback: any) => {
        const raw = req.getObject().toJavaScript() as Record<string, unknown>;
        const type = req.getType();
        const name = req.getName();
        aso.set(`${type}::${name}`, req.getAdditionalsecretoutputsList());
        const secretInputs = new Set(Object.keys(raw).filter((k) => containsSecret(raw[k])));
        const mySeq = seq++;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        original(req, (err: unknown, resp: any) => {
            if (!err && resp) {
                rec.resources.push({
                    type,
                    name,
                    urn: resp.getUrn(),
                    parent: req.getParent(),
                    inputs: unwrap(raw) as Record<string, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
                    secretInputs,
                    dependencies: req.getDependenciesList(),
                    provider: req.getProvider(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    seq: mySeq,
                });
            }
            callback(err, resp);
        });
    };
    return rec;
}

/** Wait for the program's exports and for registrations to stop; then index what was recorded. */
export async function collect(
    pulumi: typeof PulumiModule,
    main: Record<string, unknown> | (() => Promise<Record<string, unknown>>),
    rec: Recorder,
): Promise<ProgramRun> {
    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    let failed: ((e: unknown) => void) | undefined;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    // Errors inside applies surface as unhandled rejections; end the run with them.
    const onRejection = (e: unknown) => failed?.(e);
    process.on("unhandledRejection", onRejection);
    try {
        // The entry module exports a function: Pulumi calls it and its result holds the stack outputs.
        const program = typeof main === "function" ? await Promise.race([failure, main()]) : main;
        for (const [k, v] of Object.entries(program)) if (!pulumi.Output.isInstance(v)) outputs[k] = v;
        const names = Object.keys(program).filter((k) => pulumi.Output.isInstance(program[k]));
        await Promise.race([
            failure,
            Promise.all(
                names.map(async (k) => {
                    // eslint-disable-next-line @typescript-eslint/no-explicit-any
                    const o = program[k] as any;
                    // Await every promise an Output carries, so a failed apply surfaces once, here.
                    const [value, secret] = await Promise.all([o.promise(), o.isSecret, o.isKnown]);
                    outputs[k] = value;
                    if (secret) secretOutputs.add(k);
                }),
            ),
        ]);
        await Promise.race([failure, settle(() => rec.resources.length)]);
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    const resources = [...rec.resources].sort((a, b) => a.seq - b.seq);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const byName = (name: string) => {
        const r = resources.find((x) => x.name === name);
        if (!r) throw new Error(`no resource named ${name}; have: ${resources.map((x) => x.name).join(", ")}`);
        return r;
    };
    return {
        resources,
        outputs,
        secretOutputs,
        byName,
        byUrn: (urn: string) => byUrn.get(urn),
        dependsOn(a: string, b: string) {
            const target = byName(b).urn;
            const seen = new Set<string>();
            const walk = (urn: string): boolean => {
                if (seen.has(urn)) return false;
                seen.add(urn);
                const r = byUrn.get(urn);
                if (!r) return false;
                return r.dependencies.some((d) => d === target || walk(d));
            };
            return walk(byName(a).urn);
        },
    };
}

/** Wait until the number of registered resources stops changing. */
async function settle(count: () => number): Promise<void> {
    let last = -1;
    let stable = 0;
    while (stable < 5) {
        await new Promise((r) => setTimeout(r, 10));
        const n = count();
        stable = n === last ? stable + 1 : 0;
        last = n;
    }
}

/** Remote steps only: resources of type command:remote:Command. */
export function remoteSteps(run: ProgramRun): Registered[] {
    return run.resources.filter((r) => r.type === "command:remote:Command" && parseCommand(String(r.inputs.create)) !== undefined);
}

/** Does the resource act on a host over SSH (a command, or the step files' upload)? */
export function isRemote(r: Registered): boolean {
    return r.type === "command:remote:Command" || r.type === "command:remote:CopyToRemote";
}

/**
 * Sequential remote steps on the longest dependency chain (through any resource, counting
 * only remote steps): the floor on how long a `pulumi up` takes, whatever the host count.
 */
export function criticalPath(run: ProgramRun): { length: number; chain: Registered[] } {
    const memo = new Map<string, { length: number; chain: Registered[] }>();
    const visit = (r: Registered): { length: number; chain: Registered[] } => {
        const hit = memo.get(r.urn);
        if (hit) return hit;
        let best = { length: 0, chain: [] as Registered[] };
        for (const d of r.dependencies) {
            const dep = run.byUrn(d);
            if (!dep) continue;
            const sub = visit(dep);
            if (sub.length > best.length) best = sub;
        }
        const self = isRemote(r);
        const result = { length: best.length + (self ? 1 : 0), chain: self ? [...best.chain, r] : best.chain };
        memo.set(r.urn, result);
        return result;
    };
    let best = { length: 0, chain: [] as Registered[] };
    for (const r of run.resources) {
        const v = visit(r);
        if (v.length > best.length) best = v;
    }
    return best;
}
