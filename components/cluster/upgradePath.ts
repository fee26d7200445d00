// Which version changes `pulumi up` accepts: the same version, or one minor (any patch) up.
import { KubernetesVersion } from "../config/spec";
import { parseVersion } from "../config/validate";

/** The problem with going from the deployed version to the configured one, or undefined when it is fine. */
export function upgradePathProblem(deployed: string | undefined, target: KubernetesVersion): string | undefined {
    if (!deployed) return undefined;
    const from = parseVersionLoose(deployed);
    if (!from) return undefined;
    const cmp = from.minor !== target.minor ? from.minor - target.minor : from.patch - target.patch;
    if (cmp > 0) {
        return `kubernetesVersion ${target.full} is older than the deployed ${from.full}: downgrades are not supported; set kubernetesVersion back to ${from.full}.`;
    }
    if (target.minor > from.minor + 1) {
        const steps = [];
        for (let m = from.minor + 1; m < target.minor; m++) steps.push(`1.${m}.x`);
        return `upgrading from ${from.full} to ${target.full} skips minor versions: upgrade one minor at a time — set kubernetesVersion to ${steps[0]}, run pulumi up, then ${[...steps.slice(1), target.full].join(", then ")}.`;
    }
    return undefined;
}

/** Is this a change of version that needs the upgrade steps? */
export function isUpgrade(deployed: string | undefined, target: KubernetesVersion): boolean {
    return deployed !== undefined && deployed !== "" && parseVersionLoose(deployed)?.full !== target.full;
}

function parseVersionLoose(v: string): KubernetesVersion | undefined {
    const m = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(v.trim());
    if (!m) return undefined;
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return parseVersion(undefined, `${major}.${minor}.${patch}`) ?? { full: `${major}.${minor}.${patch}`, major, minor, patch, minorString: `${major}.${minor}` };
}

/**
 * Which control-plane changes `pulumi up` accepts, compared with what the last run deployed:
 * never below etcd's quorum in one step, and the first control plane (it ran kubeadm init and
 * runs the cluster-side steps) stays first.
 */
export function controlPlaneChangeProblem(deployedNodes: unknown, hosts: { name: string; role: string }[]): string | undefined {
    if (!Array.isArray(deployedNodes)) return undefined;
    const before = deployedNodes
        .filter((n): n is { name: string; role: string } => typeof n === "object" && n !== null && (n as { role?: unknown }).role === "control-plane")
        .map((n) => n.name);
    if (before.length === 0) return undefined;
    const now = hosts.filter((h) => h.role === "control-plane").map((h) => h.name);
    if (now[0] !== before[0]) {
        return `hosts lists ${now[0] ?? "no control plane"} as the first control plane, but the cluster was built from ${before[0]}, which ran kubeadm init and runs the cluster-side steps: keep ${before[0]} as the first control-plane host.`;
    }
    const removed = before.filter((n) => !now.includes(n));
    const quorum = Math.floor(before.length / 2) + 1;
    const kept = before.length - removed.length;
    if (removed.length > 0 && kept < quorum) {
        return `hosts removes ${removed.length} of ${before.length} control planes at once (${removed.join(", ")}): that leaves ${kept}, below etcd's majority of ${quorum}; remove one control plane per pulumi up.`;
    }
    return undefined;
}

/** A node added in the same run as an upgrade would install the new kubelet and fail to join the old control plane. */
export function addedDuringUpgradeProblem(deployedVersion: string | undefined, target: KubernetesVersion, deployedNodes: unknown, hosts: { name: string }[]): string | undefined {
    if (!isUpgrade(deployedVersion, target) || !Array.isArray(deployedNodes)) return undefined;
    const before = new Set(deployedNodes.map((n) => (n as { name?: unknown })?.name));
    const added = hosts.filter((h) => !before.has(h.name)).map((h) => h.name);
    if (added.length === 0) return undefined;
    return `hosts adds ${added.join(", ")} in the same pulumi up as the upgrade from ${deployedVersion} to ${target.full}: upgrade first, then add the new hosts in a second pulumi up (or add them at ${deployedVersion} first).`;
}
