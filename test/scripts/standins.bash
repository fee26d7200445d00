# A test host in a directory: each step runs as the program sends it (assembled: the library's core,
# its modules and the step,
# `bash -c SCRIPT kc-<step> [mode]`), with every absolute path it uses under /etc, /var, /run,
# /usr/local and /root moved below a fake root ($ROOT), and the host tools it calls replaced by
# the recording stand-in standin.bash on PATH. Calls land in $CALLS, one a line; state in $S.

# new_host: a fresh fake root (Rocky 9), stand-ins and state.
new_host() {
    ROOT=$BATS_TEST_TMPDIR/root
    S=$BATS_TEST_TMPDIR/state
    BIN=$BATS_TEST_TMPDIR/bin
    CALLS=$BATS_TEST_TMPDIR/calls
    rm -rf "$ROOT" "$S" "$BIN"
    mkdir -p "$ROOT/etc/kubernetes/manifests" "$ROOT/etc/yum.repos.d" "$ROOT/run/lock" "$ROOT/root" \
        "$S/rpm" "$S/units" "$S/nodes" "$S/fail" "$BIN"
    : >"$CALLS"
    printf 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.6"\nID_LIKE="rhel centos fedora"\nPRETTY_NAME="Rocky Linux 9.6 (Blue Onyx)"\n' >"$ROOT/etc/os-release"
    install -m 0755 "$BATS_TEST_DIRNAME/standin.bash" "$BIN/kc-standin"
    local t
    for t in rpm yum dnf systemctl kubeadm kubectl crictl systemd-analyze uname ip iptables ip6tables ss sysctl getenforce; do
        ln -s kc-standin "$BIN/$t"
    done
    export KCS_ROOT=$ROOT KCS_STATE=$S KCS_CALLS=$CALLS KC_HOST=testhost
}

# standin TOOL...: TOOL answered by the stand-in too (haproxy, keepalived, setsebool and getsebool
# are real programs or missing on a host; each test decides).
standin() {
    local t
    for t in "$@"; do ln -sf kc-standin "$BIN/$t"; done
}

# rooted_script STEP: the text the program sends for STEP, its absolute paths under $ROOT.
rooted_script() {
    assemble_step "$1" | sed -E "s#(^|[^A-Za-z0-9_.~\$/:-])/(etc|var|run|usr/local|root)/#\\1$ROOT/\\2/#g"
}

# step STEP [MODE]: runs STEP on the test host with the exported KC_* parameters; $status,
# $output (stdout) and $stderr as bats' run --separate-stderr leaves them. HOST_PATH is the rest of
# its PATH after the stand-ins (without /usr/sbin, the real haproxy and keepalived are missing).
step() {
    local name=$1
    shift
    bats_run --separate-stderr env PATH="$BIN:${HOST_PATH:-/usr/sbin:/usr/bin:/sbin:/bin}" KC_POLL_SECONDS=0 \
        bash -c "$(rooted_script "$name")" "kc-$name" "$@"
}

# A running cluster at VERSION whose first control plane (this host) is node NODE.
cluster_at() { # VERSION NODE
    echo "$1" >"$S/server"
    echo "$1" >"$S/cm"
    echo "$2" >"$S/self"
    echo "True v$1" >"$S/nodes/$2"
    : >"$ROOT/etc/kubernetes/admin.conf"
    : >"$ROOT/etc/kubernetes/kubelet.conf"
    : >"$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    : >"$ROOT/etc/kubernetes/manifests/etcd.yaml"
    installed "$1" kubeadm kubelet kubectl
    echo "enabled active" >"$S/units/kubelet.service"
}

installed() { # VERSION NAME...
    local v=$1 p
    shift
    for p in "$@"; do echo "$v" >"$S/rpm/$p"; done
}

# The base64 repo file of a minor (as the program renders it).
repo_b64() { # MINOR (1.35)
    printf '[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v%s/rpm/\nenabled=1\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v%s/rpm/repodata/repomd.xml.key\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n' "$1" "$1" | base64 -w0
}

# changing_calls: the calls that change something (no queries), in order.
changing_calls() {
    grep -vE '^(rpm -q|kubectl .*(get |version)|systemctl is-|uname|ip -o|ip link show|iptables -t [a-z]+ -S|ip6tables -t [a-z]+ -S|ss |crictl (ps|inspecti)|systemd-analyze|getenforce|getsebool|haproxy -[cv]|keepalived (--help|-t)|kubeadm (version|config validate|config images list|token list))' "$CALLS" || true
}
