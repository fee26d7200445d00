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
import { uploadsCerts, waitNodesReadyParams } from "../steps";
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

        const hosts = new Map(
            spec.hosts.map((h) => [h.name, new Host(`${name}-${h.name}`, { spec, host: h, privateKey: args.privateKey, bastion: spec.bastion }, parent)]),
        );
        const problems = pulumi
            .all([...hosts.values()].map((h) => pulumi.all([h.spec.name, h.facts])))
            .apply((all) =>
                fleetProblems(
                    all.map(([host, stdout]) => ({ host, stdout })),
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

        const packages = new Map<string, KubePackages>();
        for (const [hostName, host] of hosts) {
            const prep = new NodePrep(`${name}-${hostName}-prep`, { spec, host, preflight: gate }, parent);
            const runtime = new ContainerRuntime(`${name}-${hostName}-runtime`, { spec, host, after: prep.done }, parent);
            packages.set(hostName, new KubePackages(`${name}-${hostName}-packages`, { spec, host, after: runtime.install }, parent));
        }

        // Control planes: the endpoint's load balancer on each, init on the first, then the
        // others join one at a time.
        const cpSpecs = controlPlanes(spec);
        const cpSpec = cpSpecs[0];
        const cpHost = hosts.get(cpSpec.name)!;
        const certificateKey = uploadsCerts(spec)
            ? pulumi.secret(new random.RandomId(`${name}-certificate-key`, { byteLength: 32 }, parent).hex)
            : undefined;
        const vrrpPassword =
            spec.ha.loadBalancer === "keepalived-haproxy"
                ? pulumi.secret(new random.RandomPassword(`${name}-vrrp-password`, { length: 8, special: false }, parent).result)
                : undefined;
        const ready = new Map<string, pulumi.Resource[]>();
        for (const h of cpSpecs) {
            const after: pulumi.Resource[] = [packages.get(h.name)!.install];
            if (spec.ha.loadBalancer === "keepalived-haproxy" || spec.ha.loadBalancer === "kube-vip") {
                const lb = new ApiLoadBalancer(
                    `${name}-${h.name}-lb`,
                    { spec, host: hosts.get(h.name)!, first: h === cpSpec, vrrpPassword, after: after[0] },
                    parent,
                );
                after.push(lb.setup);
            }
            ready.set(h.name, after);
        }
        // The kubeconfig is read once whatever rewrites admin.conf (upgrade, renewal) has run;
        // those are created further down, so the dependency is handed over as a promise.
        let kubeconfigAfter: (r: pulumi.Resource[]) => void = () => undefined;
        const controlPlane = new ControlPlane(
            `${name}-control-plane`,
            {
                spec,
                host: cpHost,
                after: ready.get(cpSpec.name)!,
                certificateKey,
                kubeconfigAfter: new Promise<pulumi.Resource[]>((resolve) => (kubeconfigAfter = resolve)),
            },
            parent,
        );
        let previousCp: pulumi.Resource = controlPlane.init;
        const cpRegistrations: pulumi.Resource[] = [];
        const joinedCps: { host: Host; after: pulumi.Resource }[] = [];
        for (const h of cpSpecs.slice(1)) {
            const token = new JoinToken(`${name}-${h.name}-token`, { spec, controlPlane, node: h, after: [previousCp, ready.get(h.name)![0]] }, parent);
            const join = new ControlPlaneJoin(
                `${name}-${h.name}-join`,
                { spec, host: hosts.get(h.name)!, controlPlane, token, certificateKey: certificateKey!, after: [previousCp, ...ready.get(h.name)!] },
                parent,
            );
            previousCp = join.registration;
            cpRegistrations.push(join.registration);
            joinedCps.push({ host: hosts.get(h.name)!, after: join.registration });
        }

        const joined = workers(spec).map((w) => {
            const after = packages.get(w.name)!.install;
            const token = new JoinToken(`${name}-${w.name}-token`, { spec, controlPlane, node: w, after }, parent);
            const join = new WorkerJoin(`${name}-${w.name}-join`, { spec, host: hosts.get(w.name)!, controlPlane, token, after }, parent);
            return { host: hosts.get(w.name)!, after: join.registration };
        });
        const registrations = joined.map((j) => j.after);
        const upgraded = isUpgrade(args.deployedVersion, spec.kubernetesVersion)
            ? new Upgrade(
                  `${name}-upgrade-${spec.kubernetesVersion.full}`,
                  { spec, controlPlane, controlPlanes: joinedCps, workers: joined, after: [controlPlane.init] },
                  parent,
              ).done
            : [];
        const certificates = new Certificates(`${name}-certificates`, { spec, controlPlane, today: args.today, after: upgraded }, parent);
        this.certificateExpiry = certificates.expiry;
        kubeconfigAfter([...upgraded, ...(spec.certificateRenewal ? [certificates.check] : [])]);
        if (spec.etcdBackup.enabled) new EtcdBackup(`${name}-etcd-backup`, { spec, controlPlane }, parent);

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
            { parent: this, dependsOn: [cni.ready, controlPlane.init, ...cpRegistrations, ...registrations, ...upgraded] },
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
            certificateExpiry: this.certificateExpiry,
        });
    }
}
