# shellcheck shell=bash
# Shared by the kubeadm and kubectl stand-ins and kc-standin-api: the control plane's "API server"
# state on a test host (bootstrap tokens, nodes), kept under $KCS_STATE/kube/.
#   kube/cluster            exists once `kubeadm init` succeeded: "<controlPlaneEndpoint> <version>"
#   kube/tokens/<id>        lines: secret, expiry (epoch seconds, 0 = never), description
#   kube/nodes/<name>       "<Ready|NotReady> <version> <control-plane|<none>> [SchedulingDisabled]"
KUBE=$KCS_STATE/kube
K8S=/etc/kubernetes

kube_up() { [ -f "$KUBE/cluster" ]; }
kube_endpoint() { awk '{print $1}' "$KUBE/cluster"; }

kube_installed_version() { # from the kubeadm package: "1.33.5"
    local v
    v=$(awk '{print $2}' "$KCS_STATE/rpm/kubeadm" 2>/dev/null || true)
    printf '%s' "${v%-*}"
}

# Parse a kubeadm duration ("1h", "30m", "1h30m", "90s", "0") into seconds.
kube_duration() {
    local d=$1 total=0 n u
    [ "$d" != 0 ] || { echo 0; return 0; }
    while [[ $d =~ ^([0-9]+)(h|m|s)(.*)$ ]]; do
        n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
        case $u in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
    done
    [ -z "$d" ] || return 1
    echo "$total"
}

# Expired bootstrap tokens no longer sign cluster-info (kubeadm token list shows them as <invalid>
# until the token cleaner removes them; the harness can expire one by editing its file).
kube_expired_tokens() {
    local f exp now
    now=$(date +%s)
    for f in "$KUBE"/tokens/*; do
        [ -f "$f" ] || continue
        exp=$(sed -n 2p "$f")
        if [ "$exp" != 0 ] && [ "$exp" -le "$now" ]; then echo "${f##*/}"; fi
    done
}

kube_token_put() { # ID SECRET TTL_SECONDS DESCRIPTION
    local exp=0
    mkdir -p "$KUBE/tokens"
    [ "$3" = 0 ] || exp=$(($(date +%s) + $3))
    printf '%s\n%s\n%s\n' "$2" "$exp" "$4" >"$KUBE/tokens/$1"
}

# sha256:<hex> of a CA certificate's public key (SubjectPublicKeyInfo, DER), as kubeadm pins it.
kube_ca_hash() { # CERT_FILE
    printf 'sha256:%s' "$(openssl x509 -pubkey -noout -in "$1" | openssl pkey -pubin -outform der 2>/dev/null |
        openssl dgst -sha256 -hex | sed 's/^.* //')"
}

# A real kubeconfig for USER signed by the cluster CA.
kube_write_kubeconfig() { # FILE USER ORG SERVER
    local file=$1 user=$2 org=$3 server=$4 tmp
    tmp=$(mktemp -d)
    openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/key" -out "$tmp/csr" -subj "/O=$org/CN=$user" 2>/dev/null
    openssl x509 -req -in "$tmp/csr" -CA "$K8S/pki/ca.crt" -CAkey "$K8S/pki/ca.key" -CAcreateserial \
        -out "$tmp/crt" -days 365 2>/dev/null
    cat >"$file" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 "$K8S/pki/ca.crt")
    server: https://$server
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: $user
  name: $user@kubernetes
current-context: $user@kubernetes
kind: Config
preferences: {}
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$tmp/crt")
    client-key-data: $(base64 -w0 "$tmp/key")
EOF
    chmod 600 "$file"
    rm -rf "$tmp"
}

# First value of KEY in a YAML file, optionally only after a line matching SECTION.
yaml_get() { # FILE KEY [SECTION]
    awk -v key="$2" -v sect="${3:-}" '
        sect != "" && $0 ~ "^[ \t]*" sect ":[ \t]*$" { insect = 1; next }
        (sect == "" || insect) && $0 ~ "^[ \t]*" key ":[ \t]" {
            v = $0; sub("^[ \t]*" key ":[ \t]*", "", v); gsub(/^["\047]|["\047][ \t]*$/, "", v); print v; exit
        }' "$1"
}

kube_port_busy() { # PORT -> listening in this host's network namespace (real ss)
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# --- day-2: versions, the API server's static pod, node status, certificates ---
#   kube/cluster field 2     the kubeadm-config ConfigMap's kubernetesVersion (init, upgrade apply)
#   kube/nodes/.<name>.addr  the address a worker registered from (its host must answer for the
#                            node to be Ready and for its pods to be evicted)
#   kube/apiserver.log       "<epoch> stopped" / "<epoch> started <image>": the API server's static
#                            pod going away with its manifest and coming back, as seen by the clients

kube_config_version() { awk '{print $2}' "$KUBE/cluster"; }

# The version the API server runs: its static pod's image tag.
kube_server_version() {
    sed -n -E 's/^[[:space:]]*image:.*kube-apiserver:v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' \
        "$K8S/manifests/kube-apiserver.yaml" 2>/dev/null | head -n 1
}

# The API server answers while the cluster exists and the kubelet runs its static pod, i.e. while
# its manifest is in place; a change either way is logged.
kube_api_answers() {
    kube_up || return 1
    local now=down last="" img=""
    if [ -f "$K8S/manifests/kube-apiserver.yaml" ]; then
        now=up
        img=$(sed -n -E 's/^[[:space:]]*image:[[:space:]]*(.*kube-apiserver.*)$/\1/p' "$K8S/manifests/kube-apiserver.yaml" | head -n 1)
    fi
    [ ! -f "$KUBE/apiserver" ] || last=$(cat "$KUBE/apiserver")
    if [ "$now" != "$last" ]; then
        echo "$now" >"$KUBE/apiserver"
        if [ -n "$last" ]; then
            if [ "$now" = up ]; then echo "$(date +%s) started $img"; else echo "$(date +%s) stopped"; fi >>"$KUBE/apiserver.log"
        fi
    fi
    [ "$now" = up ]
}

# The ClusterConfiguration kubeadm keeps in the kubeadm-config ConfigMap.
kube_cluster_configuration() {
    cat <<EOC
apiServer: {}
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controlPlaneEndpoint: $(kube_endpoint)
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: v$(kube_config_version)
networking:
  dnsDomain: cluster.local
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
EOC
}

# A node's host answers on the bridge (its kubelet can post status and let pods go).
kube_node_reachable() { # NAME
    local f=$KUBE/nodes/.$1.addr
    [ -f "$f" ] || return 0
    timeout 1 bash -c "exec 3<>/dev/tcp/$(cat "$f")/22" 2>/dev/null
}

# The kubelet (re)started: its node reports Ready with the installed kubelet's version. On the
# control plane the node is local; a worker's kubelet posts its status to the API server (over SSH
# to the control plane named in kubelet.conf). Nothing when the node is not in a cluster.
kube_kubelet_started() {
    local v name r x server
    v=$(awk '{print $2}' "$KCS_STATE/rpm/kubelet" 2>/dev/null || true)
    v=${v%-*}
    name=$(hostname)
    [ -n "$v" ] || return 0
    if kube_up; then
        [ -f "$KUBE/nodes/$name" ] || return 0
        read -r _ _ r x <"$KUBE/nodes/$name"
        echo "Ready v$v $r${x:+ $x}" >"$KUBE/nodes/$name"
    elif [ -f "$K8S/kubelet.conf" ] && [ -f "$KCS_STATE/cluster/id_ed25519" ]; then
        server=$(awk '/server:/ {print $2; exit}' "$K8S/kubelet.conf")
        server=${server#https://}
        kube_ssh "${server%:*}" node-status "$name" "v$v" >/dev/null 2>&1 || true
    fi
}

# Runs kc-standin-api on the host at ADDR (the control plane the cluster key reaches).
kube_ssh() { # ADDR ARGS...
    local addr=$1
    shift
    ssh -i "$KCS_STATE/cluster/id_ed25519" -o UserKnownHostsFile="$KCS_STATE/cluster/known_hosts" \
        -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 -o GlobalKnownHostsFile=/dev/null \
        -F /dev/null "root@$addr" kc-standin-api "$@"
}

# notAfter of a certificate (PEM file, or a kubeconfig's embedded client certificate) as epoch.
kube_cert_end() { # FILE
    local pem=$1 tmp end
    if grep -q 'client-certificate-data:' "$1" 2>/dev/null; then
        tmp=$(mktemp)
        awk '/client-certificate-data:/ {print $2; exit}' "$1" | base64 -d >"$tmp"
        pem=$tmp
    fi
    end=$(openssl x509 -noout -enddate -in "$pem" 2>/dev/null | sed 's/^notAfter=//')
    [ -z "${tmp:-}" ] || rm -f "$tmp"
    [ -n "$end" ] || return 1
    date -u -d "$end" +%s
}
