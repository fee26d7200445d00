// The pod network: Calico through the tigera operator (its Installation's pool = pod CIDR),
// or Flannel from its Helm chart (Network = pod CIDR). Applied with the cluster's provider.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { calicoInstallation, calicoManifestUrls, flannelChartValues } from "../render";

export interface CniArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** Provider built from the cluster's kubeconfig. */
    provider: k8s.Provider;
}

export class Cni extends pulumi.ComponentResource {
    /** The resource whose readiness means the CNI is applied. */
    public readonly ready: pulumi.Resource;

    constructor(name: string, args: CniArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:addons:Cni", name, {}, opts);
        const { spec, provider } = args;
        const o = { parent: this, provider };
        if (spec.cni.plugin === "calico") {
            const [crdsUrl, operatorUrl] = calicoManifestUrls(spec);
            const crds = new k8s.yaml.v2.ConfigFile(`${name}-calico-crds`, { file: crdsUrl }, o);
            const operator = new k8s.yaml.v2.ConfigFile(`${name}-tigera-operator`, { file: operatorUrl }, { ...o, dependsOn: [crds] });
            const inst = calicoInstallation(spec);
            this.ready = new k8s.apiextensions.CustomResource(
                `${name}-calico-installation`,
                { apiVersion: inst.apiVersion, kind: inst.kind, metadata: inst.metadata, spec: inst.spec },
                { ...o, dependsOn: [operator] },
            );
        } else {
            const ns = new k8s.core.v1.Namespace(
                `${name}-flannel-namespace`,
                { metadata: { name: "kube-flannel", labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
                o,
            );
            this.ready = new k8s.helm.v4.Chart(
                `${name}-flannel`,
                {
                    chart: "flannel",
                    version: spec.cni.version,
                    namespace: "kube-flannel",
                    repositoryOpts: { repo: spec.cni.source },
                    values: flannelChartValues(spec),
                },
                { ...o, dependsOn: [ns] },
            );
        }
        this.registerOutputs({});
    }
}
