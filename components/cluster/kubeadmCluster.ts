// The whole cluster as one dependency graph:
//   facts (all hosts, in parallel) -> fleet preflight -> prep -> runtime -> packages (per host, in parallel)
//   -> init (first control plane) -> per worker: token -> join -> registration (workers in parallel)
//   -> CNI -> every node Ready -> workloads.
// While the deployed version differs from the configured one, an Upgrade chain runs after the
// joins: control plane, then the workers batch by batch.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterSpec, controlPlanes, workers } from "../config/spec";
import { Cni, Workloads } from "../addons";
import { ContainerRuntime, Host, KubePackages, NodePrep, fleetProblems } from "../nodes";
import { remoteStep } from "../remote/step";
import { STEPS, uploadsCerts } from "../steps";
import { ApiLoadBalancer } from "./apiLoadBalancer";
import { ControlPlaneJoin } from "./controlPlaneJoin";
import { ControlPlane } from "./controlPlane";
import { JoinToken } from "./joinToken";
import { CertificateExpiry, Certificates, EtcdBackup } from "./maintenance";
import { Upgrade } from "./upgrade";
import { isUpgrade } from "./upgradePath";
import { WorkerJoin } from "./workerJoin";

export interface KubeadmClusterArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The SSH private key (secret). */
    privateKey: pulumi.Output<string>;
    /** The user's manifests (multi-document YAML), applied after the CNI. */
    userManifests?: string;
    /** The Kubernetes version the last successful `pulumi up` left (undefined for a new stack). */
    deployedVersion?: string;
    /** Today's date, YYYY-MM-DD (daily certificate check). */
    today: string;
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
    /** Earliest expiry of the control plane's certificates. */
    public readonly certificateExpiry: pulumi.Output<CertificateExpiry | undefined>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:index:KubeadmCluster", name, {}, opts);
        const { spec } = args;
        const parent = { parent: this };

        // Every host, in the order of the config: its connection, step files and facts, then
        // (behind the fleet preflight) its preparation, runtime and packages.
        const machines = spec.hosts.map((h) => new Host(`${name}-${h.name}`, { spec, host: h, privateKey: args.privateKey, bastion: spec.bastion }, parent));
        const problems = pulumi
            .all(machines.map((m) => m.parsedFacts.apply((facts) => ({ host: m.spec.name, facts }))))
            .apply((all) =>
                fleetProblems(
                    all,
                    spec.ha.vip && spec.ha.loadBalancer !== "external" ? { address: spec.ha.vip, controlPlanes: controlPlanes(spec).map((h) => h.name) } : undefined,
                ),
            );
        // One place fails the run with the reason (an exported output); the preparation steps
        // wait on a gate that opens only when there is no problem, so no host is touched.
        this.preflight = problems.apply((p) => {
            if (p) throw new pulumi.RunError(p);
            return "passed";
        });
        const gate = problems.apply((p): Promise<string> => (p ? new Promise<string>(() => undefined) : Promise.resolve("passed")));
        const nodes = machines.map((host) => {
            const hostName = host.spec.name;
            const prep = new NodePrep(`${name}-${hostName}-prep`, { spec, host, preflight: gate }, parent);
            const runtime = new ContainerRuntime(`${name}-${hostName}-runtime`, { spec, host, after: prep.done }, parent);
            const packages = new KubePackages(`${name}-${hostName}-packages`, { spec, host, after: runtime.install }, parent);
            return { host, packages: packages.install };
        });

        // Control planes: the endpoint's load balancer on each, init on the first, then the
        // others join one at a time.
        const certificateKey = uploadsCerts(spec)
            ? pulumi.secret(new random.RandomId(`${name}-certificate-key`, { byteLength: 32 }, parent).hex)
            : undefined;
        const vrrpPassword =
            spec.ha.loadBalancer === "keepalived-haproxy"
                ? pulumi.secret(new random.RandomPassword(`${name}-vrrp-password`, { length: 8, special: false }, parent).result)
                : undefined;
        const cpNodes = nodes.filter((n) => n.host.spec.role === "control-plane").map((n, i) => {
            // What a control plane's init or join waits for: its packages, then its load balancer.
            const ready: pulumi.Resource[] = [n.packages];
            if (spec.ha.loadBalancer === "keepalived-haproxy" || spec.ha.loadBalancer === "kube-vip") {
                const lb = new ApiLoadBalancer(`${name}-${n.host.spec.name}-lb`, { spec, host: n.host, first: i === 0, vrrpPassword, after: n.packages }, parent);
                ready.push(lb.setup);
            }
            return { ...n, ready };
        });
        const [first, ...moreCps] = cpNodes;
        const controlPlane = new ControlPlane(`${name}-control-plane`, { spec, host: first.host, after: first.ready, certificateKey }, parent);
        let previousCp: pulumi.Resource = controlPlane.init;
        const joinedCps = moreCps.map((n) => {
            const h = n.host.spec;
            const token = new JoinToken(`${name}-${h.name}-token`, { spec, controlPlane, node: h, after: [previousCp, n.packages] }, parent);
            if (!certificateKey) throw new Error(`control plane ${h.name} joins with the uploaded certificates, but no certificate key was made`);
            const join = new ControlPlaneJoin(`${name}-${h.name}-join`, { spec, host: n.host, controlPlane, token, certificateKey, after: [previousCp, ...n.ready] }, parent);
            previousCp = join.registration;
            return { host: n.host, after: join.registration };
        });
        const joinedWorkers = nodes
            .filter((n) => n.host.spec.role === "worker")
            .map((n) => {
                const token = new JoinToken(`${name}-${n.host.spec.name}-token`, { spec, controlPlane, node: n.host.spec, after: n.packages }, parent);
                const join = new WorkerJoin(`${name}-${n.host.spec.name}-join`, { spec, host: n.host, controlPlane, token, after: n.packages }, parent);
                return { host: n.host, after: join.registration };
            });
        const upgraded = isUpgrade(args.deployedVersion, spec.kubernetesVersion)
            ? new Upgrade(
                  `${name}-upgrade-${spec.kubernetesVersion.full}`,
                  { spec, controlPlane, controlPlanes: joinedCps, workers: joinedWorkers, after: [controlPlane.init] },
                  parent,
              ).done
            : [];
        const certificates = new Certificates(`${name}-certificates`, { spec, controlPlane, today: args.today, after: upgraded }, parent);
        this.certificateExpiry = certificates.expiry;
        if (spec.etcdBackup.enabled) new EtcdBackup(`${name}-etcd-backup`, { spec, controlPlane }, parent);
        // Read once whatever rewrites admin.conf (an upgrade, a renewal) has run.
        this.kubeconfig = controlPlane.readKubeconfig([...upgraded, ...(spec.certificateRenewal ? [certificates.check] : [])]);

        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.kubeconfig, deleteUnreachable: true },
            { ...parent, dependsOn: [controlPlane.init] },
        );
        const cni = new Cni(`${name}-cni`, { spec, provider: this.provider }, parent);

        const nodesReady = remoteStep(
            `${name}-nodes-ready`,
            STEPS.waitNodesReady,
            { on: first.host, args: { spec } },
            { parent: this, dependsOn: [cni.ready, controlPlane.init, ...joinedCps.map((j) => j.after), ...joinedWorkers.map((j) => j.after), ...upgraded] },
        );
        new Workloads(
            `${name}-workloads`,
            { spec, provider: this.provider, after: [nodesReady], userManifests: args.userManifests },
            parent,
        );

        this.apiServerEndpoint = pulumi.output(`https://${spec.controlPlaneEndpoint}`);
        this.nodes = pulumi.output(spec.hosts.map((h) => ({ name: h.name, address: h.address, role: h.role })));
        const demoHost = workers(spec)[0] ?? first.host.spec;
        this.demoUrl = pulumi.output(spec.demo.enabled ? `http://${demoHost.address}:${spec.demo.nodePort}/` : undefined);
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            apiServerEndpoint: this.apiServerEndpoint,
            nodes: this.nodes,
            demoUrl: this.demoUrl,
            certificateExpiry: this.certificateExpiry,
        });
    }
}
