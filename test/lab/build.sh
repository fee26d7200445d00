#!/usr/bin/env bash
# Builds what the real-Kubernetes lab runs, into a cache outside the work tree, keyed by version:
# kubeadm, kubelet, kubectl, kube-apiserver, kube-controller-manager, kube-scheduler and kube-proxy
# from k8s.io/kubernetes; etcd, CoreDNS, containerd 2.x, crictl and the reference CNI plugins from
# their Go modules; containerd 1.6 and runc from Debian's packages; a static pause; and the
# control-plane images, each a single-layer image under the exact name `kubeadm config images list`
# prints. Versions: versions.env. A second run with nothing changed only checks stamps.
#
#   build.sh [all]          everything the lab tests need (npm test runs this)
#   build.sh kube VERSION   one Kubernetes release: binaries and images
#   build.sh validators     kubeadm and kubelet-config-check for every supported minor
#   build.sh dir            prints the cache directory
#
# Cache: $KC_LAB_CACHE (default /var/cache/kubeadm-cluster-lab); Go's own caches as usual
# (GOCACHE, GOMODCACHE). Every artifact directory holds a .stamp with the hash of the recipe that
# built it; a changed recipe or version rebuilds that artifact only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lab/versions.env
. "$HERE/versions.env"
CACHE=${KC_LAB_CACHE:-/var/cache/kubeadm-cluster-lab}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
PROXY=${GOPROXY:-https://proxy.golang.org}
PROXY=${PROXY%%,*}

log() { printf '[lab build] %s\n' "$*" >&2; }
die() {
    printf '[lab build] ERROR: %s\n' "$*" >&2
    printf '[lab build] the lab is not built; fix the cause and run: bash test/lab/build.sh\n' >&2
    exit 1
}
on_error() {
    printf '[lab build] failed (exit %s) at line %s: %s\n' "$1" "$2" "$3" >&2
    printf '[lab build] retry with: bash test/lab/build.sh   (a failed download: is the Go module proxy %s or Debian'"'"'s mirror reachable? out of memory: the build needs about 3 GB free)\n' "$PROXY" >&2
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
set -E

# stamp_ok DIR KEY: DIR was built by the recipe KEY.
stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" >"$1/.stamp"; }
# recipe KEY PARTS...: a hash of the functions and files that build an artifact, and its version.
recipe() {
    local part
    {
        for part in "$@"; do
            if declare -F "$part" >/dev/null; then declare -f "$part"; elif [ -f "$part" ]; then cat "$part"; else printf '%s\n' "$part"; fi
        done
    } | sha256sum | cut -c1-16
}

# gomod DIR: a throwaway module in DIR (recreated), for `go get` and `go build` of other modules.
gomod() {
    rm -rf "$1"
    mkdir -p "$1"
    printf 'module kclab\n\ngo 1.24\n' >"$1/go.mod"
}

# ---------------------------------------------------------------------------------------------
# Kubernetes: k8s.io/kubernetes at VERSION needs one replace line per staging module
# (k8s.io/api => k8s.io/api v0.MINOR.PATCH, ...), which its own go.mod points at ./staging.

kube_module() { # DIR VERSION: the module, with kubelet-config-check inside it
    local dir=$1 v=$2 mod
    gomod "$dir"
    mod=$(curl -fsS --retry 3 "$PROXY/k8s.io/kubernetes/@v/v$v.mod") || die "could not fetch k8s.io/kubernetes v$v's go.mod from $PROXY"
    {
        printf 'require k8s.io/kubernetes v%s\n' "$v"
        sed -n -E 's#^[[:space:]]*(k8s\.io/[a-z0-9-]+) => \./staging/src/.*#replace \1 => \1 v0.'"${v#1.}"'#p' <<<"$mod"
    } >>"$dir/go.mod"
    mkdir -p "$dir/kubelet-config-check"
    cp "$HERE"/kubelet-config-check/*.go "$dir/kubelet-config-check/"
    # No `go mod tidy`: it would fetch the modules of every test of every dependency, and the module
    # proxy does not serve every staging module of every release; `go build -mod=mod` fetches
    # only what the programs import.
}

kube_ldflags() { # VERSION: what the release build stamps into every binary
    local v=$1 minor p out="-s -w"
    minor=${v#1.}
    minor=${minor%%.*}
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        out+=" -X $p.gitVersion=v$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
    done
    printf '%s' "$out"
}

# kube_build VERSION OUT CMD...: k8s.io/kubernetes/cmd/CMD for each CMD (and kubelet-config-check)
kube_build() {
    local v=$1 out=$2 src=$CACHE/src/kube-v$1 pkgs=() c tags="" kdir
    shift 2
    kube_module "$src" "$v"
    for c in "$@"; do
        if [ "$c" = kubelet-config-check ]; then pkgs+=(./kubelet-config-check); else pkgs+=("k8s.io/kubernetes/cmd/$c"); fi
    done
    # The kubelet's config loader takes a context in newer minors.
    kdir=$(cd "$src" && go mod download -json "k8s.io/kubernetes@v$v" | sed -n -E 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
    [ -f "$kdir/pkg/kubelet/kubeletconfig/configfiles/configfiles.go" ] || die "could not download k8s.io/kubernetes v$v from $PROXY"
    if grep -q 'Load(ctx context.Context)' "$kdir/pkg/kubelet/kubeletconfig/configfiles/configfiles.go"; then tags=kc_load_ctx; fi
    mkdir -p "$out"
    log "building $* at v$v (cold: several minutes, about 2 GB of memory)"
    (cd "$src" && go build -trimpath -tags "$tags" -ldflags "$(kube_ldflags "$v")" -o "$out/" "${pkgs[@]}") ||
        die "go build of Kubernetes v$v failed (see above)"
}

build_kube() { # VERSION: binaries and images of one release
    local v=$1 dir=$CACHE/kube/v$1 key
    key=$(recipe build_kube kube_build kube_module kube_ldflags "$HERE/kubelet-config-check/main.go" "$HERE/kubelet-config-check/load_ctx.go" "$HERE/kubelet-config-check/load_noctx.go" "$v")
    if ! stamp_ok "$dir" "$key"; then
        rm -rf "$dir"
        kube_build "$v" "$dir/bin" kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet-config-check
        [ "$("$dir/bin/kubeadm" version -o short)" = "v$v" ] || die "the kubeadm built for v$v reports $("$dir/bin/kubeadm" version -o short)"
        stamp_set "$dir" "$key"
    fi
    build_images "$v"
}

build_validators() { # kubeadm and kubelet-config-check for every minor in KC_LAB_VALIDATE
    local v dir key
    for v in $KC_LAB_VALIDATE; do
        # A release the lab runs in full has both already.
        if [ "$v" = "$KC_LAB_KUBE" ] || [ "$v" = "$KC_LAB_KUBE_NEXT" ]; then continue; fi
        dir=$CACHE/validate/v$v
        key=$(recipe build_validators kube_build kube_module kube_ldflags "$HERE/kubelet-config-check/main.go" "$HERE/kubelet-config-check/load_ctx.go" "$HERE/kubelet-config-check/load_noctx.go" "$v")
        stamp_ok "$dir" "$key" && continue
        rm -rf "$dir"
        kube_build "$v" "$dir/bin" kubeadm kubelet-config-check
        stamp_set "$dir" "$key"
    done
}

# ---------------------------------------------------------------------------------------------
# Other Go programs: `go get MODULE@VERSION` in a throwaway module, then `go build PACKAGE`.

# go_build NAME VERSION OUT MODULE@VERSION... -- [-tags TAGS] [-X VAR=VALUE]... BIN=PACKAGE...
go_build() {
    local name=$1 v=$2 out=$3 src=$CACHE/src/$1-v$2 mods=() tags="" ld="-s -w" bin pkg
    shift 3
    while [ "$1" != -- ]; do mods+=("$1"); shift; done
    shift
    while [ "${1:-}" = -tags ] || [ "${1:-}" = -X ]; do
        if [ "$1" = -tags ]; then tags=$2; else ld+=" -X $2"; fi
        shift 2
    done
    gomod "$src"
    log "building $name v$v"
    (cd "$src" && go get "${mods[@]}" >"$src/get.log" 2>&1) || { tail -20 "$src/get.log" >&2; die "go get ${mods[*]} failed (log: $src/get.log)"; }
    mkdir -p "$out"
    for bin in "$@"; do
        pkg=${bin#*=}
        bin=${bin%%=*}
        (cd "$src" && go build -trimpath -tags "$tags" -ldflags "$ld" -o "$out/$bin" "$pkg") || die "go build of $pkg failed (see above)"
    done
}

build_etcd() { # VERSION (3.6.6)
    local v=$1 dir=$CACHE/etcd/v$1 key
    key=$(recipe build_etcd go_build "$v")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    go_build etcd "$v" "$dir/bin" "go.etcd.io/etcd/server/v3@v$v" "go.etcd.io/etcd/etcdctl/v3@v$v" "go.etcd.io/etcd/etcdutl/v3@v$v" -- \
        etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3
    stamp_set "$dir" "$key"
}

build_coredns() { # VERSION (1.13.1)
    local v=$1 dir=$CACHE/coredns/v$1 key
    key=$(recipe build_coredns go_build "$v")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    go_build coredns "$v" "$dir/bin" "github.com/coredns/coredns@v$v" -- coredns=github.com/coredns/coredns
    stamp_set "$dir" "$key"
}

build_containerd2() {
    local v=$KC_LAB_CONTAINERD2 dir=$CACHE/containerd/v$KC_LAB_CONTAINERD2 key m=github.com/containerd/containerd/v2
    key=$(recipe build_containerd2 go_build "$v")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    # Without cgo: no btrfs snapshotter (the lab uses overlayfs).
    go_build containerd "$v" "$dir/bin" "$m@v$v" -- -tags "no_btrfs" -X "$m/version.Version=v$v" -X "$m/version.Revision=kubeadm-cluster-lab" \
        containerd=$m/cmd/containerd containerd-shim-runc-v2=$m/cmd/containerd-shim-runc-v2 ctr=$m/cmd/ctr
    "$dir/bin/containerd" --version | grep -q " v$v " || die "the containerd built reports $("$dir/bin/containerd" --version)"
    stamp_set "$dir" "$key"
}

build_crictl() {
    local v=$KC_LAB_CRI_TOOLS dir=$CACHE/crictl/v$KC_LAB_CRI_TOOLS key
    key=$(recipe build_crictl go_build "$v")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    go_build crictl "$v" "$dir/bin" "sigs.k8s.io/cri-tools@v$v" -- crictl=sigs.k8s.io/cri-tools/cmd/crictl
    stamp_set "$dir" "$key"
}

build_cni() {
    local v=$KC_LAB_CNI_PLUGINS dir=$CACHE/cni/v$KC_LAB_CNI_PLUGINS key m=github.com/containernetworking/plugins p bins=()
    key=$(recipe build_cni go_build "$v")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    for p in bridge host-local loopback portmap; do
        case $p in host-local) bins+=("$p=$m/plugins/ipam/$p") ;; portmap) bins+=("$p=$m/plugins/meta/$p") ;; *) bins+=("$p=$m/plugins/main/$p") ;; esac
    done
    go_build cni-plugins "$v" "$dir/bin" "$m@v$v" -- "${bins[@]}"
    stamp_set "$dir" "$key"
}

# ---------------------------------------------------------------------------------------------
# Debian's containerd 1.6 and runc, unpacked into the cache (not installed on this machine).

build_debian_runtime() {
    local dir=$CACHE/containerd/debian key tmp p
    key=$(recipe build_debian_runtime "$KC_LAB_DEBIAN_CONTAINERD_MINOR" "$(apt-cache policy containerd runc 2>/dev/null | grep Candidate)")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    tmp=$(mktemp -d)
    log "fetching Debian's containerd and runc"
    if ! (cd "$tmp" && apt-get download containerd runc >/dev/null 2>"$tmp/err"); then
        # Stale package lists name versions the mirror no longer has: refresh them once.
        if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
        (cd "$tmp" && apt-get download containerd runc >/dev/null 2>"$tmp/err") ||
            { cat "$tmp/err" >&2; die "apt-get download containerd runc failed (as root: apt-get update, then again)"; }
    fi
    mkdir -p "$dir/root" "$dir/bin"
    for p in "$tmp"/*.deb; do dpkg-deb -x "$p" "$dir/root"; done
    rm -rf "$tmp"
    for p in containerd containerd-shim-runc-v2 ctr runc; do
        ln -sf "../root/usr/bin/$p" "$dir/bin/$p"
        [ -x "$dir/bin/$p" ] || [ -x "$dir/root/usr/sbin/$p" ] || die "Debian's packages have no $p"
    done
    "$dir/bin/containerd" --version | grep -q " $KC_LAB_DEBIAN_CONTAINERD_MINOR\." ||
        die "Debian's containerd is $("$dir/bin/containerd" --version), the lab expects $KC_LAB_DEBIAN_CONTAINERD_MINOR.x"
    stamp_set "$dir" "$key"
}

build_pause() {
    local dir=$CACHE/pause key
    key=$(recipe build_pause "$HERE/pause.c")
    stamp_ok "$dir" "$key" && return 0
    rm -rf "$dir"
    mkdir -p "$dir/bin"
    gcc -static -O2 -Wall -o "$dir/bin/pause" "$HERE/pause.c" || die "gcc could not build pause (is libc6-dev installed?)"
    stamp_set "$dir" "$key"
}

# ---------------------------------------------------------------------------------------------
# Images: a docker-archive tar (what `docker save` writes, and `ctr images import` and
# `docker load` read) with one uncompressed layer holding the program.

# image_tar NAME:TAG ROOTFS OUT ENTRYPOINT...
image_tar() {
    local ref=$1 rootfs=$2 out=$3 work diff config cid entry="" a
    shift 3
    for a in "$@"; do entry+="${entry:+,}\"$a\""; done
    work=$(mktemp -d)
    tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --xattrs --xattrs-include='security.capability' -cf "$work/layer.tar" .
    diff=$(sha256sum "$work/layer.tar" | cut -c1-64)
    mkdir "$work/$diff"
    mv "$work/layer.tar" "$work/$diff/layer.tar"
    config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Entrypoint\":[$entry]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]},\"history\":[{\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"kubeadm-cluster lab (test/lab/build.sh)\"}]}"
    cid=$(printf '%s' "$config" | sha256sum | cut -c1-64)
    printf '%s' "$config" >"$work/$cid.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cid" "$ref" "$diff" >"$work/manifest.json"
    tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out.tmp" manifest.json "$cid.json" "$diff"
    mv "$out.tmp" "$out"
    rm -rf "$work"
}

# copy_with_libs ROOTFS FILE...: FILE and the shared libraries it loads, at the same paths.
copy_with_libs() {
    local root=$1 f lib
    shift
    for f in "$@"; do
        mkdir -p "$root$(dirname "$f")"
        cp -a "$f" "$root$f"
        if [ -L "$f" ]; then cp -a "$(readlink -f "$f")" "$root$(readlink -f "$f")"; fi
        for lib in $(ldd "$(readlink -f "$f")" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
            [ -e "$root$lib" ] && continue
            mkdir -p "$root$(dirname "$lib")"
            cp -aL "$lib" "$root$lib"
        done
    done
}

# image_file REF: where the image REF is cached.
image_file() { printf '%s/images/%s.tar\n' "$CACHE" "$(printf '%s' "$1" | tr '/:' '__')"; }

build_image() { # REF VERSION: one image of `kubeadm config images list`
    local ref=$1 v=$2 out name tag root key bin from
    out=$(image_file "$ref")
    name=${ref%:*}
    name=${name##*/}
    tag=${ref##*:}
    # The program inside, built first: its stamp is part of the image's.
    case $name in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy) from=$CACHE/kube/v$v ;;
    etcd) build_etcd "${tag%-*}"; from=$CACHE/etcd/v${tag%-*} ;;
    coredns) build_coredns "${tag#v}"; from=$CACHE/coredns/v${tag#v} ;;
    pause) build_pause; from=$CACHE/pause ;;
    *) die "no recipe for the image $ref" ;;
    esac
    key=$(recipe build_image image_tar copy_with_libs "$ref" "$(cat "$from/.stamp")")
    if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$key" ]; then return 0; fi
    root=$(mktemp -d)
    mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/var/run"
    chmod 1777 "$root/tmp"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
    case $name in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy)
        cp "$from/bin/$name" "$root/usr/local/bin/"
        if [ "$name" = kube-proxy ]; then
            # kube-proxy programs the node's rules with iptables-restore (iptables mode) or nft
            # (nftables mode): Debian's, with their libraries and xtables extensions.
            for bin in /usr/sbin/xtables-nft-multi /usr/sbin/nft; do
                [ -e "$bin" ] || die "$bin is missing (apt-get install iptables nftables): the kube-proxy image needs it"
                copy_with_libs "$root" "$bin"
            done
            mkdir -p "$root/usr/lib/x86_64-linux-gnu"
            cp -a /usr/lib/x86_64-linux-gnu/xtables "$root/usr/lib/x86_64-linux-gnu/"
            for bin in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
                ln -sfn xtables-nft-multi "$root/usr/sbin/$bin"
            done
        fi
        image_tar "$ref" "$root" "$out" "/usr/local/bin/$name"
        ;;
    etcd)
        cp "$from/bin/"{etcd,etcdctl,etcdutl} "$root/usr/local/bin/"
        mkdir -p "$root/var/lib/etcd"
        image_tar "$ref" "$root" "$out" /usr/local/bin/etcd
        ;;
    coredns)
        cp "$from/bin/coredns" "$root/coredns"
        image_tar "$ref" "$root" "$out" /coredns
        ;;
    pause)
        cp "$from/bin/pause" "$root/pause"
        image_tar "$ref" "$root" "$out" /pause
        ;;
    esac
    rm -rf "$root"
    printf '%s\n' "$key" >"$out.stamp"
    log "image $ref"
}

build_images() { # VERSION: every image kubeadm VERSION lists for registry.k8s.io
    local v=$1 ref
    mkdir -p "$CACHE/images"
    while read -r ref; do
        build_image "$ref" "$v"
    done < <("$CACHE/kube/v$v/bin/kubeadm" config images list --kubernetes-version "v$v" --image-repository registry.k8s.io 2>/dev/null)
}

# ---------------------------------------------------------------------------------------------

build_all() {
    local start=$SECONDS
    build_debian_runtime
    build_containerd2
    build_crictl
    build_cni
    build_pause
    build_kube "$KC_LAB_KUBE"
    build_kube "$KC_LAB_KUBE_NEXT"
    build_validators
    log "lab ready in $CACHE ($((SECONDS - start)) s)"
}

main() {
    local cmd=${1:-all}
    case $cmd in
    dir) printf '%s\n' "$CACHE"; return 0 ;;
    all | kube | validators) ;;
    *) die "usage: build.sh [all | kube VERSION | validators | dir]" ;;
    esac
    command -v go >/dev/null || die "go is not installed (Go 1.26 is needed)"
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.lock"
    flock 8
    case $cmd in
    all) build_all ;;
    kube) [ -n "${2:-}" ] || die "usage: build.sh kube VERSION"; build_debian_runtime; build_pause; build_kube "$2" ;;
    validators) build_validators ;;
    esac
}

main "$@"
