#!/usr/bin/env bash
# Step prep-timesync: chrony installed, enabled and running; with KC_NTP_SERVERS its server/pool
# lines are replaced by those servers (the rest of /etc/chrony.conf stays). Certificates and
# tokens break when clocks drift apart.

readonly CHRONY_CONF=/etc/chrony.conf

# chrony_with_servers FILE SERVERS...: FILE with its server and pool lines replaced, at the place
# of the first one, by "server S iburst" for each of SERVERS.
chrony_with_servers() {
    local file=$1
    shift
    KC_SERVERS=$(printf 'server %s iburst\n' "$@") awk '
        /^[[:space:]]*(server|pool)[[:space:]]/ { if (!done) print ENVIRON["KC_SERVERS"]; done = 1; next }
        { print }
        END { if (!done) print ENVIRON["KC_SERVERS"] }' "$file"
}

main() {
    require KC_TIME_SYNC
    case $KC_TIME_SYNC in
    true) ;;
    false)
        log "time sync left as it is (timeSync is false)"
        return 0
        ;;
    *) die "KC_TIME_SYNC must be true or false (got '$KC_TIME_SYNC'): the program that sent this step has a bug" ;;
    esac
    host_lock
    detect_os
    pkg_install chrony

    local changed=0 servers
    read -r -a servers <<<"${KC_NTP_SERVERS:-}"
    if ((${#servers[@]} > 0)); then
        [[ -f $CHRONY_CONF ]] || : >"$CHRONY_CONF"
        write_file "$CHRONY_CONF" "$(stat -c %a "$CHRONY_CONF")" < <(chrony_with_servers "$CHRONY_CONF" "${servers[@]}")
        changed=$FILE_CHANGED
    fi
    if pending chronyd-restart "$changed"; then changed=1; fi
    svc_enable_now chronyd "$changed"
    pending_done chronyd-restart
    log "time sync by chronyd${KC_NTP_SERVERS:+ from $KC_NTP_SERVERS}"
}

main "$@"
