// Docker's /etc/docker/daemon.json for the docker + cri-dockerd runtime.
import { ClusterSpec } from "../config/spec";

/** daemon.json: systemd cgroup driver (must match the kubelet), bounded json-file logs, overlay2, mirrors. */
export function renderDockerDaemonJson(spec: ClusterSpec): string {
    // Keys in alphabetical order so the file is byte-stable.
    const config: Record<string, unknown> = {
        "exec-opts": ["native.cgroupdriver=systemd"],
        "log-driver": "json-file",
        "log-opts": { "max-size": "100m" },
    };
    if (spec.registryMirrors.length > 0) config["registry-mirrors"] = [...spec.registryMirrors];
    config["storage-driver"] = "overlay2";
    return `${JSON.stringify(config, null, 2)}\n`;
}
