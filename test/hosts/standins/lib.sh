# shellcheck shell=bash
# Shared by every stand-in (sourced from /usr/local/bin/kc-standin-lib.sh on a test host).
#   - appends the call's argv to the host's journal: "<step>: <tool> <args...>" where <step> is
#     the kc-<step> name of the remote step that ran it (or "-" outside a step);
#   - applies injected failures from $KCS_STATE/fail/<tool>;
#   - keeps the state the scripts check under $KCS_STATE.
# Injected failure rules, one a line in $KCS_STATE/fail/<tool>:
#   <after> <times> <mode> <exit> <ERE matched against "tool arg1 arg2 ...">
#   after: matching calls that still succeed first; times: failures before the rule is spent;
#   mode: fail (exit at once) | partial (the tool does part of its work, then fails) |
#         hang (records its process group in $KCS_STATE/hung and sleeps until killed) |
#         partialhang (does part of its work, then hangs like hang).
KCS_STATE=${KCS_STATE:-/var/lib/kc-standin}
KCS_TOOL=${KCS_TOOL:-${0##*/}}
KCS_FAIL=""

kcs_q() { # shell-quote one word only when it needs it
    if [[ $1 =~ ^[A-Za-z0-9_./:=,@%+^-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

kcs_line() {
    local out a
    out=$(kcs_q "$KCS_TOOL")
    for a in "$@"; do out+=" $(kcs_q "$a")"; done
    printf '%s' "${out//$'\n'/\\n}"
}

kcs_step() { # the kc-<step> argument of the nearest ancestor `bash -c SCRIPT kc-<step>`
    local pid=$PPID depth args
    for depth in 1 2 3 4 5 6 7 8 9 10 11 12; do
        [ "$depth" -le 12 ] || break
        [ "$pid" -gt 1 ] 2>/dev/null || break
        mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || break
        if [ "${#args[@]}" -ge 4 ] && [ "${args[1]}" = -c ] && [[ ${args[3]} =~ ^kc-[a-z0-9-]+$ ]]; then
            printf '%s' "${args[3]}"
            return 0
        fi
        pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
    done
    printf '%s' -
}

kcs_journal() { # append one line to the journal
    (
        flock 8
        printf '%s\n' "$*" >>"$KCS_STATE/journal"
    ) 8>>"$KCS_STATE/.lock"
}

# Decide whether this call fails; sets KCS_FAIL to the mode and KCS_FAIL_EXIT.
kcs_fail_check() {
    local f=$KCS_STATE/fail/$KCS_TOOL line=$1
    [ -s "$f" ] || return 0
    local out="" after times mode code pat hit=""
    while read -r after times mode code pat; do
        [ -n "$pat" ] || continue
        if [ -z "$hit" ] && [[ $line =~ $pat ]]; then
            if [ "$after" -gt 0 ]; then
                after=$((after - 1))
            else
                hit=1
                KCS_FAIL=$mode
                KCS_FAIL_EXIT=$code
                times=$((times - 1))
                [ "$times" -gt 0 ] || continue
            fi
        fi
        out+="$after $times $mode $code $pat"$'\n'
    done <"$f"
    printf '%s' "$out" >"$f"
}

# Every stand-in starts with: kcs_begin "$@"
kcs_begin() {
    local line step
    line=$(kcs_line "$@")
    step=$(kcs_step)
    (
        flock 8
        kcs_fail_check "$line"
        if [ -n "$KCS_FAIL" ]; then
            printf '%s: %s  # injected: %s\n' "$step" "$line" "$KCS_FAIL" >>"$KCS_STATE/journal"
            printf '%s %s\n' "$KCS_FAIL" "$KCS_FAIL_EXIT" >"$KCS_STATE/.fail.$$"
        else
            printf '%s: %s\n' "$step" "$line" >>"$KCS_STATE/journal"
        fi
    ) 8>>"$KCS_STATE/.lock"
    if [ -f "$KCS_STATE/.fail.$$" ]; then
        read -r KCS_FAIL KCS_FAIL_EXIT <"$KCS_STATE/.fail.$$"
        rm -f "$KCS_STATE/.fail.$$"
        case $KCS_FAIL in
        fail) kcs_die_injected ;;
        hang) kcs_hang ;;
        esac
    fi
}

kcs_die_injected() {
    echo "${KCS_TOOL}: injected failure" >&2
    exit "${KCS_FAIL_EXIT:-1}"
}

kcs_hang() {
    echo "$$ $(ps -o pgid= -p $$ | tr -d ' ')" >>"$KCS_STATE/hung"
    exec sleep 3600
}

# After doing part of its work, a tool whose call was marked "partial" fails here, and one marked
# "partialhang" hangs here (the session is then cut by the test).
kcs_partial_point() {
    case $KCS_FAIL in
    partial) kcs_die_injected ;;
    partialhang) kcs_hang ;;
    esac
}

# --- shared state helpers ---

kcs_os() { cat "$KCS_STATE/os"; }

kcs_dist() {
    case $(kcs_os) in centos7) echo el7 ;; rocky8) echo el8 ;; *) echo el9 ;; esac
}

# rpm database: $KCS_STATE/rpm/<name> holds "<name> <version-release> <arch>".
kcs_rpm_installed() { [ -f "$KCS_STATE/rpm/$1" ]; }
kcs_rpm_nvra() { local n v a; read -r n v a <"$KCS_STATE/rpm/$1"; printf '%s-%s.%s' "$n" "$v" "$a"; }

# systemd units: $KCS_STATE/units/<unit>.service holds "<enabled|disabled|masked> <active|inactive>".
kcs_unit_name() { case $1 in *.*) printf '%s' "$1" ;; *) printf '%s.service' "$1" ;; esac; }
kcs_unit_get() { # UNIT FIELD(1|2)
    local f e=disabled a=inactive
    f=$KCS_STATE/units/$(kcs_unit_name "$1")
    [ ! -f "$f" ] || read -r e a <"$f"
    if [ "$2" = 1 ]; then printf '%s' "$e"; else printf '%s' "$a"; fi
}
kcs_unit_set() { # UNIT ENABLED ACTIVE
    printf '%s %s\n' "$2" "$3" >"$KCS_STATE/units/$(kcs_unit_name "$1")"
}

# Lab hosts (the real Kubernetes programs): lab.sh.
# shellcheck source-path=SCRIPTDIR source=lab.sh
. /usr/local/bin/kc-standin-lab.sh
