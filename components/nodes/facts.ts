// What the facts step reports about a host, and the checks that need every host's facts.

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
 * Cross-host preflight: kubeadm needs a unique product_uuid per node (cloned VMs often share one).
 * Returns the problems as one sentence, or "" when there are none.
 */
export function fleetProblems(facts: { host: string; stdout: string }[]): string {
    const byUuid = new Map<string, string[]>();
    for (const f of facts) {
        const uuid = parseFacts(f.host, f.stdout).productUuid?.trim().toLowerCase();
        if (!uuid) continue;
        byUuid.set(uuid, [...(byUuid.get(uuid) ?? []), f.host]);
    }
    const clashes = [...byUuid.entries()].filter(([, hosts]) => hosts.length > 1);
    return clashes
        .map(([uuid, hosts]) => `hosts ${hosts.join(", ")} share product_uuid ${uuid}: they are clones; give each VM a new UUID (e.g. a new SMBIOS UUID in the hypervisor) before joining them.`)
        .join(" ");
}
