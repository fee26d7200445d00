#!/usr/bin/env bash
# kc-modules: kube
# Step join-token: one short-lived bootstrap token for one join, on the first control plane.
#   create: creates KC_TOKEN with KC_TTL and KC_DESCRIPTION unless a live token with its id exists.
#   delete: deletes it; a token or cluster that is already gone is fine.
# The token is a secret: only its id (the part before the dot) is ever printed.

readonly TOKEN_RE='^[a-z0-9]{6}\.[a-z0-9]{16}$'

token_list() { kubeadm token list --kubeconfig "$ADMIN_CONF" 2>/dev/null; }

# token_line LIST: the line of LIST for our token id ("" when absent). Fields: TOKEN TTL EXPIRES ...
token_line() { awk -v id="$TOKEN_ID" 'index($1, id ".") == 1' <<<"$1"; }

delete_token_now() {
    run kubeadm token delete "$TOKEN_ID" --kubeconfig "$ADMIN_CONF" ||
        die "could not delete bootstrap token $TOKEN_ID on $KC_HOST (see above)"
    log "bootstrap token $TOKEN_ID deleted"
}

create_token() {
    require KC_TTL KC_DESCRIPTION
    [[ -f $ADMIN_CONF ]] || die "$ADMIN_CONF is missing on $KC_HOST: the control plane is not initialised"
    local list line out
    list=$(retry 3 token_list) ||
        die "cannot list the bootstrap tokens on $KC_HOST: is the API server up? (kubectl --kubeconfig $ADMIN_CONF get --raw=/readyz)"
    line=$(token_line "$list")
    if [[ -n $line ]]; then
        # An expired token stays listed until the token cleaner removes it.
        if [[ $(awk '{ print $2 }' <<<"$line") != "<invalid>" ]]; then
            log "bootstrap token $TOKEN_ID exists"
            return 0
        fi
        log "bootstrap token $TOKEN_ID has expired: creating it again"
        delete_token_now
    fi
    # kubeadm prints the token it creates: keep that output out of the log.
    if ! out=$(kubeadm token create "$KC_TOKEN" --ttl "$KC_TTL" --description "$KC_DESCRIPTION" \
        --kubeconfig "$ADMIN_CONF" 2>&1); then
        redact_secrets <<<"$out" | prefix_lines
        die "kubeadm token create failed on $KC_HOST (see above)"
    fi
    log "bootstrap token $TOKEN_ID created (ttl $KC_TTL)"
}

delete_token() {
    if [[ ! -f $ADMIN_CONF ]]; then
        log "no cluster on $KC_HOST any more: bootstrap token $TOKEN_ID went with it"
        return 0
    fi
    if ! api_ready; then
        log "the API server does not answer (the cluster is being destroyed?): bootstrap token $TOKEN_ID is left to expire"
        return 0
    fi
    local list
    if ! list=$(token_list); then
        log "cannot list the bootstrap tokens: bootstrap token $TOKEN_ID is left to expire"
        return 0
    fi
    if [[ -z $(token_line "$list") ]]; then
        log "bootstrap token $TOKEN_ID is already gone"
        return 0
    fi
    delete_token_now
}

main() {
    step_mode "${1:-}"
    require KC_TOKEN
    [[ $KC_TOKEN =~ $TOKEN_RE ]] ||
        die "KC_TOKEN is not a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16} (value not shown): the program that sent this step has a bug"
    TOKEN_ID=${KC_TOKEN%%.*}
    if [[ $MODE == create ]]; then create_token; else delete_token; fi
}

main "$@"
