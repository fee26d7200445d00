#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals set here (OS facts, DECODED, FILE_CHANGED) are read by the step appended after it
# The core of the remote steps' library: output, traps, parameters, locking, retries, the OS family,
# files, packages, services and pending actions. Every step is assembled from this core, the modules
# its `# kc-modules:` line names (lib/<module>.sh) and its own script (see ../README.md); nothing is
# sourced on the host.
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
