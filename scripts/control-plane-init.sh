#!/usr/bin/env bash
# kc-modules: kube kubevip reset
# Step control-plane-init: `kubeadm init --config` on the first control plane, once.
#   create: validates the config, pulls the images, runs kubeadm init (after resetting a half-done
#           earlier attempt), deletes the bootstrap token init made (joins use their own short-lived
#           tokens) and copies admin.conf to /root/.kube/config. With KC_UPLOAD_CERTS=true init also
#           uploads the control-plane certificates, encrypted with KC_CERTIFICATE_KEY, for the other
#           control planes to join with. A kube-vip static pod is pointed at super-admin.conf while
#           init runs and at admin.conf once it is done.
#   delete: kubeadm reset and cleanup of what Kubernetes and the CNI left.

readonly INIT_CONFIG=$STATE_DIR/kubeadm-init.yaml
# The same with the certificate key (KC_UPLOAD_CERTS=true): exists only while kubeadm init runs.
readonly INIT_UPLOAD_CONFIG=$STATE_DIR/kubeadm-init-upload.yaml
# Written after a successful init: from then on this node is never reset automatically.
readonly INIT_DONE=$STATE_DIR/init-done
# How long an initialised control plane gets to answer (e.g. just after a reboot).
readonly API_WAIT_SECONDS=180

# check_state: sets INIT_STATE to "ready" when the control plane is up, else "fresh" after
# resetting a half-done init. An initialised control plane that stopped answering is an error,
# never a reason to reset.
check_state() {
    INIT_STATE=ready
    api_ready && return 0
    if [[ -e $INIT_DONE ]] && kube_state_present; then
        log "this control plane was initialised earlier; waiting up to ${API_WAIT_SECONDS}s for its API server"
        wait_for_api "$API_WAIT_SECONDS" && return 0
        die "the control plane on $KC_HOST was initialised but its API server does not answer: check 'systemctl status kubelet', 'crictl ps -a' and 'journalctl -u kubelet' there. It is not reset automatically: that would destroy the cluster (to start over, destroy the stack)"
    fi
    # A marker without a cluster (reset by hand) must not protect the next, maybe half-done, init.
    remove_file "$INIT_DONE"
    if kube_state_present; then
        if svc_active kubelet; then
            log "Kubernetes files found and the kubelet runs; waiting up to 60s in case the API server is starting"
            wait_for_api 60 && return 0
        fi
        log "found a half-done kubeadm init (files in /etc/kubernetes, API server not answering): resetting it first"
        reset_half_done "$KC_CRI_SOCKET"
    fi
    INIT_STATE=fresh
}

token_list() { kubeadm token list --kubeconfig "$ADMIN_CONF" 2>/dev/null; }

# delete_foreign_tokens: removes every bootstrap token not described as made by kubeadm-cluster
# (kubeadm init's default one lives 24h and is not needed: each join gets its own token).
delete_foreign_tokens() {
    local list id
    if ! list=$(retry 3 token_list); then
        log "WARNING: could not list the bootstrap tokens; kubeadm init's default token stays until it expires (24h)"
        return 0
    fi
    while read -r id; do
        run kubeadm token delete "$id" --kubeconfig "$ADMIN_CONF" || log "WARNING: could not delete bootstrap token $id"
    done < <(awk '$1 ~ /^[a-z0-9]+\.[a-z0-9]+$/ && index($0, "kubeadm-cluster") == 0 { print substr($1, 1, index($1, ".") - 1) }' <<<"$list")
}

# with_certificate_key: the init configuration on stdin with `certificateKey: <KC_CERTIFICATE_KEY>`
# in its InitConfiguration document. kubeadm refuses --certificate-key next to --config (only
# --upload-certs, --ignore-preflight-errors, --skip-* and a few more may be mixed with it), so the
# key goes into the file; awk reads it from the environment, never from a command line.
with_certificate_key() {
    awk '
        BEGIN { kind = "^kind:[[:space:]]*[\"'\'']?InitConfiguration[\"'\'']?[[:space:]]*$" }
        function flush(i) {
            for (i = 1; i <= n; i++) {
                if (init && lines[i] ~ /^certificateKey:/) continue
                print lines[i]
                if (init && lines[i] ~ kind) print "certificateKey: \"" ENVIRON["KC_CERTIFICATE_KEY"] "\""
            }
            n = 0
            init = 0
        }
        /^---/ { flush(); print; next }
        { lines[++n] = $0; if ($0 ~ kind) init = 1 }
        END { flush() }'
}

# upload_config: writes $INIT_UPLOAD_CONFIG (0600, removed however the step ends): the init
# configuration with the certificate key.
upload_config() {
    local content
    content=$(printf '%s' "$DECODED" | with_certificate_key && printf x)
    content=${content%x}
    # (Piped, not a here-string: bash before 5.1 writes those to a temporary file.)
    [[ $(printf '%s\n' "$content" | grep -c '^certificateKey:' || true) == 1 ]] ||
        die "the kubeadm configuration sent to $KC_HOST has no InitConfiguration document to put the certificate key in: the program that rendered it has a bug"
    CLEANUP_FILES+=("$INIT_UPLOAD_CONFIG")
    write_file "$INIT_UPLOAD_CONFIG" 0600 < <(printf '%s' "$content")
}

# pull_missing_images: the control-plane images the runtime does not have yet are pulled (an
# air-gapped host whose images were loaded from archives pulls nothing: `kubeadm config images
# pull` would ask the registry for every image, present or not).
pull_missing_images() {
    local images image missing=()
    images=$(kubeadm config images list --config "$INIT_CONFIG" 2>/dev/null) ||
        die "kubeadm cannot list the control-plane images for $INIT_CONFIG on $KC_HOST: run 'kubeadm config images list --config $INIT_CONFIG' there to see why"
    for image in $images; do
        crictl inspecti "$image" >/dev/null 2>&1 || missing+=("$image")
    done
    if ((${#missing[@]} == 0)); then
        log "the control-plane images are present"
        return 0
    fi
    log "pulling the control-plane images (missing: ${missing[*]})"
    retry 3 run kubeadm config images pull --config "$INIT_CONFIG" ||
        die "could not pull the control-plane images on $KC_HOST (see above): check imageRepository, the registry mirrors and the network, or load the images from archives"
}

init_cluster() {
    local config=$INIT_CONFIG upload=()
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    write_file "$INIT_CONFIG" 0600 < <(printf '%s' "$DECODED")
    if [[ $UPLOAD_CERTS == true ]]; then
        upload_config
        config=$INIT_UPLOAD_CONFIG
        upload=(--upload-certs)
    fi
    run_redacted kubeadm config validate --config "$config" ||
        die "kubeadm rejects the configuration in $INIT_CONFIG on $KC_HOST (see above): the program that rendered it has a bug, or kubeadm is not the expected version"
    pull_missing_images
    # kube-vip must hold the virtual IP while init runs, with the only kubeconfig that has its
    # rights from the start (a manifest left pointing at admin.conf would keep the VIP down).
    kube_vip_use admin.conf super-admin.conf
    if [[ $UPLOAD_CERTS == true ]]; then
        log "running kubeadm init (up to 15 minutes); it uploads the control-plane certificates, encrypted with the certificate key, for the other control planes to join with (they expire after two hours; each join uploads them again)"
    else
        log "running kubeadm init (up to 15 minutes)"
    fi
    kubeadm_preflight
    run_redacted timeout 15m kubeadm init --config "$config" ${upload[@]+"${upload[@]}"} \
        ${KUBEADM_PREFLIGHT_ARGS[@]+"${KUBEADM_PREFLIGHT_ARGS[@]}"} ||
        die "kubeadm init failed on $KC_HOST (see above); the next run resets this half-done init and tries again. 'journalctl -u kubelet' and 'crictl ps -a' there show why the control plane did not come up"
    rm -f "$INIT_UPLOAD_CONFIG"
    write_file "$INIT_DONE" 0644 <<<"initialised by kubeadm-cluster"
    delete_foreign_tokens
    log "control plane initialised"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == delete ]]; then
        reset_node "${KC_CRI_SOCKET:-}"
        return 0
    fi
    require KC_KUBEADM_CONFIG_B64 KC_CRI_SOCKET
    UPLOAD_CERTS=${KC_UPLOAD_CERTS:-false}
    [[ $UPLOAD_CERTS == true || $UPLOAD_CERTS == false ]] ||
        die "parameter KC_UPLOAD_CERTS must be true or false (got '$UPLOAD_CERTS'): the program that sent this step has a bug"
    if [[ $UPLOAD_CERTS == true ]]; then check_certificate_key; fi
    detect_os
    b64d KC_KUBEADM_CONFIG_B64
    check_state
    if [[ $INIT_STATE == ready ]]; then
        log "already initialised: the API server answers"
    else
        init_cluster
    fi
    # From Kubernetes 1.29 on super-admin.conf is for kubeadm init only; admin.conf has its rights now.
    kube_vip_use super-admin.conf admin.conf
    ensure_root_kubeconfig
}

main "$@"
