// Every remote step, in one place: the script it runs (scripts/<script>.sh, assembled with the
// library modules it names), how its non-secret parameters are built, the names of its secret
// parameters, and whether it has an undo (create/delete modes). The components, remoteStep, the plan
// tool and the host tests all read this registry.
import { ClusterSpec, HostSpec } from "../config/spec";
import {
    Params,
    certsParams,
    controlPlaneInitParams,
    etcdBackupParams,
    factsParams,
    joinParams,
    joinTokenParams,
    kubePackagesParams,
    lbKeepalivedHaproxyParams,
    lbKubeVipParams,
    nodeDrainParams,
    nodeRegistrationParams,
    prepFirewallParams,
    prepSystemParams,
    prepTimesyncParams,
    runtimeParams,
    upgradeControlPlaneParams,
    upgradeNodeParams,
    waitNodesReadyParams,
} from "./params";

export interface StepDef<A> {
    /** The script under scripts/, without ".sh". */
    script: string;
    /** What it needs to know to build its parameters. */
    params: (args: A) => Params;
    /** Names of its secret parameters (the caller passes them as secret Outputs; never in clear text). */
    secrets: readonly string[];
    /** It has an undo: `create` and `delete` modes, and it is updated in place, never replaced. */
    undo: boolean;
    /** It prints a secret (e.g. the kubeconfig): its stdout is a secret output and is not logged. */
    secretStdout?: boolean;
}

/** The arguments most steps build their parameters from. */
export interface OnHost {
    spec: ClusterSpec;
    host: HostSpec;
}

const def = <A>(d: StepDef<A>): StepDef<A> => d;
const none = (): Params => ({});

export const STEPS = {
    facts: def({ script: "facts", params: (a: OnHost) => factsParams(a.spec, a.host), secrets: [], undo: false }),
    prepSystem: def({ script: "prep-system", params: (a: OnHost) => prepSystemParams(a.spec, a.host), secrets: [], undo: false }),
    prepFirewall: def({ script: "prep-firewall", params: (a: OnHost) => prepFirewallParams(a.spec, a.host), secrets: [], undo: false }),
    prepTimesync: def({ script: "prep-timesync", params: (a: OnHost) => prepTimesyncParams(a.spec), secrets: [], undo: false }),
    runtimeContainerd: def({ script: "runtime-containerd", params: (a: OnHost) => runtimeParams(a.spec), secrets: [], undo: false }),
    runtimeDocker: def({ script: "runtime-docker", params: (a: OnHost) => runtimeParams(a.spec), secrets: [], undo: false }),
    kubePackages: def({ script: "kube-packages", params: (a: OnHost) => kubePackagesParams(a.spec, a.host), secrets: [], undo: false }),
    /** kubeadm init on the first control plane (KC_CERTIFICATE_KEY when the certificates are uploaded for more control planes). */
    controlPlaneInit: def({ script: "control-plane-init", params: (a: OnHost) => controlPlaneInitParams(a.spec, a.host), secrets: ["KC_CERTIFICATE_KEY"], undo: true }),
    readKubeconfig: def({ script: "read-kubeconfig", params: none, secrets: [], undo: false, secretStdout: true }),
    caHash: def({ script: "ca-hash", params: none, secrets: [], undo: false }),
    /** A join token for one node, made on the first control plane; `node` is the joining host. */
    joinToken: def({ script: "join-token", params: (a: { spec: ClusterSpec; node: HostSpec }) => joinTokenParams(a.spec, a.node), secrets: ["KC_TOKEN"], undo: true }),
    workerJoin: def({ script: "worker-join", params: (a: { spec: ClusterSpec }) => joinParams(a.spec), secrets: ["KC_JOIN_CONFIG_B64"], undo: true }),
    controlPlaneJoin: def({ script: "control-plane-join", params: (a: { spec: ClusterSpec }) => joinParams(a.spec), secrets: ["KC_JOIN_CONFIG_B64"], undo: true }),
    /** On the first control plane: the certificates uploaded again (they expire) before a control plane joins. */
    uploadCerts: def({ script: "upload-certs", params: none, secrets: ["KC_CERTIFICATE_KEY"], undo: false }),
    /** On the first control plane, for one node: waits for it to register and be Ready; its undo drains and deletes the Node. */
    nodeRegistration: def({ script: "node-registration", params: (a: { node: HostSpec }) => nodeRegistrationParams(a.node), secrets: [], undo: true }),
    waitNodesReady: def({ script: "wait-nodes-ready", params: (a: { spec: ClusterSpec }) => waitNodesReadyParams(a.spec), secrets: [], undo: false }),
    lbKeepalivedHaproxy: def({ script: "lb-keepalived-haproxy", params: (a: { spec: ClusterSpec }) => lbKeepalivedHaproxyParams(a.spec), secrets: ["KC_KEEPALIVED_CONF_B64"], undo: true }),
    lbKubeVip: def({
        script: "lb-kube-vip",
        params: (a: OnHost & { iface: string; first: boolean }) => lbKubeVipParams(a.spec, a.host, a.iface, a.first),
        secrets: [],
        undo: true,
    }),
    certs: def({ script: "certs", params: (a: { spec: ClusterSpec }) => certsParams(a.spec), secrets: [], undo: false }),
    etcdBackup: def({ script: "etcd-backup", params: (a: { spec: ClusterSpec }) => etcdBackupParams(a.spec), secrets: [], undo: true }),
    upgradeControlPlane: def({ script: "upgrade-control-plane", params: (a: OnHost) => upgradeControlPlaneParams(a.spec, a.host), secrets: [], undo: false }),
    /** On the first control plane, for one node being upgraded: drain, or uncordon and wait until Ready at the new version. */
    nodeDrain: def({
        script: "node-drain",
        params: (a: { spec: ClusterSpec; node: HostSpec; action: "drain" | "uncordon" }) => nodeDrainParams(a.spec, a.node, a.action),
        secrets: [],
        undo: false,
    }),
    upgradeNode: def({ script: "upgrade-node", params: (a: { spec: ClusterSpec }) => upgradeNodeParams(a.spec), secrets: [], undo: false }),
} as const;

export type StepName = keyof typeof STEPS;

/** The runtime step of the configured container runtime. */
export function runtimeStepDef(spec: ClusterSpec): StepDef<OnHost> {
    return spec.containerRuntime === "containerd" ? STEPS.runtimeContainerd : STEPS.runtimeDocker;
}

/** Every registered step, by script name. */
export function stepByScript(script: string): StepDef<never> {
    const found = Object.values(STEPS).find((d) => d.script === script);
    if (!found) throw new Error(`no registered step runs scripts/${script}.sh`);
    return found as StepDef<never>;
}

/** The names of every secret parameter of every step: what the plan masks and remoteStep accepts only as a secret. */
export const SECRET_PARAMS: readonly string[] = [...new Set(Object.values(STEPS).flatMap((d) => d.secrets))].sort();
