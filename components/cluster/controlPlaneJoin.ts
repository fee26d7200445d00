// Another control plane joins: the first control plane re-uploads the encrypted control-plane
// certificates just before (they expire two hours after each upload), then this host runs
// `kubeadm join --control-plane` with its own token, the pinned CA hash and the certificate key,
// then the first control plane waits for its Node. Control planes join one at a time (each join
// changes etcd's membership); the caller chains them. Deleting it drains and deletes the Node,
// then `kubeadm reset` on the host removes its etcd member.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../config/spec";
import { Host } from "../nodes/host";
import { remoteStep } from "../remote/step";
import { STEPS, controlPlaneJoinSecretParams } from "../steps";
import { ControlPlane } from "./controlPlane";
import { JoinToken } from "./joinToken";
import { joinAndRegister } from "./workerJoin";

export interface ControlPlaneJoinArgs {
    /** The validated cluster spec. */
    spec: ClusterSpec;
    /** The joining control plane. */
    host: Host;
    /** The first control plane (it ran kubeadm init). */
    controlPlane: ControlPlane;
    /** This join's token. */
    token: JoinToken;
    /** Key that decrypts the uploaded certificates (secret, 64 hex). */
    certificateKey: pulumi.Output<string>;
    /** What must be done first: this host's preparation and load balancer, and the previous control-plane join. */
    after: pulumi.Resource[];
}

export class ControlPlaneJoin extends pulumi.ComponentResource {
    public readonly uploadCerts: command.remote.Command;
    public readonly join: command.remote.Command;
    public readonly registration: command.remote.Command;

    constructor(name: string, args: ControlPlaneJoinArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm:cluster:ControlPlaneJoin", name, {}, opts);
        const { spec, host, controlPlane, token } = args;
        const cp = controlPlane.host;
        this.uploadCerts = remoteStep(
            `${name}-upload-certs`,
            STEPS.uploadCerts,
            { on: cp, args: {}, secrets: { KC_CERTIFICATE_KEY: args.certificateKey }, extraTriggers: [host.spec.name] },
            { parent: this, dependsOn: [controlPlane.init, token.create, ...args.after] },
        );
        const joinConfig = pulumi
            .all([token.token, controlPlane.caCertHash, args.certificateKey])
            .apply(([t, hash, key]) => controlPlaneJoinSecretParams(spec, host.spec, t, hash, key).KC_JOIN_CONFIG_B64);
        ({ join: this.join, registration: this.registration } = joinAndRegister(this, name, {
            spec, step: STEPS.controlPlaneJoin, host, controlPlane, joinConfig, after: [this.uploadCerts],
        }));
        this.registerOutputs({});
    }
}
