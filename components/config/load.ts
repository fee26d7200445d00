// Reads the stack configuration, validates all of it, and checks the local files it names
// (SSH key file, manifests directory) before the program registers a single resource.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "./spec";
import { ConfigError, RawConfig, parseClusterConfig } from "./validate";

export const PROJECT = "kubeadm-cluster";

export interface LoadedConfig {
    spec: ClusterSpec;
    /** The SSH private key, secret end to end. */
    privateKey: pulumi.Output<string>;
    /** The user's manifests as one multi-document YAML text. */
    userManifests?: string;
    /** Things worth saying that do not stop a preview. */
    warnings: string[];
}

/** The project's keys from the stack config, without the "kubeadm-cluster:" prefix. */
export function rawStackConfig(): RawConfig {
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
        if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = v;
    }
    return raw;
}

function expandHome(p: string): string {
    return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** Every *.yaml / *.yml file of the directory, sorted by name, as one multi-document text. */
export function readManifestsDir(dir: string): string {
    const files = fs
        .readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort();
    return files.map((f) => fs.readFileSync(path.join(dir, f), "utf8").trim()).join("\n---\n");
}

/**
 * Validate the config and the local files it points to; throws one ConfigError with every problem.
 * @param dryRun a preview: a missing key file is a warning (nothing connects), not an error.
 */
export function loadClusterConfig(raw: RawConfig, dryRun: boolean): LoadedConfig {
    const problems: string[] = [];
    const warnings: string[] = [];
    let spec: ClusterSpec | undefined;
    try {
        spec = parseClusterConfig(raw);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems);
    }

    let privateKey: pulumi.Output<string> | undefined;
    const keyPath = typeof raw.sshPrivateKeyPath === "string" && raw.sshPrivateKeyPath ? expandHome(raw.sshPrivateKeyPath) : undefined;
    if (keyPath) {
        if (fs.existsSync(keyPath)) {
            privateKey = pulumi.secret(fs.readFileSync(keyPath, "utf8"));
        } else if (dryRun) {
            warnings.push(`sshPrivateKeyPath ${keyPath} does not exist on this machine; \`pulumi up\` will stop here until it does.`);
            privateKey = pulumi.secret("");
        } else {
            problems.push(`sshPrivateKeyPath ${keyPath} does not exist: point it at your private key file, or use \`pulumi config set --secret sshPrivateKey < KEYFILE\`.`);
        }
    } else if (typeof raw.sshPrivateKey === "string" && raw.sshPrivateKey) {
        privateKey = pulumi.secret(raw.sshPrivateKey);
        const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
        if (runtime.isConfigSecret && !runtime.isConfigSecret(`${PROJECT}:sshPrivateKey`)) {
            warnings.push("sshPrivateKey is stored in plain text in the stack file: run `pulumi config set --secret sshPrivateKey < KEYFILE` to encrypt it.");
        }
    }

    let userManifests: string | undefined;
    const dir = typeof raw.manifestsDir === "string" && raw.manifestsDir ? expandHome(raw.manifestsDir) : undefined;
    if (dir) {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
            problems.push(`manifestsDir ${dir} is not a directory: create it with your *.yaml files, or remove manifestsDir.`);
        } else {
            userManifests = readManifestsDir(dir);
            if (!userManifests) warnings.push(`manifestsDir ${dir} holds no *.yaml or *.yml files.`);
        }
    }

    if (problems.length > 0 || !spec) throw new ConfigError(problems);
    return { spec, privateKey: privateKey ?? pulumi.secret(""), userManifests: userManifests || undefined, warnings };
}
