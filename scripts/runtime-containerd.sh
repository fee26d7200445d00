#!/usr/bin/env bash
# kc-modules: runtime
# Step runtime-containerd: containerd.io from Docker's repo, the config.toml for the installed major
# version (1.x or 2.x), docker.io registry mirrors, /etc/crictl.yaml; containerd enabled and running,
# restarted only when its config changed.

readonly CONFIG=/etc/containerd/config.toml
readonly HOSTS_TOML=/etc/containerd/certs.d/docker.io/hosts.toml

# containerd_major: sets MAJOR to the major version of the installed containerd ("containerd
# containerd.io 1.7.27 05044ec..." or "containerd github.com/containerd/containerd/v2 v2.1.4 ...").
containerd_major() {
    local out version
    out=$(containerd --version 2>&1) || die "containerd --version failed on $KC_HOST: $out"
    version=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | sed -n 1p) || true
    [[ -n $version ]] || die "cannot tell the containerd version on $KC_HOST from '$out'"
    log "containerd $version installed"
    MAJOR=${version%%.*}
}

write_config() {
    local param
    containerd_major
    case $MAJOR in
    1) param=KC_CONTAINERD_CONFIG_V1_B64 ;;
    2) param=KC_CONTAINERD_CONFIG_V2_B64 ;;
    *) die "containerd $MAJOR.x on $KC_HOST is not supported (1.x and 2.x are): install containerd.io 1.7 or 2.x" ;;
    esac
    b64d "$param"
    if [[ -f $CONFIG ]] && ! is_managed "$CONFIG"; then
        log "replacing $CONFIG, which this program did not write"
        backup_once "$CONFIG"
    fi
    write_file "$CONFIG" 0644 < <(printf '%s' "$DECODED")
}

# hosts_toml MIRROR...: containerd's hosts.toml for docker.io, the mirrors first, Docker Hub last.
hosts_toml() {
    local m
    printf '%s\nserver = "https://registry-1.docker.io"\n' "$MANAGED_HEADER"
    for m in "$@"; do
        [[ $m == *://* ]] || m=https://$m
        m=${m%/}
        [[ $m != *[\"\\]* ]] || die "registry mirror '$m' contains a quote or backslash"
        printf '\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$m"
    done
}

# hosts.toml is read at each pull: no restart needed when it changes.
write_mirrors() {
    local mirrors
    read -r -a mirrors <<<"${KC_REGISTRY_MIRRORS:-}"
    if ((${#mirrors[@]} > 0)); then
        write_file "$HOSTS_TOML" 0644 < <(hosts_toml "${mirrors[@]}")
    elif is_managed "$HOSTS_TOML"; then
        remove_file "$HOSTS_TOML"
    fi
}

main() {
    require KC_DOCKER_REPO_URL KC_CONTAINERD_CONFIG_V1_B64 KC_CONTAINERD_CONFIG_V2_B64 KC_CRI_SOCKET
    host_lock
    detect_os
    docker_repo
    pkg_install containerd.io
    write_config
    local restart=0
    if pending containerd-restart "$FILE_CHANGED"; then restart=1; fi
    write_mirrors
    crictl_config "$KC_CRI_SOCKET"
    svc_enable_now containerd "$restart"
    pending_done containerd-restart
    log "containerd ready on $KC_CRI_SOCKET"
}

main "$@"
