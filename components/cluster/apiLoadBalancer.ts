// What answers on controlPlaneEndpoint on one control plane: keepalived (holding the virtual IP,
// VRRP with a generated password, demoted when its haproxy is down) + haproxy (forwarding to every
// API server, with health checks), or kube-vip (a static pod holding the VIP by ARP).
// Set up before `kubeadm init` / the control-plane join, which already talk to the endpoint.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes";
import { remoteStep } from "../remote/step";
import { STEPS, keepalivedSecretParams } from "../steps";

export interface ApiLoadBalancerArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The control plane to set up. */
    host: Host;
    /** Is this the first control plane (the one that runs kubeadm init)? */
    first: boolean;
    /** VRRP password (secret, 8 characters); keepalived-haproxy only. */
    vrrpPassword?: pulumi.Output<string>;
    /** What must be done first (packages and runtime on this host). */
    after: pulumi.Resource;
}

/** The interface carrying the host's address, from its facts. */
function interfaceOf(host: Host): pulumi.Output<string> {
    return host.parsedFacts.apply((facts) => {
        const iface = facts.interface;
        if (!iface) throw new pulumi.RunError(`control plane ${host.spec.name}: its address ${host.spec.address} is on none of its interfaces; use the host's own address in hosts.`);
        return iface;
    });
}

export class ApiLoadBalancer extends pulumi.ComponentResource {
    public readonly setup: command.remote.Command;

    constructor(name: string, args: ApiLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:ApiLoadBalancer", name, {}, opts);
        const { spec, host } = args;
        if (spec.ha.loadBalancer === "keepalived-haproxy") {
            if (!args.vrrpPassword) throw new Error("ApiLoadBalancer: keepalived-haproxy needs vrrpPassword");
            const conf = pulumi
                .all([args.vrrpPassword, interfaceOf(host)])
                .apply(([pass, iface]) => keepalivedSecretParams(spec, host.spec, pass, iface).KC_KEEPALIVED_CONF_B64);
            this.setup = remoteStep(
                `${name}-keepalived-haproxy`,
                STEPS.lbKeepalivedHaproxy,
                { on: host, args: { spec }, secrets: { KC_KEEPALIVED_CONF_B64: pulumi.secret(conf) } },
                { parent: this, dependsOn: [args.after] },
            );
        } else {
            // kube-vip: the manifest depends on the interface, known once the facts ran.
            const kubeVipArgs = interfaceOf(host).apply((iface) => ({ spec, host: host.spec, iface, first: args.first }));
            this.setup = remoteStep(
                `${name}-kube-vip`,
                STEPS.lbKubeVip,
                { on: host, args: kubeVipArgs },
                { parent: this, dependsOn: [args.after] },
            );
        }
        this.registerOutputs({});
    }
}
