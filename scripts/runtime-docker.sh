#!/usr/bin/env bash
# kc-modules: runtime
# Step runtime-docker: docker-ce with the systemd cgroup driver, and cri-dockerd (the CRI shim the
# kubelet talks to) started with the cluster's pause image. Services restart only on change.

readonly DAEMON_JSON=/etc/docker/daemon.json
readonly CRI_DOCKER_DROPIN=/etc/systemd/system/cri-docker.service.d/10-kubeadm-cluster.conf

install_docker() {
    docker_repo
    pkg_install docker-ce docker-ce-cli containerd.io
    b64d KC_DOCKER_DAEMON_JSON_B64
    # JSON has no comments to mark the file as ours: keep the first version that differs.
    if [[ -f $DAEMON_JSON ]] && ! cmp -s "$DAEMON_JSON" <(printf '%s' "$DECODED"); then
        backup_once "$DAEMON_JSON"
    fi
    write_file "$DAEMON_JSON" 0644 < <(printf '%s' "$DECODED")
    local restart=0
    if pending docker-restart "$FILE_CHANGED"; then restart=1; fi
    svc_enable_now docker "$restart"
    pending_done docker-restart
}

# cri_dockerd_url: KC_CRI_DOCKERD_URL with {version}, {el} and {arch} filled in for this host.
cri_dockerd_url() {
    local url=$KC_CRI_DOCKERD_URL
    url=${url//\{version\}/$WANT_VERSION}
    url=${url//\{el\}/$CRI_DOCKERD_EL}
    url=${url//\{arch\}/$ARCH}
    printf '%s\n' "$url"
}

install_cri_dockerd() {
    local have url
    have=$(pkg_version cri-dockerd)
    if [[ $have == "$WANT_VERSION" ]]; then return 0; fi
    url=$(cri_dockerd_url)
    if [[ -n $have ]]; then log "replacing cri-dockerd $have with $WANT_VERSION"; fi
    if $CRI_DOCKERD_NODEPS; then
        # See detect_os: the RPM's libcgroup requirement cannot be met here and is not needed.
        log "installing $url without its libcgroup requirement"
        retry 3 run rpm -U --nodeps "$url" ||
            die "rpm could not install cri-dockerd from $url on $KC_HOST (see above): check the URL and the network"
    else
        pkg_run_install "$url"
    fi
    have=$(pkg_version cri-dockerd)
    [[ $have == "$WANT_VERSION" ]] ||
        die "cri-dockerd ${have:-is not installed} on $KC_HOST after installing $url (wanted $WANT_VERSION): remove the installed one (rpm -e cri-dockerd) and run again"
}

configure_cri_dockerd() {
    write_file "$CRI_DOCKER_DROPIN" 0644 <<EOF
$MANAGED_HEADER
[Service]
ExecStart=
ExecStart=/usr/bin/cri-dockerd --pod-infra-container-image=$KC_PAUSE_IMAGE --container-runtime-endpoint fd://
EOF
    local changed=0
    if pending cri-docker-restart "$FILE_CHANGED"; then changed=1; fi
    if ((changed)); then svc_daemon_reload; fi
    svc_enable_now cri-docker.socket
    svc_enable_now cri-docker.service "$changed"
    pending_done cri-docker-restart
}

main() {
    require KC_DOCKER_REPO_URL KC_DOCKER_DAEMON_JSON_B64 KC_CRI_DOCKERD_VERSION KC_CRI_DOCKERD_URL KC_PAUSE_IMAGE KC_CRI_SOCKET
    host_lock
    detect_os
    WANT_VERSION=${KC_CRI_DOCKERD_VERSION#v}
    install_docker
    install_cri_dockerd
    configure_cri_dockerd
    crictl_config "$KC_CRI_SOCKET"
    log "docker and cri-dockerd ready on $KC_CRI_SOCKET"
}

main "$@"
