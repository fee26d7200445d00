#!/usr/bin/env bash
# Recording stand-in for the host tools the steps call (installed by standins.bash as one program
# behind many names). Appends "<tool> <args>" to $KCS_CALLS (the fake root $KCS_ROOT cut out of
# paths) and answers from the state under $KCS_STATE:
#   rpm/<name>          installed version ("1.34.2")
#   units/<unit>        "<enabled|disabled> <active|inactive>"
#   server, cm          the API server's version and kubeadm-config's kubernetesVersion
#   nodes/<name>        "<True|False> v<kubelet version> [true]" (Ready, kubeletVersion, unschedulable)
#   self                this host's node name (a kubelet restart makes it report the kubelet package)
#   fail/<what>         the next such call fails (apply, plan, upgrade-node, drain, renew, install,
#                       ready: a restarted kubelet stays NotReady);
#                       every one when the file says "always"
#   check-expiration    what `kubeadm certs check-expiration` prints
#   etcd-id             the running etcd container's id
#   api-stuck, api-down the API server answers without its manifest / never
#   local-api-down      this host's own API server (kubectl --server=https://127.0.0.1:6443) does
#                       not answer, while the endpoint does
#   init-config, join-config, uploaded-key, kube-vip-at-init, kube-vip-at-join
#                       what kubeadm init / join read from --config, the key upload-certs stored,
#                       the kube-vip manifest when init / join started
#   fail/init, fail/join, fail/upload
#                       kubeadm init / join stop half-way (files written, no API server), upload fails
#   addrs               what `ip -o -4 addr show` prints (default: lo and eth0 10.0.0.11/24)
#   listen/<port>       something listens on that tcp port (`ss -ltn "sport = :<port>"`)
#   ss-tcp              the process lines `ss -lntp` prints below its header
#   selinux             what getenforce prints (default Permissive)
#   sebool/<name>       on|off for getsebool / setsebool
#   keepalived-old      keepalived --help lists no --config-test (keepalived 1.3)
# haproxy -c and keepalived -t refuse a file with a line "bogus" (keepalived's complaint quotes the
# auth_pass line, so the tests see that the step hides it).
# The API server answers while $KCS_ROOT/etc/kubernetes/manifests/kube-apiserver.yaml exists.
set -uo pipefail
tool=${0##*/}
S=$KCS_STATE
line="$tool $*"
printf '%s\n' "${line//$KCS_ROOT/}" >>"$KCS_CALLS"

# fail_once WHAT: true when the test asked this call to fail; the flag is spent unless it says
# "always".
fail_once() {
    [[ -e $S/fail/$1 ]] || return 1
    [[ $(<"$S/fail/$1") == always ]] || rm -f "$S/fail/$1"
}

# api-stuck: it keeps answering without its manifest; api-down: it never answers.
api_up() {
    [[ ! -e $S/api-down ]] || return 1
    [[ -e $S/api-stuck || -e $KCS_ROOT/etc/kubernetes/manifests/kube-apiserver.yaml ]]
}

node_get() { # NAME FIELD(1..3)
    local r v u
    read -r r v u <"$S/nodes/$1" || true
    case $2 in 1) printf '%s' "$r" ;; 2) printf '%s' "$v" ;; 3) printf '%s' "$u" ;; esac
}
node_set() { # NAME READY VERSION UNSCHED
    printf '%s %s %s\n' "$2" "$3" "$4" >"$S/nodes/$1"
}

case $tool in
rpm)
    fmt="" names=()
    while (($#)); do
        case $1 in
        --queryformat | --qf) fmt=$2; shift ;;
        -*) ;;
        *) names+=("$1") ;;
        esac
        shift
    done
    rc=0
    for n in "${names[@]}"; do
        if [[ -f $S/rpm/$n ]]; then
            v=$(<"$S/rpm/$n")
            if [[ -n $fmt ]]; then
                out=${fmt//%\{VERSION\}/$v}
                printf '%b' "$out"
            else
                printf '%s-%s-150500.1.1.x86_64\n' "$n" "$v"
            fi
        else
            echo "package $n is not installed"
            rc=1
        fi
    done
    exit "$rc"
    ;;
yum | dnf)
    sub="" specs=()
    for a in "$@"; do
        case $a in
        -*) ;;
        *) if [[ -z $sub ]]; then sub=$a; else specs+=("$a"); fi ;;
        esac
    done
    if fail_once install; then
        echo "Error: Unable to find a match" >&2
        exit 1
    fi
    case $sub in
    install | downgrade)
        for spec in "${specs[@]}"; do
            if [[ $spec =~ ^(kube(adm|let|ctl))-([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
                # Only the repo of that minor has it.
                if ! grep -q "/v${BASH_REMATCH[3]}\.${BASH_REMATCH[4]}/" "$KCS_ROOT/etc/yum.repos.d/kubernetes.repo" 2>/dev/null; then
                    echo "No match for argument: $spec" >&2
                    exit 1
                fi
                printf '%s\n' "${BASH_REMATCH[3]}.${BASH_REMATCH[4]}.${BASH_REMATCH[5]}" >"$S/rpm/${BASH_REMATCH[1]}"
            else
                echo 1.0 >"$S/rpm/$spec"
            fi
        done
        echo "Complete!"
        ;;
    esac
    ;;
systemctl)
    cmd="" units=() now=""
    for a in "$@"; do
        case $a in
        --now) now=1 ;;
        -*) ;;
        *) if [[ -z $cmd ]]; then cmd=$a; else units+=("$a"); fi ;;
        esac
    done
    rc=0
    for u in "${units[@]}"; do
        [[ $u == *.* ]] || u=$u.service
        e=disabled a=inactive
        [[ ! -f $S/units/$u ]] || read -r e a <"$S/units/$u"
        case $cmd in
        is-active) [[ $a == active ]] || rc=3 ;;
        is-enabled) [[ $e == enabled ]] || rc=1 ;;
        enable) e=enabled; [[ -z $now ]] || a=active ;;
        disable) e=disabled; [[ -z $now ]] || a=inactive ;;
        start | restart) a=active ;;
        stop) a=inactive ;;
        esac
        printf '%s %s\n' "$e" "$a" >"$S/units/$u"
        # A restarted kubelet reports its package's version on the node.
        # fail/ready: it does not come back Ready.
        if [[ $u == kubelet.service && $cmd == restart && -f $S/self && -f $S/rpm/kubelet ]]; then
            r=True
            if fail_once ready; then r=False; fi
            node_set "$(<"$S/self")" "$r" "v$(<"$S/rpm/kubelet")" "$(node_get "$(<"$S/self")" 3)"
        fi
    done
    exit "$rc"
    ;;
kubeadm)
    # kubeadm's own rule: next to --config only a few flags are allowed, --certificate-key is not.
    if [[ " $* " == *" --config "* && " $* " == *" --certificate-key "* ]]; then
        echo "can not mix '--config' with arguments [certificate-key]" >&2
        exit 1
    fi
    config="" key=""
    for ((i = 1; i <= $#; i++)); do
        case ${!i} in
        --config) j=$((i + 1)); config=${!j} ;;
        --certificate-key) j=$((i + 1)); key=${!j} ;;
        esac
    done
    K=$KCS_ROOT/etc/kubernetes
    case "$1 ${2:-} ${3:-}" in
    "init phase upload-certs")
        if [[ ! -f $K/admin.conf ]] || ! api_up; then
            echo "error execution phase upload-certs: error uploading certs: Get \"https://10.0.0.10:6443/api/v1/namespaces/kube-system/secrets/kubeadm-certs\": dial tcp 10.0.0.10:6443: connect: connection refused" >&2
            exit 1
        fi
        if fail_once upload; then
            echo "error execution phase upload-certs: error uploading certs: rate: Wait(n=1) would exceed context deadline" >&2
            exit 1
        fi
        printf '%s\n' "$key" >"$S/uploaded-key"
        printf '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n%s\n' "$key"
        exit 0
        ;;
    "init "* | "join "*)
        sub=$1
        cp "$config" "$S/$sub-config"
        [[ ! -f $K/manifests/kube-vip.yaml ]] || cp "$K/manifests/kube-vip.yaml" "$S/kube-vip-at-$sub"
        key=$(sed -n -E 's/^ *certificateKey: *"?([0-9a-fA-F]+)"?.*/\1/p' "$config" | head -n 1)
        mkdir -p "$K/manifests" "$K/pki"
        : >"$K/kubelet.conf"
        : >"$K/pki/ca.crt"
        echo "enabled active" >"$S/units/kubelet.service"
        if fail_once "$sub"; then
            # Cut after the static pods were written: the API server never comes up.
            : >"$K/manifests/etcd.yaml"
            echo "enabled inactive" >"$S/units/kubelet.service"
            echo "error execution phase wait-control-plane: could not initialize a Kubernetes cluster" >&2
            exit 1
        fi
        printf 'apiVersion: v1\nkind: Config\n' >"$K/admin.conf"
        [[ $sub == join ]] || printf 'super-admin\n' >"$K/super-admin.conf"
        printf 'spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.35.9\n' >"$K/manifests/kube-apiserver.yaml"
        : >"$K/manifests/etcd.yaml"
        if [[ $sub == init && " $* " == *" --upload-certs "* ]]; then
            printf '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n%s\n' "$key"
        fi
        printf '[bootstrap-token] Using token: abcdef.0123456789abcdef\n'
        if [[ $sub == init ]]; then
            printf 'You can now join any number of control-plane nodes running the following command on each as root:\n\n  kubeadm join 10.0.0.10:8443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash sha256:%s \\\n\t--control-plane --certificate-key %s\n' "$(printf '0%.0s' {1..64})" "$key"
        else
            printf 'This node has joined the cluster and a new control plane instance was created\n'
        fi
        exit 0
        ;;
    "reset "*)
        # kubeadm reset empties the manifests directory and stops the kubelet.
        rm -f "$K"/manifests/*
        echo "enabled inactive" >"$S/units/kubelet.service"
        echo "[reset] Deleted contents of the etcd data directory"
        exit 0
        ;;
    esac
    case "$1 ${2:-}" in
    "config images")
        if [[ ${3:-} == pull ]]; then
            mkdir -p "$S/images"
            for image in kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns pause etcd; do : >"$S/images/$image"; done
            exit 0
        fi
        # What kubeadm lists for the version in the configuration (registry.k8s.io).
        for image in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do echo "registry.k8s.io/$image:v1.35.4"; done
        printf '%s\n' registry.k8s.io/coredns/coredns:v1.13.1 registry.k8s.io/pause:3.10.1 registry.k8s.io/etcd:3.6.6-0
        ;;
    "upgrade plan")
        if fail_once plan; then
            echo "[upgrade/config] FATAL: could not fetch the cluster configuration" >&2
            exit 1
        fi
        printf '[upgrade/versions] Cluster version: v%s\n[upgrade/versions] kubeadm version: v%s\n' "$(<"$S/cm")" "$(<"$S/rpm/kubeadm")"
        ;;
    "upgrade apply")
        v=${3#v}
        if fail_once apply; then
            # Cut after the static pods were upgraded, before kubeadm-config was written.
            echo "$v" >"$S/server"
            sed -i -E "s#(kube-apiserver):v[0-9.]+#\\1:v$v#" "$KCS_ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
            echo "[upgrade/apply] FATAL: context deadline exceeded" >&2
            exit 1
        fi
        echo "$v" >"$S/server"
        sed -i -E "s#(kube-apiserver):v[0-9.]+#\\1:v$v#" "$KCS_ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
        echo "$v" >"$S/cm"
        # kubeadm renews the certificates, admin.conf's among them.
        echo "admin.conf renewed for v$v" >"$KCS_ROOT/etc/kubernetes/admin.conf"
        printf '[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v%s".\n' "$v"
        ;;
    "upgrade node")
        if fail_once upgrade-node; then
            echo "error execution phase kubelet-config: timed out" >&2
            exit 1
        fi
        echo "[upgrade] The configuration for this node was successfully upgraded!"
        ;;
    "certs renew")
        if fail_once renew; then
            echo "error: failed to renew certificates" >&2
            exit 1
        fi
        echo "admin.conf renewed by kubeadm certs renew" >"$KCS_ROOT/etc/kubernetes/admin.conf"
        echo "Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates."
        ;;
    "certs check-expiration")
        cat "$S/check-expiration"
        ;;
    esac
    ;;
kubectl)
    args=() out="" server=""
    while (($#)); do
        case $1 in
        --kubeconfig | -n) shift ;;
        --kubeconfig=* | --request-timeout=* | --tls-server-name=*) ;;
        --server=*) server=${1#--server=} ;;
        -o) out=$2; shift ;;
        -o=*) out=${1#-o=} ;;
        *) args+=("$1") ;;
        esac
        shift
    done
    if ! api_up || { [[ -n $server ]] && [[ -e $S/local-api-down ]]; }; then
        echo "The connection to the server ${server:-10.0.0.10:6443} was refused - did you specify the right host or port?" >&2
        exit 1
    fi
    case "${args[0]} ${args[1]:-}" in
    "version "*)
        printf '{\n  "clientVersion": {\n    "major": "1",\n    "gitVersion": "v1.35.9"\n  },\n  "kustomizeVersion": "v5.7.1",\n  "serverVersion": {\n    "major": "1",\n    "minor": "%s",\n    "gitVersion": "v%s",\n    "platform": "linux/amd64"\n  }\n}\n' \
            "$(cut -d. -f2 "$S/server")" "$(<"$S/server")"
        ;;
    "get --raw=/readyz") echo ok ;;
    "get configmap")
        [[ -f $S/cm ]] || exit 1
        if [[ ${args[2]:-} == kubelet-config ]]; then
            # kubelet-config: a cluster this program made at 1.31 or later carries failCgroupV1: false
            # (kubelet-config-old: one made before, without it).
            if [[ -f $S/kubelet-config ]]; then cat "$S/kubelet-config"; elif [[ -f $S/kubelet-config-old ]]; then
                printf 'apiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\nkind: KubeletConfiguration\n'
            else printf 'apiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\nfailCgroupV1: false\nkind: KubeletConfiguration\n'; fi
            exit 0
        fi
        printf 'apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nclusterName: kubernetes\nkind: ClusterConfiguration\nkubernetesVersion: v%s\nnetworking:\n  dnsDomain: cluster.local\n' "$(<"$S/cm")"
        ;;
    "patch configmap")
        # -p '{"data":{"kubelet":"..."}}' of kubelet-config: the new text kept in kubelet-config.
        for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == -p ]] && patch=${args[i + 1]}; done
        python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1])["data"]["kubelet"])' "$patch" >"$S/kubelet-config"
        ;;
    "get nodes")
        for f in "$S"/nodes/*; do [[ -f $f ]] && echo "node/${f##*/}"; done
        ;;
    "get node")
        n=${args[2]}
        if [[ ! -f $S/nodes/$n ]]; then
            echo "Error from server (NotFound): nodes \"$n\" not found" >&2
            exit 1
        fi
        case $out in
        name) echo "node/$n" ;;
        wide) printf 'NAME   STATUS   VERSION\n%s   %s   %s\n' "$n" "$(node_get "$n" 1)" "$(node_get "$n" 2)" ;;
        jsonpath=*) printf '%s %s %s' "$(node_get "$n" 1)" "$(node_get "$n" 2)" "$(node_get "$n" 3)" ;;
        esac
        ;;
    "drain "* | "cordon "*)
        n=${args[1]}
        [[ -f $S/nodes/$n ]] || exit 1
        node_set "$n" "$(node_get "$n" 1)" "$(node_get "$n" 2)" true
        echo "node/$n cordoned"
        if [[ ${args[0]} == drain ]] && fail_once drain; then
            echo "error: unable to drain node \"$n\" due to error: global timeout reached: 5m0s" >&2
            exit 1
        fi
        ;;
    "uncordon "*)
        n=${args[1]}
        [[ -f $S/nodes/$n ]] || exit 1
        node_set "$n" "$(node_get "$n" 1)" "$(node_get "$n" 2)" ""
        echo "node/$n uncordoned"
        ;;
    "delete node")
        rm -f "$S/nodes/${args[2]}"
        ;;
    esac
    ;;
crictl)
    case ${1:-} in
    ps) [[ ! -f $S/etcd-id ]] || cat "$S/etcd-id" ;;
    inspecti)
        # images/<name>: the image is present (kubeadm config images pull, or the test, put it there)
        name=${2##*/}
        name=${name%%:*}
        [[ -e $S/images/$name ]] || { echo "FATA[0000] no such image \"$2\" present" >&2; exit 1; }
        ;;
    exec)
        # crictl exec ID etcdctl ... snapshot save PATH
        eval "path=\${$#}"
        # shellcheck disable=SC2154 # set by the eval
        echo "etcd snapshot" >"$path"
        echo "Snapshot saved at $path"
        ;;
    esac
    ;;
systemd-analyze)
    if [[ $2 == bad* ]]; then
        echo "Failed to parse calendar specification '$2': Invalid argument" >&2
        exit 1
    fi
    printf '  Original form: %s\nNormalized form: %s\n' "$2" "$2"
    ;;
uname)
    case ${1:-} in
    -r) echo 5.14.0-570.el9.x86_64 ;;
    -m) echo x86_64 ;;
    *) echo testhost ;;
    esac
    ;;
ip)
    if [[ "$*" == "-o -4 addr show" ]]; then
        if [[ -f $S/addrs ]]; then cat "$S/addrs"; else
            printf '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n'
        fi
    fi
    [[ "$*" == "-o link show" ]] && printf '1: lo: <LOOPBACK,UP> mtu 65536\n2: eth0: <BROADCAST,UP> mtu 1500\n'
    [[ "$*" != "link show "* ]] || exit 1
    ;;
iptables | ip6tables)
    [[ "$*" != *" -S" ]] || printf -- '-P INPUT ACCEPT\n'
    ;;
ss)
    echo "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process"
    if [[ "$*" =~ sport\ =\ :([0-9]+) ]]; then
        [[ ! -e $S/listen/${BASH_REMATCH[1]} ]] || echo "LISTEN 0      4096   *:${BASH_REMATCH[1]}   *:*"
    elif [[ $1 == -lntp && -f $S/ss-tcp ]]; then
        cat "$S/ss-tcp"
    fi
    ;;
getenforce) if [[ -f $S/selinux ]]; then cat "$S/selinux"; else echo Permissive; fi ;;
getsebool) echo "$1 --> $(cat "$S/sebool/$1" 2>/dev/null || echo off)" ;;
setsebool)
    mkdir -p "$S/sebool"
    [[ $3 == 1 ]] && echo on >"$S/sebool/$2" || echo off >"$S/sebool/$2"
    ;;
haproxy)
    case $1 in
    -v) echo "HAProxy version 2.4.22-f8e3218 2023/02/14 - https://haproxy.org/" ;;
    -c)
        if grep -qx bogus "$3"; then
            echo "[ALERT]    (1) : config : parsing [$3:2] : unknown keyword 'bogus' out of section." >&2
            exit 1
        fi
        echo "Configuration file is valid"
        ;;
    esac
    ;;
keepalived)
    case $1 in
    --help)
        printf 'Usage: keepalived [OPTION...]\n  -f, --use-file=FILE          Use the specified configuration file\n' >&2
        [[ -e $S/keepalived-old ]] || printf '  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors\n' >&2
        ;;
    -t)
        if grep -qx bogus "$3"; then
            echo "($3: Line 2) Unknown keyword 'bogus'" >&2
            echo "($3: Line 3) near: $(grep auth_pass "$3")" >&2
            exit 5
        fi
        ;;
    esac
    ;;
esac
exit 0
