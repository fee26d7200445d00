// Workloads that go on once every node is Ready: the seeds' nginx Deployment + NodePort
// Service, and the user's own manifests.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";

export interface WorkloadsArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** Provider built from the cluster's kubeconfig. */
    provider: k8s.Provider;
    /** What must be done first (nodes Ready). */
    after: pulumi.Resource[];
    /** The user's manifests (multi-document YAML text), already read from manifestsDir. */
    userManifests?: string;
}

export const DEMO_NAMESPACE = "demo";

export class Workloads extends pulumi.ComponentResource {
    constructor(name: string, args: WorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:addons:Workloads", name, {}, opts);
        const { spec, provider } = args;
        const o = { parent: this, provider, dependsOn: args.after };
        if (spec.demo.enabled) {
            const labels = { app: "nginx" };
            const ns = new k8s.core.v1.Namespace(`${name}-demo-namespace`, { metadata: { name: DEMO_NAMESPACE } }, o);
            const probe = { httpGet: { path: "/", port: 80 } };
            new k8s.apps.v1.Deployment(
                `${name}-nginx`,
                {
                    metadata: { name: "nginx", namespace: DEMO_NAMESPACE, labels },
                    spec: {
                        replicas: spec.demo.replicas,
                        selector: { matchLabels: labels },
                        template: {
                            metadata: { labels },
                            spec: {
                                containers: [
                                    {
                                        name: "nginx",
                                        image: spec.demo.image,
                                        ports: [{ name: "http", containerPort: 80 }],
                                        resources: {
                                            requests: { cpu: "50m", memory: "64Mi" },
                                            limits: { cpu: "250m", memory: "128Mi" },
                                        },
                                        readinessProbe: { ...probe, initialDelaySeconds: 2, periodSeconds: 5 },
                                        livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10 },
                                    },
                                ],
                            },
                        },
                    },
                },
                { ...o, dependsOn: [...args.after, ns] },
            );
            new k8s.core.v1.Service(
                `${name}-nginx-service`,
                {
                    metadata: { name: "nginx", namespace: DEMO_NAMESPACE, labels },
                    spec: {
                        type: "NodePort",
                        selector: labels,
                        ports: [{ name: "http", port: 80, targetPort: 80, nodePort: spec.demo.nodePort }],
                    },
                },
                { ...o, dependsOn: [...args.after, ns] },
            );
        }
        if (args.userManifests) {
            new k8s.yaml.v2.ConfigGroup(`${name}-user-manifests`, { yaml: args.userManifests }, o);
        }
        this.registerOutputs({});
    }
}
