// containerd's /etc/containerd/config.toml, in the layout of the installed major version, and the
// registry mirror file for docker.io. Both files are minimal: containerd fills every other setting
// with its defaults, and the CRI plugin is enabled because this file replaces the packaged one
// (containerd.io ships `disabled_plugins = ["cri"]`).
import { MANAGED_HEADER } from "./header";
import { tomlBasic, tomlLiteral } from "./toml";

/** Directory of per-registry hosts.toml files (containerd's `config_path`). */
export const CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d";

/** Upstream Docker Hub registry, the `server` of the docker.io hosts.toml. */
export const DOCKER_HUB_SERVER = "https://registry-1.docker.io";

/** Options of the containerd config. */
export interface ContainerdConfigOptions {
    /** Pause image the CRI plugin pins, e.g. "registry.k8s.io/pause:3.10". */
    sandboxImage: string;
}

/**
 * config.toml for containerd 1.x (config `version = 2`, CRI plugin `io.containerd.grpc.v1.cri`) or
 * 2.x (config `version = 3`, CRI split into `io.containerd.cri.v1.images` / `.runtime`).
 */
export function renderContainerdConfig(major: 1 | 2, opts: ContainerdConfigOptions): string {
    return major === 1 ? renderV1(opts) : renderV2(opts);
}

/** containerd 1.x layout. */
function renderV1(opts: ContainerdConfigOptions): string {
    const cri = `plugins."io.containerd.grpc.v1.cri"`;
    return [
        MANAGED_HEADER,
        "version = 2",
        "",
        `[${cri}]`,
        `  sandbox_image = ${tomlBasic(opts.sandboxImage)}`,
        "",
        `[${cri}.containerd]`,
        `  default_runtime_name = "runc"`,
        "",
        `[${cri}.containerd.runtimes.runc]`,
        `  runtime_type = "io.containerd.runc.v2"`,
        "",
        `[${cri}.containerd.runtimes.runc.options]`,
        "  SystemdCgroup = true",
        "",
        `[${cri}.registry]`,
        `  config_path = ${tomlBasic(CONTAINERD_CERTS_DIR)}`,
        "",
    ].join("\n");
}

/** containerd 2.x layout. */
function renderV2(opts: ContainerdConfigOptions): string {
    const images = `plugins.'io.containerd.cri.v1.images'`;
    const runtime = `plugins.'io.containerd.cri.v1.runtime'`;
    return [
        MANAGED_HEADER,
        "version = 3",
        "",
        `[${images}.pinned_images]`,
        `  sandbox = ${tomlLiteral(opts.sandboxImage)}`,
        "",
        `[${images}.registry]`,
        `  config_path = ${tomlLiteral(CONTAINERD_CERTS_DIR)}`,
        "",
        `[${runtime}.containerd]`,
        `  default_runtime_name = 'runc'`,
        "",
        `[${runtime}.containerd.runtimes.runc]`,
        `  runtime_type = 'io.containerd.runc.v2'`,
        "",
        `[${runtime}.containerd.runtimes.runc.options]`,
        "  SystemdCgroup = true",
        "",
    ].join("\n");
}

/** A mirror URL with a scheme (https:// when none is given) and no trailing slash. */
function normaliseMirror(mirror: string): string {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(mirror) ? mirror : `https://${mirror}`;
    return withScheme.replace(/\/+$/, "");
}

/**
 * /etc/containerd/certs.d/docker.io/hosts.toml: the mirrors, tried in order for pulls, then Docker Hub.
 * With no mirrors the file only names Docker Hub (same as having no file).
 */
export function renderContainerdHostsToml(mirrors: string[]): string {
    const lines = [MANAGED_HEADER, `server = ${tomlBasic(DOCKER_HUB_SERVER)}`, ""];
    for (const m of mirrors) {
        lines.push(`[host.${tomlBasic(normaliseMirror(m))}]`, `  capabilities = ["pull", "resolve"]`, "");
    }
    return lines.join("\n");
}
