#!/usr/bin/env bash
# kc-modules: kube
# Step certs, on the first control plane: with KC_RENEW=true, renews the control plane's
# certificates (kubeadm certs renew all) and restarts the static pods so they load them; then,
# always, prints their expiry as one JSON line on stdout ({} without a cluster).
# A renewal happens once per request: $RENEWED records it, and it is repeated only when less than
# RENEW_DAYS remain (so certificateRenewal left on keeps the certificates renewed) or after a run
# with KC_RENEW=false. A restart cut short is finished by the next run ($PAUSED).

readonly MANIFESTS=/etc/kubernetes/manifests
readonly PAUSED=$STATE_DIR/manifests-paused
readonly RENEWED=$STATE_DIR/certs-renewed
readonly RENEW_DAYS=30
readonly STOP_SECONDS=120
readonly START_SECONDS=300

# expiration_table: reads `kubeadm certs check-expiration` and prints one line per certificate,
# tab separated: name, expiry (RFC 3339 when kubeadm printed "Mon DD, YYYY HH:MM UTC", else its
# text), residual time as printed (364d, 9y, 23h, <invalid>), and 1 for a certificate authority.
# Columns are separated by 3+ spaces (kubeadm's tabwriter); "!MISSING!" rows are left out.
expiration_table() {
    awk -F '  +' '
        BEGIN {
            n = split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", names, " ")
            for (i = 1; i <= n; i++) month[names[i]] = sprintf("%02d", i)
        }
        function rfc3339(d,    p) {
            if (split(d, p, /[ ,]+/) == 5 && (p[1] in month) && p[2] ~ /^[0-9][0-9]?$/ &&
                p[3] ~ /^[0-9][0-9][0-9][0-9]$/ && p[4] ~ /^[0-9][0-9]:[0-9][0-9]$/ && p[5] == "UTC")
                return sprintf("%s-%s-%02dT%s:00Z", p[3], month[p[1]], p[2], p[4])
            return d
        }
        { sub(/[ \t\r]+$/, "") }
        $1 == "CERTIFICATE" && $2 == "EXPIRES" { table = "cert"; next }
        $1 == "CERTIFICATE AUTHORITY" && $2 == "EXPIRES" { table = "ca"; next }
        /^[ \t]*$/ { table = ""; next }
        table == "" || /^!MISSING!/ || NF < 3 { next }
        { printf "%s\t%s\t%s\t%d\n", $1, rfc3339($2), $3, (table == "ca") }
    '
}

# residual_days EXPIRY RESIDUAL: whole days from now until EXPIRY (negative once expired); from
# kubeadm's residual time when EXPIRY is not a date this host can read.
residual_days() {
    local epoch now
    if epoch=$(date -u -d "$1" +%s 2>/dev/null); then
        now=$(date -u +%s)
        if ((epoch >= now)); then
            echo $(((epoch - now) / 86400))
        else
            echo $((-((now - epoch + 86399) / 86400)))
        fi
        return 0
    fi
    case $2 in
    *y) echo $((${2%y} * 365)) ;;
    *d) echo "${2%d}" ;;
    *h | *m | *s) echo 0 ;;
    *) echo -1 ;;
    esac
}

# read_expiry: runs kubeadm certs check-expiration; sets EXPIRY_JSON (the stdout line),
# LEAF_DAYS (fewest days left of a non-CA certificate) and the warnings in EXPIRY_WARNINGS.
read_expiry() {
    local out table name expires residual ca days entries="" first=true
    local earliest="" earliest_days="" earliest_epoch="" epoch leaf_soon=() ca_soon=()
    out=$(kubeadm certs check-expiration 2>&1) || {
        prefix_lines <<<"$out"
        die "kubeadm certs check-expiration failed on $KC_HOST (see above): check /etc/kubernetes/pki there"
    }
    table=$(expiration_table <<<"$out")
    [[ -n $table ]] || {
        prefix_lines <<<"$out"
        die "kubeadm certs check-expiration on $KC_HOST printed no certificate table (see above): is this kubeadm's output format?"
    }
    LEAF_DAYS=""
    while IFS=$'\t' read -r name expires residual ca; do
        days=$(residual_days "$expires" "$residual")
        $first || entries+=","
        first=false
        entries+="{\"name\":$(json_str "$name"),\"expires\":$(json_str "$expires"),\"residual\":$(json_str "$residual")"
        if ((ca)); then entries+=',"ca":true'; fi
        entries+="}"
        epoch=$(date -u -d "$expires" +%s 2>/dev/null) || epoch=$(($(date -u +%s) + days * 86400))
        if [[ -z $earliest_epoch ]] || ((epoch < earliest_epoch)); then
            earliest=$expires earliest_epoch=$epoch earliest_days=$days
        fi
        if ((ca)); then
            if ((days < RENEW_DAYS)); then ca_soon+=("$name"); fi
        else
            if [[ -z $LEAF_DAYS ]] || ((days < LEAF_DAYS)); then LEAF_DAYS=$days; fi
            if ((days < RENEW_DAYS)); then leaf_soon+=("$name"); fi
        fi
    done <<<"$table"
    : "${LEAF_DAYS:=$((RENEW_DAYS * 1000))}"
    EXPIRY_JSON="{\"earliestExpiry\":$(json_str "$earliest"),\"residualDays\":$earliest_days,\"certificates\":[$entries]}"
    EXPIRY_WARNINGS=()
    if ((${#leaf_soon[@]} > 0)); then
        EXPIRY_WARNINGS+=("WARNING: certificate(s) ${leaf_soon[*]} on $KC_HOST expire within $RENEW_DAYS days (first on $earliest): renew with certificateRenewal: true")
    fi
    if ((${#ca_soon[@]} > 0)); then
        EXPIRY_WARNINGS+=("WARNING: certificate authority ${ca_soon[*]} on $KC_HOST expires within $RENEW_DAYS days: kubeadm does not renew CAs; rotate it by hand (kubernetes.io: Manual Rotation of CA Certificates)")
    fi
}

# restore_manifests: puts back the static pod manifests a restart moved away (also when the step
# ends early, and at the start of the next run after a cut connection).
restore_manifests() {
    local f moved=false
    [[ -d $PAUSED ]] || return 0
    for f in "$PAUSED"/*.yaml; do
        [[ -e $f ]] || continue
        mv -f "$f" "$MANIFESTS/"
        moved=true
    done
    rmdir "$PAUSED" 2>/dev/null || true
    if $moved; then log "moved the static pod manifests back to $MANIFESTS"; fi
}

api_gone() { ! api_ready; }

# restart_control_plane: the kubelet stops the static pods whose manifests go away and starts them
# again when they come back: the only way to make them load renewed certificates.
restart_control_plane() {
    local f
    mkdir -p "$PAUSED"
    chmod 0700 "$STATE_DIR" "$PAUSED"
    EXIT_HOOKS+=(restore_manifests)
    for f in "$MANIFESTS"/*.yaml; do
        [[ -e $f ]] || continue
        mv -f "$f" "$PAUSED/"
    done
    log "moved the static pod manifests to $PAUSED: waiting up to 2 minutes for the API server to stop"
    if ! poll "$STOP_SECONDS" api_gone; then
        restore_manifests
        die "the API server on $KC_HOST still answers 2 minutes after its manifest was moved away, so it still uses the old certificates: check 'journalctl -u kubelet' there, then restart the control plane by moving $MANIFESTS/*.yaml out for a minute and back"
    fi
    restore_manifests
    log "waiting up to 5 minutes for the API server to come back"
    wait_for_api "$START_SECONDS" ||
        die "the API server on $KC_HOST did not come back within 5 minutes after the certificate renewal: check 'crictl ps -a' and 'journalctl -u kubelet' there"
    log "the control plane runs with the renewed certificates"
}

renew() {
    local copy=false
    if root_kubeconfig_is_copy; then copy=true; fi
    log "renewing the control plane's certificates"
    run kubeadm certs renew all ||
        die "kubeadm certs renew all failed on $KC_HOST (see above)"
    if $copy; then refresh_root_kubeconfig; fi
    restart_control_plane
    mkdir -p "$STATE_DIR"
    write_file "$RENEWED" 0644 <<<"renewed $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

main() {
    require KC_RENEW
    [[ $KC_RENEW == true || $KC_RENEW == false ]] ||
        die "parameter KC_RENEW must be true or false (got '$KC_RENEW'): the program that sent this step has a bug"
    if [[ ! -f $ADMIN_CONF ]]; then
        log "no cluster yet: no certificates to check"
        printf '{}\n'
        return 0
    fi
    host_lock
    # A restart cut short left the control plane stopped.
    restore_manifests
    EXPIRY_JSON=""
    if [[ $KC_RENEW == true ]]; then
        if [[ -f $RENEWED ]]; then
            read_expiry
            if ((LEAF_DAYS < RENEW_DAYS)); then
                renew
                EXPIRY_JSON=""
            else
                log "certificates $(head -n 1 "$RENEWED"); renewed again when less than $RENEW_DAYS days remain"
            fi
        else
            renew
        fi
    else
        remove_file "$RENEWED"
    fi
    [[ -n $EXPIRY_JSON ]] || read_expiry
    local w
    for w in ${EXPIRY_WARNINGS[@]+"${EXPIRY_WARNINGS[@]}"}; do log "$w"; done
    printf '%s\n' "$EXPIRY_JSON"
}

main "$@"
