#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # each test exports its own parameters; stderr is set by bats' run --separate-stderr
# etcd-backup: the snapshot program, its service and timer; the retention of the snapshots.

bats_require_minimum_version 1.5.0
load helpers
load standins

setup() {
    new_host
    cluster_at 1.35.9 cp1
    # Under the fake root: the step creates it.
    export KC_BACKUP_DIR=$ROOT/var/backups/etcd KC_SCHEDULE='*-*-* 02:00:00' KC_RETENTION=7
    UNITS=$ROOT/etc/systemd/system
    HELPER=$ROOT/usr/local/sbin/kubeadm-cluster-etcd-backup
}

@test "create: the program, a oneshot service and a persistent timer, enabled and started; a second run changes nothing" {
    step etcd-backup create
    [ "$status" -eq 0 ]
    [ "$(head -n 2 "$HELPER")" = "$(printf '#!/bin/bash\n# managed by kubeadm-cluster')" ]
    [ "$(stat -c %a "$HELPER")" = 755 ]
    # (the program's path is under the test's fake root)
    diff <(sed "s#$ROOT##g" "$UNITS/kubeadm-cluster-etcd-backup.service") - <<'E'
# managed by kubeadm-cluster
[Unit]
Description=etcd snapshot into /var/backups/etcd, keeping 7 (kubeadm-cluster)
After=kubelet.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kubeadm-cluster-etcd-backup /var/backups/etcd 7
E
    diff <(sed "s#$ROOT##g" "$UNITS/kubeadm-cluster-etcd-backup.timer") - <<'E'
# managed by kubeadm-cluster
[Unit]
Description=etcd snapshots on the schedule *-*-* 02:00:00 (kubeadm-cluster)

[Timer]
OnCalendar=*-*-* 02:00:00
Persistent=true

[Install]
WantedBy=timers.target
E
    diff <(changing_calls) - <<'E'
systemctl daemon-reload
systemctl enable --now kubeadm-cluster-etcd-backup.timer
E
    grep -qx "systemd-analyze calendar \*-\*-\* 02:00:00" "$CALLS"
    [ "$(stat -c %a "$ROOT/var/backups/etcd")" = 700 ]

    : >"$CALLS"
    step etcd-backup create
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}

@test "create: a new schedule rewrites the timer and restarts it" {
    step etcd-backup create
    export KC_SCHEDULE=daily
    : >"$CALLS"
    step etcd-backup create
    [ "$status" -eq 0 ]
    grep -qx 'OnCalendar=daily' "$UNITS/kubeadm-cluster-etcd-backup.timer"
    diff <(changing_calls) - <<'E'
systemctl daemon-reload
systemctl restart kubeadm-cluster-etcd-backup.timer
E
}

@test "create: a bad schedule, directory or count is refused before anything is written" {
    export KC_SCHEDULE='bad 25:00'
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: etcdBackup.schedule 'bad 25:00' is not a systemd calendar expression (Failed to parse calendar specification 'bad 25:00': Invalid argument): use e.g. '*-*-* 02:00:00' or 'daily'"* ]]
    export KC_SCHEDULE='daily; rm -rf /'
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"is not a systemd calendar expression (letters, digits, spaces and"* ]]
    export KC_SCHEDULE=daily KC_BACKUP_DIR='/var/my backups'
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: etcdBackup.dir '/var/my backups' must be an absolute path of letters, digits"* ]]
    export KC_BACKUP_DIR=$ROOT/var/lib/etcd/backups
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"is inside etcd's data directory, which kubeadm reset wipes"* ]]
    export KC_BACKUP_DIR=$ROOT/var/backups/etcd KC_RETENTION=0
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: etcdBackup.retention '0' must be a whole number above 0"* ]]
    [ ! -e "$HELPER" ] && [ ! -e "$UNITS" ]
    [ -z "$(changing_calls)" ]
}

@test "create: refused on a host without the etcd static pod" {
    rm "$ROOT/etc/kubernetes/manifests/etcd.yaml"
    step etcd-backup create
    [ "$status" -eq 1 ]
    [[ $stderr == *"[testhost] ERROR: no etcd static pod on testhost"* ]]
}

@test "delete: the timer stopped and the three files removed, the snapshots kept; a second delete does nothing" {
    step etcd-backup create
    mkdir -p "$ROOT/var/backups/etcd"
    : >"$ROOT/var/backups/etcd/etcd-20250101T020000Z.db"
    : >"$CALLS"
    step etcd-backup delete
    [ "$status" -eq 0 ]
    diff <(changing_calls) - <<'E'
systemctl disable --now kubeadm-cluster-etcd-backup.timer
systemctl daemon-reload
E
    [ ! -e "$HELPER" ] && [ ! -e "$UNITS/kubeadm-cluster-etcd-backup.service" ] && [ ! -e "$UNITS/kubeadm-cluster-etcd-backup.timer" ]
    [ -e "$ROOT/var/backups/etcd/etcd-20250101T020000Z.db" ]
    [[ $stderr == *"[testhost] scheduled etcd snapshots removed; the snapshots taken stay in $ROOT/var/backups/etcd"* ]]
    : >"$CALLS"
    step etcd-backup delete
    [ "$status" -eq 0 ]
    [ -z "$(changing_calls)" ]
}

# backup KEEP: runs the installed program as its service would.
backup() {
    bats_run --separate-stderr env PATH="$BIN:/usr/bin:/bin" "$HELPER" "$ROOT/var/backups/etcd" "$1"
}

@test "the program: a snapshot from the etcd container, 0600 in a 0700 directory; the newest KEEP kept, nothing else touched" {
    step etcd-backup create
    mkdir -p "$ROOT/var/lib/etcd" "$ROOT/var/backups/etcd"
    echo 3f9a1c2b4d5e >"$S/etcd-id"
    local d=$ROOT/var/backups/etcd i
    for i in 1 2 3 4 5; do : >"$d/etcd-2001010${i}T020000Z.db"; done
    : >"$d/etcd-manual.db"
    : >"$d/notes.txt"
    : >"$CALLS"
    backup 3
    [ "$status" -eq 0 ]
    [ "$(head -n 1 "$CALLS")" = "crictl ps --name ^etcd\$ -q" ]
    [ "$(sed -n 2p "$CALLS")" = "crictl exec 3f9a1c2b4d5e etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key snapshot save /var/lib/etcd/kubeadm-cluster-snapshot.db" ]
    local new
    new=$(find "$d" -name 'etcd-2*Z.db' ! -name 'etcd-2001*' -printf '%f\n')
    [[ $new =~ ^etcd-[0-9]{8}T[0-9]{6}Z\.db$ ]]
    [ "$(cat "$d/$new")" = "etcd snapshot" ]
    [ "$(stat -c %a "$d/$new")" = 600 ]
    [ "$(stat -c %a "$d")" = 700 ]
    [ "$(find "$d" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "etcd-20010104T020000Z.db etcd-20010105T020000Z.db $new etcd-manual.db notes.txt " ]
    [[ $output == *"saved $d/$new"* ]]
    [[ $output == *"deleted the old snapshot $d/etcd-20010101T020000Z.db"* ]]
    [ ! -e "$ROOT/var/lib/etcd/kubeadm-cluster-snapshot.db" ]
}

@test "the program: no etcd container is an error naming what to check" {
    step etcd-backup create
    backup 3
    [ "$status" -eq 1 ]
    [[ $stderr == *"no running etcd container on "*": is etcd up? See 'crictl ps -a --name etcd' and 'journalctl -u kubelet'"* ]]
}
