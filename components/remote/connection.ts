// SSH connection arguments for one host, optionally through a bastion.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BastionSpec, HostSpec } from "../config/spec";

export type Connection = command.types.input.remote.ConnectionArgs;

/**
 * The connection for a host. The private key is a secret Output; host keys are checked
 * whenever the config gives them (the provider ignores them otherwise).
 */
export function hostConnection(host: HostSpec, privateKey: pulumi.Output<string>, bastion?: BastionSpec): Connection {
    return {
        host: host.address,
        port: host.port,
        user: host.user,
        privateKey: pulumi.secret(privateKey),
        ...(host.hostKey ? { hostKey: host.hostKey } : {}),
        // A VM that is rebooting or slow to accept SSH gets about two minutes.
        dialErrorLimit: 8,
        perDialTimeout: 15,
        ...(bastion
            ? {
                  proxy: {
                      host: bastion.address,
                      port: bastion.port,
                      user: bastion.user,
                      privateKey: pulumi.secret(privateKey),
                      ...(bastion.hostKey ? { hostKey: bastion.hostKey } : {}),
                  },
              }
            : {}),
    };
}
