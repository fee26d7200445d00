#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here are read by the steps assembled after it
# Module runtime: the container runtimes' shared files (Docker's repo, crictl's configuration).

# docker_repo: Docker's repo (containerd.io, docker-ce) from KC_DOCKER_REPO_URL.
docker_repo() {
    require KC_DOCKER_REPO_URL
    local url=${KC_DOCKER_REPO_URL%/}
    write_file /etc/yum.repos.d/docker-ce.repo 0644 <<EOF
$MANAGED_HEADER
[docker-ce-stable]
name=Docker CE Stable - \$basearch
baseurl=$url/$DOCKER_RELEASEVER/\$basearch/stable
enabled=1
gpgcheck=1
gpgkey=$url/gpg
EOF
}

# crictl_config SOCKET: /etc/crictl.yaml so crictl (and kubeadm reset) talk to the runtime in use.
crictl_config() {
    write_file /etc/crictl.yaml 0644 <<EOF
$MANAGED_HEADER
runtime-endpoint: $1
image-endpoint: $1
timeout: 10
EOF
}
