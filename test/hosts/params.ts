// Step parameters for the host tests: the program's own builders (components/steps.ts) applied to
// a spec of test hosts on 10.250.0.0/24, so each script gets exactly what `pulumi up` would send.
import { ClusterSpec, HostSpec } from "../../components/config/spec";
import * as steps from "../../components/steps";
import { makeSpec } from "../fixtures/spec";
import { TestHost } from "./harness";

/** A cluster spec whose hosts are the test hosts; the first control plane is the endpoint. */
export function specFor(hosts: TestHost[], overrides: Partial<ClusterSpec> = {}): ClusterSpec {
    const specHosts: HostSpec[] = hosts.map((h) => h.spec);
    const cp = hosts.find((h) => h.role === "control-plane") ?? hosts[0];
    return makeSpec({
        hosts: specHosts,
        controlPlaneEndpoint: `${cp.ip}:6443`,
        ...overrides,
    });
}

function specHost(spec: ClusterSpec, host: TestHost): HostSpec {
    const h = spec.hosts.find((x) => x.name === host.name);
    if (!h) throw new Error(`host ${host.name} is not in the spec`);
    return h;
}

/**
 * Test-only knob the scripts document (scripts/lib/core.sh): waits and retries poll every
 * KC_POLL_SECONDS instead of 5 s. Everything else is what the program sends.
 */
export const FAST = { KC_POLL_SECONDS: "0" };

export const NODE_PREP_STEPS = ["prep-system", "prep-firewall", "prep-timesync", "runtime", "kube-packages"] as const;

/**
 * Script name and parameters of a step that runs on HOST about HOST (the registry's builder with
 * {spec, host}); "runtime" resolves to the configured runtime's step.
 */
export function nodeStep(spec: ClusterSpec, host: TestHost, step: string): { step: string; params: Record<string, string> } {
    const def = step === "runtime" ? steps.runtimeStepDef(spec) : steps.stepByScript(step);
    return { step: def.script, params: (def.params as (a: steps.OnHost) => Record<string, string>)({ spec, host: specHost(spec, host) }) };
}

export function joinTokenParams(spec: ClusterSpec, worker: TestHost, token: string): Record<string, string> {
    return { ...steps.joinTokenParams(spec, specHost(spec, worker)), KC_TOKEN: token };
}

export function workerJoinParams(spec: ClusterSpec, worker: TestHost, token: string, caHash: string): Record<string, string> {
    const h = specHost(spec, worker);
    return { ...steps.joinParams(spec), ...steps.workerJoinSecretParams(spec, h, token, caHash) };
}

export function nodeRegistrationParams(spec: ClusterSpec, worker: TestHost): Record<string, string> {
    return steps.nodeRegistrationParams(specHost(spec, worker));
}

/** A random bootstrap token, as the program's random resources make them. */
export function newToken(): string {
    const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    const pick = (n: number) => Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join("");
    return `${pick(6)}.${pick(16)}`;
}

// Day-2 steps (components/cluster/upgrade.ts and maintenance.ts send these).

export function upgradeControlPlaneParams(spec: ClusterSpec, cp: TestHost): Record<string, string> {
    return steps.upgradeControlPlaneParams(spec, specHost(spec, cp));
}

export function upgradeNodeParams(spec: ClusterSpec): Record<string, string> {
    return steps.upgradeNodeParams(spec);
}

export function nodeDrainParams(spec: ClusterSpec, node: TestHost, action: "drain" | "uncordon"): Record<string, string> {
    return steps.nodeDrainParams(spec, specHost(spec, node), action);
}

export function certsParams(spec: ClusterSpec): Record<string, string> {
    return steps.certsParams(spec);
}

export function etcdBackupParams(spec: ClusterSpec): Record<string, string> {
    return steps.etcdBackupParams(spec);
}
