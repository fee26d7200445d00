#!/usr/bin/env bash
# Installs the step scripts uploaded beside it (the SSH user's ~/.kubeadm-cluster/<bundle>/, where
# the program's CopyToRemote put them) into /var/lib/kubeadm-cluster/steps, as root:
#   - every file is checked against the bundle's MANIFEST (sha256sum's format) first;
#   - a file is copied (root, 0600) only when it is missing or different there;
#   - files the MANIFEST no longer lists (an earlier version's) are removed;
#   - the upload goes; .bundle records which bundle is installed.
# Run by the host's install-steps command: [sudo -n] bash <upload>/install.sh HOST BUNDLE
set -euo pipefail
export LC_ALL=C
host=$1 bundle=$2
src=$(cd "$(dirname "$0")" && pwd)
dst=/var/lib/kubeadm-cluster/steps

log() { printf '[%s] %s\n' "$host" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "$host" "$*" >&2
    exit 1
}

[[ -f $src/MANIFEST ]] || die "the uploaded step files in $src have no MANIFEST: upload them again (pulumi up)"
if ! (cd "$src" && sha256sum --quiet --strict -c MANIFEST) >&2; then
    die "the uploaded step files in $src do not match their MANIFEST (a copy cut short?): run pulumi up again"
fi
umask 077
mkdir -p "$dst"
chmod 0700 /var/lib/kubeadm-cluster "$dst"
changed=0 removed=0
while read -r sum file; do
    if [[ -f $dst/$file ]] && [[ $(sha256sum <"$dst/$file" | cut -c1-64) == "$sum" ]]; then continue; fi
    install -m 0600 "$src/$file" "$dst/.$file.new"
    mv -f "$dst/.$file.new" "$dst/$file"
    changed=$((changed + 1))
done <"$src/MANIFEST"
for f in "$dst"/*; do
    [[ -e $f ]] || continue
    if ! awk -v f="${f##*/}" '$2 == f { found = 1 } END { exit !found }' "$src/MANIFEST"; then
        rm -f "$f"
        removed=$((removed + 1))
    fi
done
printf '%s\n' "$bundle" >"$dst/.bundle"
rm -rf "$src"
rmdir "$(dirname "$src")" 2>/dev/null || true
log "step scripts (bundle $bundle) in place in $dst: $changed new or changed, $removed removed"
