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
