#!/usr/bin/env bash
# Step etcd-backup, on the first control plane: scheduled etcd snapshots.
#   create: $HELPER (saves a snapshot from the running etcd static pod into KC_BACKUP_DIR and keeps
#           the newest KC_RETENTION), a oneshot service running it and a timer (OnCalendar =
#           KC_SCHEDULE, Persistent) enabled and started.
#   delete: the timer stopped and disabled, the three files removed; the snapshots stay.

readonly HELPER=/usr/local/sbin/kubeadm-cluster-etcd-backup
readonly UNIT=kubeadm-cluster-etcd-backup
readonly SERVICE_FILE=/etc/systemd/system/$UNIT.service
readonly TIMER_FILE=/etc/systemd/system/$UNIT.timer

# helper_script: the backup program. Generic: the directory and the count come as arguments.
helper_script() {
    cat <<'HELPER_END'
#!/bin/bash
# managed by kubeadm-cluster
# kubeadm-cluster-etcd-backup DIR KEEP: saves a snapshot of the local etcd (the static pod kubeadm
# runs) as DIR/etcd-<UTC time>.db (0600, DIR 0700) and deletes all but the newest KEEP snapshots
# there. Run by kubeadm-cluster-etcd-backup.timer; can be run by hand.
set -euo pipefail
export LC_ALL=C

usage="usage: kubeadm-cluster-etcd-backup DIR KEEP"
dir=${1:?$usage}
keep=${2:?$usage}
[[ $keep =~ ^[1-9][0-9]*$ ]] || { echo "KEEP must be a whole number above 0 (got '$keep'); $usage" >&2; exit 2; }
# etcd writes the snapshot inside its own data directory, the hostPath /var/lib/etcd it mounts.
data_dir=/var/lib/etcd
snapshot=$data_dir/kubeadm-cluster-snapshot.db

id=$(crictl ps --name '^etcd$' -q)
id=${id%%$'\n'*}
if [[ -z $id ]]; then
    echo "no running etcd container on $(uname -n) (crictl ps --name '^etcd$' shows none): is etcd up? See 'crictl ps -a --name etcd' and 'journalctl -u kubelet'" >&2
    exit 1
fi
rm -f "$snapshot"
crictl exec "$id" etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
    snapshot save "$snapshot"
if [[ ! -s $snapshot ]]; then
    echo "etcdctl snapshot save left no snapshot at $snapshot" >&2
    exit 1
fi

mkdir -p "$dir"
chmod 0700 "$dir"
target=$dir/etcd-$(date -u +%Y%m%dT%H%M%SZ).db
# Moved under a name the clean-up below ignores, then renamed: a snapshot in DIR is complete.
mv -f "$snapshot" "$dir/.etcd-partial.db"
chmod 0600 "$dir/.etcd-partial.db"
mv -f "$dir/.etcd-partial.db" "$target"
echo "saved $target ($(stat -c %s "$target") bytes)"

# The names sort by time; only names of this form are ever deleted.
find "$dir" -maxdepth 1 -type f -name 'etcd-*.db' -printf '%f\n' |
    { grep -E '^etcd-[0-9]{8}T[0-9]{6}Z\.db$' || true; } | sort -r | tail -n +"$((keep + 1))" |
    while IFS= read -r old; do
        rm -f "$dir/$old"
        echo "deleted the old snapshot $dir/$old"
    done
HELPER_END
}

service_unit() {
    cat <<EOF
$MANAGED_HEADER
[Unit]
Description=etcd snapshot into $KC_BACKUP_DIR, keeping $KC_RETENTION (kubeadm-cluster)
After=kubelet.service

[Service]
Type=oneshot
ExecStart=$HELPER $KC_BACKUP_DIR $KC_RETENTION
EOF
}

timer_unit() {
    cat <<EOF
$MANAGED_HEADER
[Unit]
Description=etcd snapshots on the schedule $KC_SCHEDULE (kubeadm-cluster)

[Timer]
OnCalendar=$KC_SCHEDULE
Persistent=true

[Install]
WantedBy=timers.target
EOF
}

check_params() {
    require KC_BACKUP_DIR KC_SCHEDULE KC_RETENTION
    # The values go into unit files: no spaces in the path, no % (a systemd specifier), no newlines.
    [[ $KC_BACKUP_DIR =~ ^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$ && $KC_BACKUP_DIR != */../* && $KC_BACKUP_DIR != */.. ]] ||
        die "etcdBackup.dir '$KC_BACKUP_DIR' must be an absolute path of letters, digits, '.', '_', '-' and '/' (it goes into a systemd unit), e.g. /var/backups/etcd"
    [[ $KC_BACKUP_DIR != /var/lib/etcd && $KC_BACKUP_DIR != /var/lib/etcd/* ]] ||
        die "etcdBackup.dir '$KC_BACKUP_DIR' is inside etcd's data directory, which kubeadm reset wipes: use another directory, e.g. /var/backups/etcd"
    [[ $KC_RETENTION =~ ^[1-9][0-9]*$ ]] ||
        die "etcdBackup.retention '$KC_RETENTION' must be a whole number above 0 (the snapshots kept)"
    [[ $KC_SCHEDULE =~ ^[A-Za-z0-9*:.,/~\ +-]+$ ]] ||
        die "etcdBackup.schedule '$KC_SCHEDULE' is not a systemd calendar expression (letters, digits, spaces and * : . , / ~ + - only), e.g. '*-*-* 02:00:00' or 'daily'"
    # systemd-analyze comes with systemd; a host without it gets the timer's own complaint instead.
    if command -v systemd-analyze >/dev/null 2>&1; then
        local out
        out=$(systemd-analyze calendar "$KC_SCHEDULE" 2>&1) ||
            die "etcdBackup.schedule '$KC_SCHEDULE' is not a systemd calendar expression ($(head -n 1 <<<"$out")): use e.g. '*-*-* 02:00:00' or 'daily'"
    fi
}

create() {
    check_params
    [[ -e /etc/kubernetes/manifests/etcd.yaml ]] ||
        die "no etcd static pod on $KC_HOST (/etc/kubernetes/manifests/etcd.yaml is missing): etcd backups need the control plane's local etcd; run pulumi up again once control-plane-init has succeeded"
    local before=$CHANGES timer_changed
    write_file "$HELPER" 0755 < <(helper_script)
    write_file "$SERVICE_FILE" 0644 < <(service_unit)
    write_file "$TIMER_FILE" 0644 < <(timer_unit)
    timer_changed=$FILE_CHANGED
    mkdir -p "$KC_BACKUP_DIR"
    chmod 0700 "$KC_BACKUP_DIR"
    if ((CHANGES > before)); then svc_daemon_reload; fi
    if ! svc_enabled "$UNIT.timer" || ! svc_active "$UNIT.timer"; then
        run systemctl enable --now "$UNIT.timer" ||
            die "could not enable and start $UNIT.timer on $KC_HOST: see 'systemctl status $UNIT.timer' there"
        log "enabled and started $UNIT.timer"
    elif ((timer_changed)); then
        svc_restart "$UNIT.timer"
    fi
    log "etcd snapshots on the schedule '$KC_SCHEDULE' into $KC_BACKUP_DIR, the newest $KC_RETENTION kept (run one now with: systemctl start $UNIT.service)"
}

delete() {
    local before=$CHANGES
    if [[ -f $TIMER_FILE ]]; then
        run systemctl disable --now "$UNIT.timer" || log "WARNING: could not stop and disable $UNIT.timer"
    fi
    remove_file "$TIMER_FILE"
    remove_file "$SERVICE_FILE"
    remove_file "$HELPER"
    if ((CHANGES > before)); then svc_daemon_reload; fi
    log "scheduled etcd snapshots removed; the snapshots taken stay in ${KC_BACKUP_DIR:-the backup directory}"
}

main() {
    step_mode "${1:-}"
    host_lock
    if [[ $MODE == create ]]; then create; else delete; fi
}

main "$@"
