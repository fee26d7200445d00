// Package sources: the per-minor Kubernetes RPM repo file and where cri-dockerd's RPMs come from.
import { ClusterSpec } from "../config/spec";
import { MANAGED_HEADER } from "./header";

/** Packages the Kubernetes repo excludes from ordinary updates; installs use --disableexcludes=kubernetes. */
export const KUBERNETES_REPO_EXCLUDES = ["kubelet", "kubeadm", "kubectl", "cri-tools", "kubernetes-cni"];

/**
 * Default cri-dockerd version: the newest 0.3.x release confirmed to publish both
 * cri-dockerd-<v>-3.el7 and -3.el8 RPMs (later releases publish Fedora RPMs and static tarballs).
 */
export const DEFAULT_CRI_DOCKERD_VERSION = "0.3.14";

/**
 * cri-dockerd RPM on its GitHub releases; {version} is e.g. "0.3.14", {el} is "el7" or "el8".
 * The RPM release number is always 3 (packaging/rpm/gen-rpm-ver). The el8 RPM requires libcgroup,
 * which EL9 no longer ships: on Rocky 9 use the static tarball (DEFAULT_CRI_DOCKERD_TGZ_URL).
 */
export const DEFAULT_CRI_DOCKERD_RPM_URL =
    "https://github.com/Mirantis/cri-dockerd/releases/download/v{version}/cri-dockerd-{version}-3.{el}.x86_64.rpm";

/** cri-dockerd static amd64 tarball (binary only; the systemd units come from packaging/systemd). */
export const DEFAULT_CRI_DOCKERD_TGZ_URL =
    "https://github.com/Mirantis/cri-dockerd/releases/download/v{version}/cri-dockerd-{version}.amd64.tgz";

/**
 * A cri-dockerd RPM URL: {version} filled in (a leading "v" is dropped); {el} filled in when given,
 * otherwise left for the host, which knows its own EL release, to fill.
 */
export function criDockerdRpmUrl(version: string, el?: "el7" | "el8", template: string = DEFAULT_CRI_DOCKERD_RPM_URL): string {
    const url = template.replace(/\{version\}/g, version.replace(/^v/, ""));
    return el ? url.replace(/\{el\}/g, el) : url;
}

/** The cri-dockerd static tarball URL for a version (a leading "v" is dropped). */
export function criDockerdTgzUrl(version: string, template: string = DEFAULT_CRI_DOCKERD_TGZ_URL): string {
    return template.replace(/\{version\}/g, version.replace(/^v/, ""));
}

/** The Kubernetes repo base URL for the spec's minor, ending in exactly one "/". */
export function kubernetesRepoUrl(spec: ClusterSpec): string {
    const url = spec.packageRepos.kubernetes.replace(/\{minor\}/g, spec.kubernetesVersion.minorString);
    return `${url.replace(/\/+$/, "")}/`;
}

/** /etc/yum.repos.d/kubernetes.repo for the spec's minor (the layout of pkgs.k8s.io and its mirrors). */
export function renderKubernetesRepo(spec: ClusterSpec): string {
    const baseurl = kubernetesRepoUrl(spec);
    return [
        MANAGED_HEADER,
        "[kubernetes]",
        `name=Kubernetes v${spec.kubernetesVersion.minorString}`,
        `baseurl=${baseurl}`,
        "enabled=1",
        "gpgcheck=1",
        `gpgkey=${baseurl}repodata/repomd.xml.key`,
        `exclude=${KUBERNETES_REPO_EXCLUDES.join(" ")}`,
        "",
    ].join("\n");
}
