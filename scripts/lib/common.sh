#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here (OS facts, DECODED, FILE_CHANGED) are read by the step appended after it
# Shared library of the remote steps. It is prepended to each step script (see ../README.md), never
# sourced: everything a step needs from here is defined before the step's own lines run.
set -euo pipefail
# Stable, parseable output from every tool (ss, rpm, sed ...).
export LC_ALL=C

: "${KC_HOST:?KC_HOST must name the host this step runs on}"

# The first line of every file this program owns on a host; also how foreign files are told apart.
readonly MANAGED_HEADER="# managed by kubeadm-cluster"
# Where the steps keep their own state (kubeadm configs, the init marker).
readonly STATE_DIR=/etc/kubeadm-cluster
readonly ADMIN_CONF=/etc/kubernetes/admin.conf

# ---------------------------------------------------------------------------------------------
# Output: every line goes to stderr prefixed with the host; stdout is reserved for data steps.

log() { printf '[%s] %s\n' "$KC_HOST" "$*" >&2; }

die() {
    printf '[%s] ERROR: %s\n' "$KC_HOST" "$*" >&2
    DYING=1
    exit 1
}

# Files removed however the step ends (e.g. a join configuration holding a token).
CLEANUP_FILES=()
# Functions run however the step ends, first (e.g. putting back files a step moved away for a
# while); a failing one does not stop the others.
EXIT_HOOKS=()
DYING=""
LAST_ERR=""

# on_exit: runs EXIT_HOOKS, removes CLEANUP_FILES and names the command behind an unexpected
# failure (set -e would otherwise end the step without a word).
on_exit() {
    local rc=$? hook
    for hook in ${EXIT_HOOKS[@]+"${EXIT_HOOKS[@]}"}; do "$hook" || true; done
    if ((${#CLEANUP_FILES[@]} > 0)); then rm -f "${CLEANUP_FILES[@]}"; fi
    # The state directory exists only while it holds something (no empty leftovers on a host).
    rmdir "$STATE_DIR/pending" "$STATE_DIR" 2>/dev/null || true
    if ((rc != 0)) && [[ -z $DYING ]]; then
        printf '[%s] ERROR: step %s failed (exit %d) at %s\n' "$KC_HOST" "${0#kc-}" "$rc" "${LAST_ERR:-an unknown command}" >&2
    fi
}

# Only when run as a step ($0 is kc-<step>), not when a test loads this file.
if [[ $0 == kc-* ]]; then
    set -E
    trap 'LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR
    trap on_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi

# Copies stdin to stderr, each line prefixed with the host.
prefix_lines() {
    local line
    while IFS= read -r line || [[ -n $line ]]; do
        printf '[%s] %s\n' "$KC_HOST" "$line" >&2
    done
}

# Hides bootstrap tokens, join command lines and certificate keys in a command's output: kubeadm
# prints the certificate key on a line of its own ("[upload-certs] Using certificate key:"), and a
# run of 64 hex digits anywhere else (e.g. in a validation error) is taken for one too.
redact_secrets() {
    sed -u -E \
        -e '/--token|--discovery-token-ca-cert-hash|--certificate-key/ s/.*/    <join command redacted>/' \
        -e 's/(^|[^a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}([^a-z0-9]|$)/\1<redacted token>\2/g' \
        -e 's/^[[:space:]]*[0-9a-fA-F]{64}[[:space:]]*$/    <redacted key>/' \
        -e 's/(^|[^0-9a-fA-F])[0-9a-fA-F]{64}([^0-9a-fA-F]|$)/\1<redacted key>\2/g'
}

# run CMD...: runs CMD with its stdout and stderr prefixed onto stderr; returns CMD's status.
# CMD does not inherit the host lock (fd 9): a daemon it starts must not hold the lock.
run() {
    local rc=0
    "$@" 2>&1 9>&- | prefix_lines || rc=$?
    return "$rc"
}

# run_redacted CMD...: like run, for commands that may print tokens or keys.
run_redacted() {
    local rc=0
    "$@" 2>&1 9>&- | redact_secrets | prefix_lines || rc=$?
    return "$rc"
}

# json_str VALUE: VALUE as a JSON string (for the data steps' one-line JSON).
json_str() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//[$'\t\r\n']/ }
    printf '"%s"' "$s"
}

# json_text: stdin as one JSON string, every line kept (for a kubectl merge patch of a text value).
json_text() {
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk 'BEGIN { printf "\"" } { printf "%s\\n", $0 } END { printf "\"" }'
}

# ---------------------------------------------------------------------------------------------
# Parameters and modes

# require NAME...: each parameter must be set and non-empty.
require() {
    local name missing=()
    for name in "$@"; do
        [[ -n ${!name:-} ]] || missing+=("$name")
    done
    ((${#missing[@]} == 0)) || die "missing parameter(s) ${missing[*]} for ${0#kc-}: the program that sent this step has a bug"
}

# check_certificate_key: KC_CERTIFICATE_KEY is set and is what kubeadm takes (64 hex digits, the
# AES-256 key the uploaded control-plane certificates are encrypted with). It is never shown.
check_certificate_key() {
    require KC_CERTIFICATE_KEY
    [[ $KC_CERTIFICATE_KEY =~ ^[0-9a-fA-F]{64}$ ]] ||
        die "parameter KC_CERTIFICATE_KEY is not 64 hex digits (value not shown): the program that sent this step has a bug"
}

# step_mode: the first argument, create or delete, in MODE.
step_mode() {
    MODE=${1:-}
    [[ $MODE == create || $MODE == delete ]] ||
        die "${0#kc-} needs a mode argument, create or delete (got '${MODE}')"
}

# b64d NAME: decodes the base64 parameter NAME into DECODED, trailing newlines kept.
b64d() {
    local name=$1 out
    require "$name"
    # The "x" keeps trailing newlines that command substitution would strip.
    out=$(printf '%s' "${!name}" | base64 -d 2>/dev/null && printf x) ||
        die "parameter $name is not valid base64: the program that sent this step has a bug"
    DECODED=${out%x}
}

# host_lock: one changing step at a time per host (they share the package manager and config files).
host_lock() {
    mkdir -p /run/lock
    # Opened for append: taking the lock leaves the file untouched.
    exec 9>>/run/lock/kubeadm-cluster.lock
    if ! flock -n 9; then
        log "waiting for another kubeadm-cluster step on this host to finish"
        flock -w 1800 9 || die "another kubeadm-cluster step has held /run/lock/kubeadm-cluster.lock for 30 minutes; check for a stuck process on $KC_HOST"
    fi
}

# The unit of every wait and retry, in seconds (KC_POLL_SECONDS is optional; tests set it to 0).
readonly POLL=${KC_POLL_SECONDS:-5}

# retry ATTEMPTS CMD...: runs CMD until it succeeds, waiting longer each time (flaky mirrors).
retry() {
    local attempts=$1 i
    shift
    for ((i = 1; ; i++)); do
        "$@" && return 0
        ((i < attempts)) || return 1
        log "attempt $i of $attempts failed: retrying in $((i * POLL))s"
        sleep "$((i * POLL))"
    done
}

# poll SECONDS CMD...: runs CMD every POLL seconds until it succeeds; gives up after SECONDS
# (counted in 5-second polls, so a smaller POLL shortens the wait in tests).
poll() {
    local tries=$(($1 / 5)) i
    shift
    for ((i = 0; ; i++)); do
        "$@" && return 0
        ((i < tries)) || return 1
        sleep "$POLL"
    done
}

# ---------------------------------------------------------------------------------------------
# OS family: the one place where the differences between CentOS 7, EL8 and EL9 are decided.

# os_release_value KEY FILE: KEY's value in an os-release file, quotes removed ("" when absent).
os_release_value() {
    sed -n -E "/^$1=/{s/^$1=[\"']?([^\"']*)[\"']?[[:space:]]*\$/\\1/p;q}" "$2"
}

# Tests point this at a fixture.
OS_RELEASE_FILE=/etc/os-release

# identify_os: sets OS_ID, OS_VERSION, OS_MAJOR, OS_NAME, OS_LIKE and OS_FAMILY (el7|el8|el9) from
# /etc/os-release, or OS_PROBLEM (a sentence for the user) when the OS is not supported.
identify_os() {
    local file=$OS_RELEASE_FILE
    OS_PROBLEM="" OS_ID="" OS_VERSION="" OS_NAME="" OS_LIKE="" OS_FAMILY=""
    if [[ -r $file ]]; then
        OS_ID=$(os_release_value ID "$file")
        OS_VERSION=$(os_release_value VERSION_ID "$file")
        OS_LIKE=$(os_release_value ID_LIKE "$file")
        OS_NAME=$(os_release_value PRETTY_NAME "$file")
    elif [[ -r /etc/redhat-release ]]; then
        OS_NAME="$(</etc/redhat-release) (no $file)"
    fi
    OS_MAJOR=${OS_VERSION%%.*}
    : "${OS_NAME:=${OS_ID:-unknown} ${OS_VERSION}}"
    case "$OS_ID:$OS_MAJOR" in
    centos:7) OS_FAMILY=el7 ;;
    rocky:8 | rocky:9 | almalinux:8 | almalinux:9 | rhel:8 | rhel:9 | centos:8 | centos:9 | ol:8 | ol:9)
        OS_FAMILY=el$OS_MAJOR ;;
    *)
        OS_PROBLEM="unsupported OS '$OS_NAME' on $KC_HOST (ID=${OS_ID:-?} VERSION_ID=${OS_VERSION:-?}${OS_LIKE:+ ID_LIKE=$OS_LIKE}): supported are CentOS 7 and Rocky Linux, AlmaLinux, RHEL, CentOS Stream or Oracle Linux 8 and 9; reinstall the host with one of them"
        ;;
    esac
}

# detect_os: identify_os, dying on an unsupported OS, then sets the per-family facts below,
# KERNEL, CGROUP (v1|v2) and ARCH.
detect_os() {
    identify_os
    [[ -z $OS_PROBLEM ]] || die "$OS_PROBLEM"

    # Per-family table.
    #   PKG                package manager
    #   PKG_INSTALL_OPTS   options for every install (yum 3 silently skips unknown names otherwise)
    #   PKG_ALIASES        family-neutral package name = this family's package
    #   FAMILY_PACKAGES    packages kubeadm's preflight wants that differ by family (tc)
    #   CONNTRACK_MODULE   the module `nf_conntrack` in KC_MODULES stands for (IPVS needs the
    #                      per-protocol one on kernels before 4.19)
    #   MAX_KUBE_MINOR     newest Kubernetes minor the family can run ("" = no limit): from 1.35 the
    #                      kubelet refuses cgroup v1, and CentOS 7's 3.10 kernel fails newer preflight
    #   CRI_DOCKERD_EL     which cri-dockerd RPM build fits ({el} in KC_CRI_DOCKERD_URL)
    #   CRI_DOCKERD_NODEPS the el8 RPM requires libcgroup, which EL9 no longer ships; the binary
    #                      does not use it, so EL9 installs the RPM with rpm --nodeps
    #   DOCKER_RELEASEVER  path element of Docker's repo: the major version, not $releasever, which
    #                      is "7Server" on RHEL 7 and has no directory on download.docker.com
    case $OS_FAMILY in
    el7)
        PKG=yum
        PKG_INSTALL_OPTS=(--setopt=skip_missing_names_on_install=False)
        PKG_ALIASES="conntrack=conntrack-tools"
        FAMILY_PACKAGES=""
        CONNTRACK_MODULE=nf_conntrack_ipv4
        MAX_KUBE_MINOR=34
        CRI_DOCKERD_EL=el7
        CRI_DOCKERD_NODEPS=false
        ;;
    el8)
        PKG=dnf
        PKG_INSTALL_OPTS=()
        PKG_ALIASES="conntrack=conntrack-tools"
        FAMILY_PACKAGES="iproute-tc"
        CONNTRACK_MODULE=nf_conntrack
        MAX_KUBE_MINOR=""
        CRI_DOCKERD_EL=el8
        CRI_DOCKERD_NODEPS=false
        ;;
    el9)
        PKG=dnf
        PKG_INSTALL_OPTS=()
        PKG_ALIASES="conntrack=conntrack-tools"
        FAMILY_PACKAGES="iproute-tc"
        CONNTRACK_MODULE=nf_conntrack
        MAX_KUBE_MINOR=""
        CRI_DOCKERD_EL=el8
        CRI_DOCKERD_NODEPS=true
        ;;
    esac
    DOCKER_RELEASEVER=$OS_MAJOR

    KERNEL=$(uname -r)
    # cgroup v2 mounts cgroup2fs at /sys/fs/cgroup; v1 mounts a tmpfs of per-controller hierarchies.
    if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then CGROUP=v2; else CGROUP=v1; fi
    ARCH=$(uname -m)
}

# kubeadm_preflight: sets KUBEADM_PREFLIGHT_ARGS for the installed kubeadm (after detect_os).
# kubeadm's SystemVerification refuses kernels older than 4.19 from 1.32 on (EL7's 3.10 and EL8's
# 4.18 carry the needed features as backports), and from 1.35 on it refuses cgroup v1 unless the
# check is skipped and the kubelet runs with failCgroupV1: false (which the program renders). There
# that one check is skipped.
kubeadm_preflight() {
    local minor
    KUBEADM_PREFLIGHT_ARGS=()
    if kernel_older_than 4 19; then
        KUBEADM_PREFLIGHT_ARGS=(--ignore-preflight-errors=SystemVerification)
    elif [[ $CGROUP == v1 ]]; then
        minor=$(kubeadm version -o short 2>/dev/null | sed -n -E 's/^v1\.([0-9]+)\..*/\1/p')
        if [[ -n $minor ]] && ((minor >= 35)); then
            log "$KC_HOST runs cgroup v1, which the kubelet refuses from Kubernetes 1.35 unless told otherwise: kubeadm's system verification is skipped and the kubelet runs with failCgroupV1: false. Cgroup v1 support ends in a later release: move the host to cgroup v2 (kernel argument systemd.unified_cgroup_hierarchy=1, then a reboot)"
            KUBEADM_PREFLIGHT_ARGS=(--ignore-preflight-errors=SystemVerification)
        fi
    fi
}

# kernel_older_than MAJOR MINOR: the running kernel is older than MAJOR.MINOR.
kernel_older_than() {
    local major minor
    IFS=. read -r major minor _ <<<"$(uname -r)"
    ((major < $1 || (major == $1 && ${minor%%[!0-9]*} < $2)))
}

# pkg_name NAME: this family's package for a family-neutral name (from PKG_ALIASES).
pkg_name() {
    local alias
    for alias in $PKG_ALIASES; do
        if [[ ${alias%%=*} == "$1" ]]; then
            printf '%s\n' "${alias#*=}"
            return 0
        fi
    done
    printf '%s\n' "$1"
}

# ---------------------------------------------------------------------------------------------
# Files

# write_file PATH MODE < CONTENT: replaces PATH atomically when its bytes or mode differ, and
# touches nothing (not even the directory) when they do not. Sets FILE_CHANGED to 1 or 0 and
# counts changes in CHANGES, so callers restart services only on change.
CHANGES=0
write_file() {
    local path=$1 mode=$2 content tmp want
    # Write through symlinks (e.g. /etc/sysconfig/selinux -> ../selinux/config).
    if [[ -L $path ]]; then path=$(readlink -f "$path"); fi
    [[ ! -d $path ]] || die "$path is a directory; expected a file"
    # Kept in memory, not in a temporary file: the content may be a secret. The "x" keeps
    # trailing newlines that command substitution would strip.
    content=$(cat && printf x) || die "could not read the content for $path"
    content=${content%x}
    want=$(printf '%o' "$((8#$mode))")
    if [[ -f $path ]] && [[ $(stat -c %a "$path") == "$want" ]] && cmp -s "$path" <(printf '%s' "$content"); then
        FILE_CHANGED=0
        return 0
    fi
    mkdir -p "$(dirname "$path")"
    tmp=$(mktemp "$(dirname "$path")/.kubeadm-cluster.XXXXXX")
    CLEANUP_FILES+=("$tmp")
    printf '%s' "$content" >"$tmp"
    if [[ -e $path ]]; then
        # Keep the owner and, with SELinux on, the label of the file being replaced.
        chown --reference="$path" "$tmp"
        if [[ -e /sys/fs/selinux/enforce ]]; then chcon --reference="$path" "$tmp" 2>/dev/null || true; fi
    fi
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$path"
    FILE_CHANGED=1
    CHANGES=$((CHANGES + 1))
    log "wrote $path"
}

# remove_file PATH: removes PATH if it exists, counting it as a change.
remove_file() {
    [[ -e $1 || -L $1 ]] || return 0
    rm -f "$1"
    CHANGES=$((CHANGES + 1))
    log "removed $1"
}

# is_managed PATH: PATH starts with this program's header line (after the #! line of a script).
is_managed() {
    [[ -f $1 ]] || return 1
    local first second
    { IFS= read -r first || true; IFS= read -r second || true; } <"$1"
    [[ $first == "$MANAGED_HEADER" || ($first == '#!'* && $second == "$MANAGED_HEADER") ]]
}

# backup_once PATH: keeps the first foreign version of PATH as PATH.kubeadm-cluster.bak.
backup_once() {
    local path=$1 bak=$1.kubeadm-cluster.bak
    [[ -f $path ]] || return 0
    is_managed "$path" && return 0
    if [[ -e $bak ]]; then return 0; fi
    cp -p "$path" "$bak"
    log "kept the previous $path as $bak"
}

# ---------------------------------------------------------------------------------------------
# Packages

pkg_installed() { rpm -q "$1" >/dev/null 2>&1; }

# pkg_version NAME: the installed VERSION of NAME ("" when not installed).
pkg_version() {
    pkg_installed "$1" || return 0
    rpm -q --queryformat '%{VERSION}\n' "$1" 2>/dev/null | sed -n 1p
}

# pkg_run_install ARGS...: PKG install with retries; ARGS are options and package specs.
pkg_run_install() {
    log "installing: $*"
    # ${a[@]+"${a[@]}"}: bash 4.2 (CentOS 7) calls an empty array unbound under set -u.
    retry 3 run "$PKG" install -y ${PKG_INSTALL_OPTS[@]+"${PKG_INSTALL_OPTS[@]}"} "$@" ||
        die "$PKG could not install $* on $KC_HOST (see its output above): check the repos and the network, then run again"
}

# pkg_run_downgrade ARGS...: PKG downgrade with retries (an install of a lower version is refused).
pkg_run_downgrade() {
    log "downgrading: $*"
    retry 3 run "$PKG" downgrade -y ${PKG_INSTALL_OPTS[@]+"${PKG_INSTALL_OPTS[@]}"} "$@" ||
        die "$PKG could not downgrade to $* on $KC_HOST (see its output above): check the repos and the network, then run again"
}

# pkg_install [OPTION...] NAME...: installs the packages rpm does not know yet; options such as
# --disableexcludes=kubernetes are passed to the package manager.
pkg_install() {
    local opts=() missing=() arg name still=()
    for arg in "$@"; do
        if [[ $arg == -* ]]; then
            opts+=("$arg")
            continue
        fi
        name=$(pkg_name "$arg")
        pkg_installed "$name" || missing+=("$name")
    done
    ((${#missing[@]} > 0)) || return 0
    pkg_run_install ${opts[@]+"${opts[@]}"} "${missing[@]}"
    for name in "${missing[@]}"; do
        pkg_installed "$name" || still+=("$name")
    done
    ((${#still[@]} == 0)) || die "$PKG finished but ${still[*]} is still not installed on $KC_HOST: is the package in an enabled repo?"
}

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

# ---------------------------------------------------------------------------------------------
# Services

svc_active() { systemctl is-active --quiet "$1"; }
svc_enabled() { systemctl is-enabled --quiet "$1"; }

svc_restart() {
    run systemctl restart "$1" || die "$1 did not restart on $KC_HOST: see 'journalctl -u $1' there"
    log "restarted $1"
}

# svc_enable_now UNIT [RESTART]: UNIT enabled at boot and running; when RESTART is 1 and UNIT was
# already running, it is restarted (to load a changed configuration).
svc_enable_now() {
    local unit=$1 restart=${2:-0}
    if ! svc_enabled "$unit"; then
        run systemctl enable "$unit" || die "could not enable $unit on $KC_HOST"
        log "enabled $unit"
    fi
    if ! svc_active "$unit"; then
        run systemctl start "$unit" || die "$unit did not start on $KC_HOST: see 'journalctl -u $unit' there"
        log "started $unit"
    elif ((restart)); then
        svc_restart "$unit"
    fi
}

svc_daemon_reload() { run systemctl daemon-reload || die "systemctl daemon-reload failed on $KC_HOST"; }

# ---------------------------------------------------------------------------------------------
# Kubernetes

# api_ready: the API server answers /readyz through the admin kubeconfig.
api_ready() {
    [[ -f $ADMIN_CONF ]] &&
        timeout 20 kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=15s get --raw=/readyz >/dev/null 2>&1
}

# wait_for_api SECONDS: waits until the API server answers.
wait_for_api() { poll "$1" api_ready; }

# kube ARGS...: kubectl with the admin kubeconfig.
kube() { kubectl --kubeconfig "$ADMIN_CONF" "$@"; }

# kube_query ARGS...: a bounded read-only kubectl call with the admin kubeconfig, errors hidden.
kube_query() { timeout 30 kubectl --kubeconfig "$ADMIN_CONF" --request-timeout=20s "$@" 2>/dev/null; }

# is_version V: V is MAJOR.MINOR.PATCH (a leading v allowed).
is_version() { [[ ${1#v} =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }

# version_minor V: the minor number of V (35 for 1.35.9).
version_minor() {
    local v=${1#v}
    v=${v#*.}
    printf '%s\n' "${v%%.*}"
}

# version_cmp A B: prints -1, 0 or 1 as version A is older than, equal to or newer than B
# (both MAJOR.MINOR.PATCH, see is_version).
version_cmp() {
    local a b i
    IFS=. read -r -a a <<<"${1#v}"
    IFS=. read -r -a b <<<"${2#v}"
    for i in 0 1 2; do
        if ((10#${a[i]:-0} < 10#${b[i]:-0})); then
            echo -1
            return 0
        fi
        if ((10#${a[i]:-0} > 10#${b[i]:-0})); then
            echo 1
            return 0
        fi
    done
    echo 0
}

# version_change_problem RUNNING WANTED: the sentence refusing to move a cluster from RUNNING to
# WANTED, "" when the move is fine. kubeadm upgrades one minor at a time and never downgrades.
version_change_problem() {
    local running=${1#v} wanted=${2#v} major rmin wmin m steps=()
    if [[ $(version_cmp "$wanted" "$running") == -1 ]]; then
        printf '%s\n' "kubernetesVersion $wanted is older than the running $running: downgrades are not supported; set kubernetesVersion back to $running"
        return 0
    fi
    major=${running%%.*}
    rmin=$(version_minor "$running")
    wmin=$(version_minor "$wanted")
    ((wmin > rmin + 1)) || return 0
    for ((m = rmin + 1; m < wmin; m++)); do steps+=("$major.$m.x"); done
    local rest=""
    for m in "${steps[@]:1}" "$wanted"; do rest+=", then $m"; done
    printf '%s\n' "upgrading from $running to $wanted skips minor versions: upgrade one minor at a time — set kubernetesVersion to ${steps[0]}, run pulumi up${rest}"
}

# server_version [KUBECONFIG]: the API server's version (1.35.9) from `kubectl version -o json`
# through KUBECONFIG (default admin.conf); "" when it does not answer.
server_version() {
    local out
    out=$(timeout 30 kubectl --kubeconfig "${1:-$ADMIN_CONF}" --request-timeout=20s version -o json 2>/dev/null) || true
    printf '%s' "$out" | tr -d '\n' |
        sed -n -E 's/.*"serverVersion"[^}]*"gitVersion"[[:space:]]*:[[:space:]]*"v?([0-9]+\.[0-9]+\.[0-9]+)[^"]*".*/\1/p'
}

# configmap_version [KUBECONFIG]: kubernetesVersion of the kubeadm-config ConfigMap (1.35.9), which
# kubeadm init and kubeadm upgrade apply write (nodes may read it), through KUBECONFIG (default
# admin.conf); "" when unreadable.
configmap_version() {
    local out
    out=$(timeout 30 kubectl --kubeconfig "${1:-$ADMIN_CONF}" --request-timeout=20s -n kube-system get configmap kubeadm-config \
        -o jsonpath='{.data.ClusterConfiguration}' 2>/dev/null) || true
    printf '%s\n' "$out" | sed -n -E '/^kubernetesVersion:/{s/^kubernetesVersion:[[:space:]]*["'"'"']?v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p;q;}'
}

# cluster_version: the running cluster's version: the API server's, else the kubeadm-config
# ConfigMap's; "" when neither answers.
cluster_version() {
    local v
    v=$(server_version "$ADMIN_CONF")
    [[ -n $v ]] || v=$(configmap_version "$ADMIN_CONF")
    printf '%s\n' "$v"
}

# node_state NODE: "<Ready status> <kubeletVersion> <unschedulable>" of NODE, e.g. "True v1.35.9 "
# or "False v1.34.2 true"; "" when the node is not registered or the API server does not answer.
node_state() {
    kube_query get node "$1" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}{" "}{.status.nodeInfo.kubeletVersion}{" "}{.spec.unschedulable}' ||
        true
}

# node_at_version NODE VERSION: NODE is Ready and its kubelet reports vVERSION.
node_at_version() {
    local ready version
    read -r ready version _ <<<"$(node_state "$1")"
    [[ $ready == True && $version == "v${2#v}" ]]
}

# duration_seconds D: a kubectl/Go duration ("10m", "1h30m", "90s", "300") in seconds; fails on
# anything else.
duration_seconds() {
    local d=$1 total=0
    [[ $d =~ ^[0-9]+$ ]] && {
        echo "$d"
        return 0
    }
    [[ -n $d ]] || return 1
    while [[ $d =~ ^([0-9]+)(h|m|s)(.*)$ ]]; do
        case ${BASH_REMATCH[2]} in
        h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
        m) total=$((total + BASH_REMATCH[1] * 60)) ;;
        s) total=$((total + BASH_REMATCH[1])) ;;
        esac
        d=${BASH_REMATCH[3]}
    done
    [[ -z $d ]] || return 1
    echo "$total"
}

# root_kubeconfig_is_copy: /root/.kube/config holds the bytes of admin.conf (so it follows
# admin.conf when kubeadm renews that).
root_kubeconfig_is_copy() {
    [[ -f /root/.kube/config && -f $ADMIN_CONF ]] || return 1
    cmp -s /root/.kube/config "$ADMIN_CONF" && return 0
    # A copy of an earlier admin.conf of this cluster still counts (a run cut after kubeadm renewed
    # admin.conf must refresh it next time): the same cluster CA and server, the admin user.
    local ours theirs
    ours=$(grep -E '^[[:space:]]*(certificate-authority-data|server):' "$ADMIN_CONF")
    theirs=$(grep -E '^[[:space:]]*(certificate-authority-data|server):' /root/.kube/config)
    [[ -n $ours && $ours == "$theirs" ]] && grep -q 'kubernetes-admin' /root/.kube/config
}

# refresh_root_kubeconfig: copies admin.conf to /root/.kube/config (0600) when they differ.
refresh_root_kubeconfig() {
    [[ -f $ADMIN_CONF ]] || return 0
    cmp -s /root/.kube/config "$ADMIN_CONF" 2>/dev/null && return 0
    mkdir -p /root/.kube
    chmod 0700 /root/.kube
    install -m 0600 "$ADMIN_CONF" /root/.kube/config
    CHANGES=$((CHANGES + 1))
    log "copied the renewed $ADMIN_CONF to /root/.kube/config"
}

# ensure_root_kubeconfig: root's kubectl uses admin.conf: copied to /root/.kube/config (0600) unless
# that exists already (a kubeconfig of the user's own is left alone).
ensure_root_kubeconfig() {
    [[ -e /root/.kube/config ]] && return 0
    mkdir -p /root/.kube
    chmod 0700 /root/.kube
    install -m 0600 "$ADMIN_CONF" /root/.kube/config
    CHANGES=$((CHANGES + 1))
    log "copied $ADMIN_CONF to /root/.kube/config"
}

# The kube-vip static pod (step lb-kube-vip) beside kubeadm's own in the manifests directory.
readonly KUBE_VIP_MANIFEST=/etc/kubernetes/manifests/kube-vip.yaml

# kube-vip reaches the API server with the kubeconfig its manifest mounts from the host (the
# hostPath's "path:" line). From Kubernetes 1.29 on, kubeadm init grants admin.conf its rights only
# at its end, so on the first control plane kube-vip must use super-admin.conf while init runs and
# admin.conf afterwards (kube-vip issue #684). The functions below take the kubeconfig's file name
# (admin.conf, super-admin.conf); the directory is the one the manifest names.

# kube_vip_mounts NAME [FILE]: the kube-vip manifest FILE (default $KUBE_VIP_MANIFEST) mounts the
# host's kubeconfig NAME.
kube_vip_mounts() {
    [[ -f ${2:-$KUBE_VIP_MANIFEST} ]] &&
        grep -qE "^[[:space:]]*path:[[:space:]]*[\"']?[^\"'[:space:]]*/${1//./[.]}[\"']?[[:space:]]*\$" "${2:-$KUBE_VIP_MANIFEST}"
}

# kube_vip_switch FROM TO: copies a kube-vip manifest from stdin to stdout with the host kubeconfig
# it mounts changed from FROM to TO (file names in the same directory); the path inside the pod stays.
kube_vip_switch() {
    sed -E "s#^([[:space:]]*path:[[:space:]]*[\"']?[^\"'[:space:]]*/)${1//./[.]}([\"']?[[:space:]]*)\$#\\1$2\\2#"
}

# kube_vip_use FROM TO: points the kube-vip static pod of this host, if it has one that mounts FROM,
# at TO instead (the kubelet restarts the pod when its manifest changes).
kube_vip_use() {
    kube_vip_mounts "$1" || return 0
    write_file "$KUBE_VIP_MANIFEST" 0600 < <(kube_vip_switch "$1" "$2" <"$KUBE_VIP_MANIFEST")
    log "kube-vip now uses $2 instead of $1 ($KUBE_VIP_MANIFEST)"
}

# Where the Kubernetes packages come from; each minor version has its own repo.
readonly KUBE_REPO_FILE=/etc/yum.repos.d/kubernetes.repo

# kube_packages_at VERSION NAME...: each of the Kubernetes packages NAME installed at exactly
# VERSION from the Kubernetes repo (which excludes them from ordinary updates): missing and older
# ones are installed, newer ones downgraded. Changes nothing when all are at VERSION.
kube_packages_at() {
    local want=${1#v} p have up=() down=() wrong=()
    shift
    for p in "$@"; do
        have=$(pkg_version "$p")
        if [[ -z $have ]] || ! is_version "$have" || [[ $(version_cmp "$have" "$want") == -1 ]]; then
            up+=("$p-$want")
        elif [[ $have != "$want" ]]; then
            down+=("$p-$want")
        fi
    done
    if ((${#up[@]} > 0)); then pkg_run_install --disableexcludes=kubernetes "${up[@]}"; fi
    if ((${#down[@]} > 0)); then pkg_run_downgrade --disableexcludes=kubernetes "${down[@]}"; fi
    for p in "$@"; do
        have=$(pkg_version "$p")
        [[ $have == "$want" ]] || wrong+=("$p ${have:-is not installed}")
    done
    if ((${#wrong[@]} > 0)); then
        local list
        list=$(printf '%s, ' "${wrong[@]}")
        die "${list%, } on $KC_HOST after installing $want: does the repo in $KUBE_REPO_FILE have that version?"
    fi
}

# iptables chains Kubernetes, Calico, Flannel and the CNI plugins own.
readonly KUBE_CHAIN_RE='^(KUBE-|cali-|CNI-|FLANNEL)'

# kube_state_present: anything kubeadm leaves on a node that has been (half) set up.
kube_state_present() {
    local f
    for f in /etc/kubernetes/kubelet.conf "$ADMIN_CONF" /etc/kubernetes/pki /var/lib/kubelet/config.yaml \
        /var/lib/etcd/member /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml; do
        [[ -e $f ]] && return 0
    done
    return 1
}

# remove_tree PATH: removes a directory tree without crossing into other file systems (volumes).
remove_tree() {
    [[ -e $1 ]] || return 0
    if run rm -rf --one-file-system "$1"; then
        log "removed $1"
    else
        log "could not remove all of $1 (a file system mounted there stays mounted)"
    fi
}

# empty_dir DIR: removes what DIR holds (not crossing into other file systems); DIR stays.
empty_dir() {
    [[ -d $1 ]] || return 0
    [[ -n $(ls -A "$1") ]] || return 0
    if run find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +; then
        CHANGES=$((CHANGES + 1))
        log "emptied $1"
    else
        log "could not empty $1"
    fi
}

# unmount_below DIR: unmounts what the kubelet left mounted under DIR, deepest first, and DIR
# itself where it is a bind mount of itself: the kubelet makes its directory a shared mount that way
# when the file system holding it is not shared. A file system of its own mounted at DIR stays.
unmount_below() {
    local mnt
    awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while IFS= read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
    done
    # /proc/self/mountinfo: field 4 is the mounted directory's path within its file system ("/" for
    # a whole file system), field 5 where it is mounted.
    for _ in 1 2 3; do
        awk -v d="$1" '$5 == d && $4 != "/" { found = 1 } END { exit !found }' /proc/self/mountinfo || break
        if umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; then log "unmounted the bind mount of $1"; else log "could not unmount $1"; break; fi
    done
}

# is_cni_link NAME: an interface the CNI plugins or kube-proxy create (Calico, Flannel, bridge CNI,
# IPVS dummy); physical and user interfaces never match.
is_cni_link() {
    case $1 in
    cni0 | flannel.1 | flannel-v6.1 | flannel-wg | flannel-wg-v6 | vxlan.calico | vxlan-v6.calico | \
        wireguard.cali | wg-v6.cali | tunl0 | kube-ipvs0 | cali*) return 0 ;;
    *) return 1 ;;
    esac
}

# delete_cni_links: deletes the network interfaces the CNI and kube-proxy created, nothing else.
delete_cni_links() {
    local name
    for name in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        is_cni_link "$name" || continue
        # Deleting one end of a veth pair takes the other with it.
        ip link show "$name" >/dev/null 2>&1 || continue
        if ip link delete "$name" 2>/dev/null; then
            log "deleted interface $name"
        elif [[ $name == tunl0 ]]; then
            log "tunl0 stays while the ipip kernel module is loaded (it carries no configuration)"
        else
            log "WARNING: could not delete interface $name"
        fi
    done
}

# flush_kube_chains TOOL: removes the Kubernetes/CNI chains of every table and the rules that jump
# to them from other chains; the user's own rules and chains stay as they are.
flush_kube_chains() {
    local tool=$1 table rules chain num target ours=()
    command -v "$tool" >/dev/null 2>&1 || return 0
    for table in raw mangle nat filter; do
        rules=$("$tool" -t "$table" -S 2>/dev/null) || continue
        # Jumps from other chains into ours, by rule number, last first so numbers stay valid.
        while read -r chain num target; do
            if "$tool" -t "$table" -D "$chain" "$num"; then
                log "$tool -t $table: removed rule $num of $chain (jump to $target)"
            fi
        done < <(awk -v re="$KUBE_CHAIN_RE" '
            $1 == "-A" { n[$2]++
                for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g") && $(i+1) ~ re && $2 !~ re) print $2, n[$2], $(i+1) }' \
            <<<"$rules" | sort -k1,1 -k2,2nr)
        # Then empty every chain of ours (they jump to each other) and delete them.
        mapfile -t ours < <(awk -v re="$KUBE_CHAIN_RE" '$1 == "-N" && $2 ~ re { print $2 }' <<<"$rules")
        ((${#ours[@]} > 0)) || continue
        for chain in "${ours[@]}"; do "$tool" -t "$table" -F "$chain" || true; done
        for chain in "${ours[@]}"; do "$tool" -t "$table" -X "$chain" || true; done
        log "$tool -t $table: removed chains ${ours[*]}"
    done
}

# reset_node CRI_SOCKET [control-plane]: undoes kubeadm init/join and removes what Kubernetes and
# the CNI left on this node. Touches nothing else; does nothing when nothing is there. etcd's data
# goes on a control plane: one with an etcd manifest or an init marker, or any host when the second
# argument says it is one (a control-plane join cut before etcd's manifest was written).
# kubeadm reset on a control plane also removes its member from the etcd cluster.
reset_node() {
    local socket=${1:-} control_plane=false had_ipvs=false
    [[ -e /etc/kubernetes/manifests/etcd.yaml || -e $STATE_DIR/init-done || ${2:-} == control-plane ]] && control_plane=true
    ip link show kube-ipvs0 >/dev/null 2>&1 && had_ipvs=true

    # /root/.kube/config goes only when it is this cluster's admin kubeconfig.
    if [[ -f /root/.kube/config && -f $ADMIN_CONF ]] && cmp -s /root/.kube/config "$ADMIN_CONF"; then
        remove_file /root/.kube/config
    fi

    if kube_state_present; then
        if command -v kubeadm >/dev/null 2>&1; then
            # kubeadm reset also stops the kubelet and removes the pods' containers.
            local args=(reset -f)
            if [[ -n $socket ]]; then args+=(--cri-socket "$socket"); fi
            log "resetting the node with kubeadm reset"
            run timeout 10m kubeadm "${args[@]}" ||
                log "kubeadm reset failed (see above); cleaning up what it leaves anyway"
        else
            systemctl stop kubelet >/dev/null 2>&1 || true
        fi
    fi

    unmount_below /var/lib/kubelet
    local dir
    for dir in /var/lib/cni /var/lib/calico /run/calico /run/flannel /var/lib/kubelet /etc/kubernetes; do
        remove_tree "$dir"
    done
    # Emptied, not removed: containerd 2.x watches it and stops its CRI service when it goes away.
    empty_dir /etc/cni/net.d
    if $control_plane; then remove_tree /var/lib/etcd; fi
    remove_tree "$STATE_DIR"

    delete_cni_links
    # IPVS is cleared only where kube-proxy ran in IPVS mode: it may hold the user's own services.
    if $had_ipvs && command -v ipvsadm >/dev/null 2>&1; then
        run ipvsadm --clear || log "ipvsadm --clear failed"
    fi
    flush_kube_chains iptables
    flush_kube_chains ip6tables
    log "node reset done"
}

# reset_half_done CRI_SOCKET [control-plane]: reset_node before another attempt at a kubeadm init or
# join, keeping the kube-vip static pod (kubeadm reset empties the manifests directory, and the
# lb-kube-vip step that wrote it does not run again): the next attempt needs the virtual IP too.
reset_half_done() {
    local saved="" keep=false
    if [[ -f $KUBE_VIP_MANIFEST ]]; then
        saved=$(cat "$KUBE_VIP_MANIFEST" && printf x)
        keep=true
    fi
    reset_node "$@"
    if $keep; then
        write_file "$KUBE_VIP_MANIFEST" 0600 < <(printf '%s' "${saved%x}")
        log "kept kube-vip's static pod ($KUBE_VIP_MANIFEST) for the next attempt"
    fi
}

# ---------------------------------------------------------------------------------------------
# Pending actions: a restart or reload that a changed file calls for is remembered on the host
# until it has happened, so a step cut between writing the file and restarting does it next run.

readonly PENDING_DIR=$STATE_DIR/pending

# pending NAME CHANGED: true when CHANGED is 1 (and then remembers NAME) or an earlier run left NAME pending.
pending() {
    if (($2)); then
        mkdir -p "$PENDING_DIR"
        : >"$PENDING_DIR/$1"
    fi
    [[ -e $PENDING_DIR/$1 ]]
}

# pending_done NAME: NAME has happened.
pending_done() { rm -f "$PENDING_DIR/$1"; }

# ---------------------------------------------------------------------------------------------
# Joins

# write_join_config PATH: KC_JOIN_CONFIG_B64 written 0600 to PATH; it holds a bootstrap token
# (and for a control plane the certificate key), so it is removed however the step ends.
write_join_config() {
    b64d KC_JOIN_CONFIG_B64
    CLEANUP_FILES+=("$1")
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$1" 0600 < <(printf '%s' "$DECODED")
}

# validate_join_config PATH: kubeadm accepts the join configuration.
validate_join_config() {
    run_redacted kubeadm config validate --config "$1" ||
        die "kubeadm rejects the join configuration on $KC_HOST (see above): the program that rendered it has a bug, or kubeadm is not the expected version"
}
