// The whole cluster as one dependency graph:
//   facts (all hosts, in parallel) -> fleet preflight -> prep -> runtime -> packages (per host, in parallel)
//   -> init (first control plane) -> per worker: token -> join -> registration (workers in parallel)
//   -> CNI -> every node Ready -> workloads.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec, controlPlanes, workers } from "../config/spec";
import { Cni, Workloads } from "../addons";
import { ContainerRuntime, Host, KubePackages, NodePrep, fleetProblems } from "../nodes";
import { remoteStep } from "../remote/step";
import { waitNodesReadyParams } from "../steps";
import { ControlPlane } from "./controlPlane";
import { JoinToken } from "./joinToken";
import { WorkerJoin } from "./workerJoin";

export interface KubeadmClusterArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The SSH private key (secret). */
    privateKey: pulumi.Output<string>;
    /** The user's manifests (multi-document YAML), applied after the CNI. */
    userManifests?: string;
}

export interface NodeInfo {
    name: string;
    address: string;
    role: string;
}

export class KubeadmCluster extends pulumi.ComponentResource {
    /** Admin kubeconfig (secret). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** https://host:port of the API server. */
    public readonly apiServerEndpoint: pulumi.Output<string>;
    public readonly nodes: pulumi.Output<NodeInfo[]>;
    /** URL of the demo nginx Service, when the demo is enabled. */
    public readonly demoUrl: pulumi.Output<string | undefined>;
    public readonly provider: k8s.Provider;
    /** "passed" once every host's facts passed the cross-host checks; fails the run with the reason otherwise. */
    public readonly preflight: pulumi.Output<string>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:index:KubeadmCluster", name, {}, opts);
        const { spec } = args;
        const parent = { parent: this };

        const hosts = new Map(
            spec.hosts.map((h) => [h.name, new Host(`${name}-${h.name}`, { spec, host: h, privateKey: args.privateKey, bastion: spec.bastion }, parent)]),
        );
        const problems = pulumi
            .all([...hosts.values()].map((h) => pulumi.all([h.spec.name, h.facts])))
            .apply((all) => fleetProblems(all.map(([host, stdout]) => ({ host, stdout }))));
        // One place fails the run with the reason (an exported output); the preparation steps
        // wait on a gate that opens only when there is no problem, so no host is touched.
        this.preflight = problems.apply((p) => {
            if (p) throw new pulumi.RunError(p);
            return "passed";
        });
        const gate = problems.apply((p): Promise<string> => (p ? new Promise<string>(() => undefined) : Promise.resolve("passed")));

        const packages = new Map<string, KubePackages>();
        for (const [hostName, host] of hosts) {
            const prep = new NodePrep(`${name}-${hostName}-prep`, { spec, host, preflight: gate }, parent);
            const runtime = new ContainerRuntime(`${name}-${hostName}-runtime`, { spec, host, after: prep.done }, parent);
            packages.set(hostName, new KubePackages(`${name}-${hostName}-packages`, { spec, host, after: runtime.install }, parent));
        }

        const cpSpec = controlPlanes(spec)[0];
        const cpHost = hosts.get(cpSpec.name)!;
        const controlPlane = new ControlPlane(
            `${name}-control-plane`,
            { spec, host: cpHost, after: packages.get(cpSpec.name)!.install },
            parent,
        );

        const registrations = workers(spec).map((w) => {
            const after = packages.get(w.name)!.install;
            const token = new JoinToken(`${name}-${w.name}-token`, { spec, controlPlane, node: w, after }, parent);
            return new WorkerJoin(
                `${name}-${w.name}-join`,
                { spec, host: hosts.get(w.name)!, controlPlane, token, after },
                parent,
            ).registration;
        });

        this.kubeconfig = controlPlane.kubeconfig;
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: controlPlane.kubeconfig, deleteUnreachable: true },
            { ...parent, dependsOn: [controlPlane.init] },
        );
        const cni = new Cni(`${name}-cni`, { spec, provider: this.provider }, parent);

        const nodesReady = remoteStep(
            `${name}-nodes-ready`,
            { step: "wait-nodes-ready", host: cpHost.spec, connection: cpHost.connection, params: waitNodesReadyParams(spec) },
            { parent: this, dependsOn: [cni.ready, controlPlane.init, ...registrations] },
        );
        new Workloads(
            `${name}-workloads`,
            { spec, provider: this.provider, after: [nodesReady], userManifests: args.userManifests },
            parent,
        );

        this.apiServerEndpoint = pulumi.output(`https://${spec.controlPlaneEndpoint}`);
        this.nodes = pulumi.output(spec.hosts.map((h) => ({ name: h.name, address: h.address, role: h.role })));
        const demoHost = workers(spec)[0] ?? cpSpec;
        this.demoUrl = pulumi.output(spec.demo.enabled ? `http://${demoHost.address}:${spec.demo.nodePort}/` : undefined);
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            apiServerEndpoint: this.apiServerEndpoint,
            nodes: this.nodes,
            demoUrl: this.demoUrl,
        });
    }
}
