// What the facts step reports about a host, and the checks that need every host's facts.
import { cidrContains } from "../config/net";

export interface HostFacts {
    os: string;
    osVersion: string;
    family: string;
    kernel: string;
    cpus: number;
    memoryMb: number;
    productUuid: string;
    cgroup: string;
    hostname: string;
    /** The interface that carries the host's configured address ("" when none does). */
    interface?: string;
    /** That address with its prefix, e.g. 192.168.10.11/24. */
    addressCidr?: string;
    /** The running cluster's version seen from a control plane ("" when there is none). */
    clusterVersion?: string;
}

/** Parse the facts step's stdout (one JSON line); throws a sentence naming the host on garbage. */
export function parseFacts(hostName: string, stdout: string): HostFacts {
    const line = stdout.trim().split("\n").pop() ?? "";
    let parsed: unknown;
    try {
        parsed = JSON.parse(line);
    } catch {
        throw new Error(`host ${hostName}: the facts step printed no facts (got ${JSON.stringify(line.slice(0, 80))}); re-run with \`pulumi up --refresh\` or check the host's shell prints nothing on login.`);
    }
    return parsed as HostFacts;
}

/**
 * Cross-host preflight: kubeadm needs a unique product_uuid per node (cloned VMs often share one);
 * a virtual IP must lie in every control plane's subnet, on the interface that carries its address.
 * Returns the problems as one sentence, or "" when there are none.
 */
export function fleetProblems(facts: { host: string; facts: HostFacts }[], vip?: { address: string; controlPlanes: string[] }): string {
    const problems: string[] = [];
    if (vip) {
        for (const f of facts.filter((x) => vip.controlPlanes.includes(x.host))) {
            if (!f.facts.interface || !f.facts.addressCidr) {
                problems.push(`control plane ${f.host}: its configured address is on none of its interfaces, so keepalived cannot hold the virtual IP there; use the host's own address in hosts.`);
            } else if (!cidrContains(f.facts.addressCidr, vip.address)) {
                problems.push(`the virtual IP ${vip.address} is outside control plane ${f.host}'s subnet ${f.facts.addressCidr} (${f.facts.interface}): choose a free address in the control planes' subnet.`);
            }
        }
    }
    const byUuid = new Map<string, string[]>();
    for (const f of facts) {
        const uuid = f.facts.productUuid?.trim().toLowerCase();
        if (!uuid) continue;
        byUuid.set(uuid, [...(byUuid.get(uuid) ?? []), f.host]);
    }
    const clashes = [...byUuid.entries()].filter(([, hosts]) => hosts.length > 1);
    problems.push(
        ...clashes.map(([uuid, hosts]) => `hosts ${hosts.join(", ")} share product_uuid ${uuid}: they are clones; give each VM a new UUID (e.g. a new SMBIOS UUID in the hypervisor) before joining them.`),
    );
    return problems.join(" ");
}
