// Builds the configuration map the Pulumi CLI would hand the program for a stack: the
// project's declared defaults from Pulumi.yaml overlaid with Pulumi.<stack>.yaml, every value
// a string (structured values as JSON), keys prefixed with the project name.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const ROOT = path.join(__dirname, "..");

interface ProjectFile {
    name: string;
    config?: Record<string, { default?: unknown; secret?: boolean }>;
}

function asConfigString(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

export interface StackConfig {
    project: string;
    config: Record<string, string>;
    /** Keys the stack file stores encrypted (`secure:`); their values are not readable offline. */
    secretKeys: string[];
}

export function loadStackConfig(stack: string, root: string = ROOT): StackConfig {
    const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as ProjectFile;
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${stackFile}`);
    const stackDoc = (yaml.load(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, decl] of Object.entries(project.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl) config[`${project.name}:${k}`] = asConfigString(decl.default);
    }
    for (const [k, v] of Object.entries(stackDoc.config ?? {})) {
        const key = k.includes(":") ? k : `${project.name}:${k}`;
        if (v && typeof v === "object" && "secure" in (v as object)) {
            // Encrypted in the stack file; offline runs use a placeholder and never print it.
            config[key] = "[secret]";
            secretKeys.push(key);
        } else {
            config[key] = asConfigString(v);
        }
    }
    return { project: project.name, config, secretKeys };
}
