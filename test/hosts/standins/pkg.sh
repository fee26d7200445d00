# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# yum / dnf stand-in (sourced by standins/yum and standins/dnf after lib.sh).
# Installs nothing real: records packages in the rpm state and "installs" the packaged stand-ins
# (kubeadm, containerd, ...) onto PATH. It checks what the real one would need: the repo that
# carries the package (Kubernetes packages from a repo whose baseurl has the version's v1.NN, not
# excluded unless --disableexcludes; Docker's packages from a docker-ce repo) and, on CentOS 7,
# that no enabled repo still points at the dead mirrorlist.centos.org / mirror.centos.org.

KCS_BIN_STASH=$KCS_STATE/bin
REPOS_DIR=/etc/yum.repos.d

pkg_binaries() { # package -> stand-in commands it provides
    case $1 in
    kubeadm) echo kubeadm ;; kubelet) echo kubelet ;; kubectl) echo kubectl ;; cri-tools) echo crictl ;;
    containerd.io) echo "containerd ctr" ;; docker-ce-cli) echo docker ;; ipvsadm) echo ipvsadm ;;
    firewalld) echo firewall-cmd ;; chrony) echo chronyc ;; iptables | iptables-nft) echo "iptables iptables-save ip6tables" ;;
    esac
}

pkg_deps() {
    case $1 in
    kubeadm) echo "cri-tools kubernetes-cni" ;;
    kubelet) echo kubernetes-cni ;;
    containerd.io) echo container-selinux ;;
    docker-ce) echo "docker-ce-cli containerd.io" ;;
    esac
}

pkg_kind() { # kube | docker | url | base
    case $1 in
    *://* | *.rpm) echo url ;;
    kubeadm* | kubelet* | kubectl* | cri-tools* | kubernetes-cni*) echo kube ;;
    containerd.io* | docker-ce* | docker-buildx-plugin* | docker-compose-plugin*) echo docker ;;
    *) echo base ;;
    esac
}

# Split "name[-version[-release[.arch]]]" into PKG_NAME PKG_VER PKG_REL.
pkg_split() {
    local s=$1
    PKG_NAME=$s PKG_VER="" PKG_REL=""
    if [[ $s =~ ^(.+)-([0-9][^-]*)$ ]]; then
        PKG_NAME=${BASH_REMATCH[1]} PKG_VER=${BASH_REMATCH[2]}
        if [[ $PKG_NAME =~ ^(.+)-([0-9][^-]*)$ ]]; then
            PKG_NAME=${BASH_REMATCH[1]} PKG_REL=$PKG_VER PKG_VER=${BASH_REMATCH[2]}
        fi
    fi
    PKG_VER=${PKG_VER#*:}
}

# repo sections as lines "id<TAB>enabled<TAB>baseurl<TAB>mirrorlist<TAB>exclude"
repo_sections() {
    local f
    for f in "$REPOS_DIR"/*.repo; do
        [ -f "$f" ] || continue
        awk -v OFS='\t' '
            function flush() { if (id != "") print id, en, bu, ml, ex }
            /^[ \t]*\[/ { flush(); id = $0; gsub(/[][ \t]/, "", id); en = 1; bu = ""; ml = ""; ex = ""; next }
            /^[ \t]*enabled[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); en = v; next }
            /^[ \t]*baseurl[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); bu = v; next }
            /^[ \t]*mirrorlist[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); ml = v; next }
            /^[ \t]*metalink[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); ml = v; next }
            /^[ \t]*exclude[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); ex = v; next }
            END { flush() }' "$f"
    done
}

pkg_err() { echo "$*" >&2; }

# CentOS 7's repos moved to the vault: a yum that still uses the old mirrors cannot do anything.
check_centos7_mirrors() {
    [ "$(kcs_os)" = centos7 ] || return 0
    local id en bu ml ex
    while IFS=$'\t' read -r id en bu ml ex; do
        [ "$en" = 1 ] || continue
        if [ -z "$bu" ] && [[ $ml == *mirrorlist.centos.org* ]]; then
            pkg_err "Could not retrieve mirrorlist ${ml//\$releasever/7} error was"
            pkg_err "14: curl#6 - \"Could not resolve host: mirrorlist.centos.org; Unknown error\""
            pkg_err ""
            pkg_err " One of the configured repositories failed (CentOS-7 - ${id^})"
            pkg_err "Cannot find a valid baseurl for repo: $id/7/x86_64"
            exit 1
        fi
        if [[ $bu == *//mirror.centos.org/* ]]; then
            pkg_err "http://mirror.centos.org/centos/7/os/x86_64/repodata/repomd.xml: [Errno 14] curl#6 - \"Could not resolve host: mirror.centos.org; Unknown error\""
            pkg_err "Cannot find a valid baseurl for repo: $id/7/x86_64"
            exit 1
        fi
    done < <(repo_sections)
}

# Find the repo for a package; prints "version-release" to install, or fails like the real one.
resolve_pkg() { # SPEC -> sets PKG_NAME and RESOLVED (version-release)
    local spec=$1 kind id en bu ml ex found="" minor
    kind=$(pkg_kind "$spec")
    pkg_split "$spec"
    local dist
    dist=$(kcs_dist)
    case $kind in
    kube)
        if [ -n "$PKG_VER" ] && [[ $PKG_NAME =~ ^kube(adm|let|ctl)$ ]]; then minor=${PKG_VER%.*}; else minor=""; fi
        while IFS=$'\t' read -r id en bu ml ex; do
            [ "$en" = 1 ] || continue
            [[ $bu =~ /v(1\.[0-9]+)/ ]] || continue
            [ -z "$minor" ] || [ "${BASH_REMATCH[1]}" = "$minor" ] || continue
            if [[ " $ex " == *" $PKG_NAME "* || " $ex " == *" ${PKG_NAME}* "* ]] && [[ " $DISABLE_EXCLUDES " != *" $id "* && " $DISABLE_EXCLUDES " != *" all "* ]]; then
                continue
            fi
            found=${BASH_REMATCH[1]}
            break
        done < <(repo_sections)
        [ -n "$found" ] || return 1
        # A lab host's repo holds exactly the versions the lab built.
        if kcs_lab && [[ $PKG_NAME =~ ^kube(adm|let|ctl)$ ]]; then
            PKG_VER=${PKG_VER:-$(lab_kube_version_of_minor "$found")}
            lab_has_package "$PKG_NAME" "$PKG_VER" || return 1
        fi
        case $PKG_NAME in
        kubeadm | kubelet | kubectl) RESOLVED=${PKG_VER:-$found.9}-${PKG_REL:-150500.1.1} ;;
        cri-tools) RESOLVED=${PKG_VER:-$found.0}-${PKG_REL:-150500.1.1} ;;
        kubernetes-cni) RESOLVED=${PKG_VER:-1.6.0}-${PKG_REL:-150500.1.1} ;;
        esac
        ;;
    docker)
        while IFS=$'\t' read -r id en bu ml ex; do
            [ "$en" = 1 ] || continue
            if [[ $id == docker-ce* ]] && [ -n "$bu" ]; then found=1; break; fi
        done < <(repo_sections)
        [ -n "$found" ] || return 1
        case $PKG_NAME in
        containerd.io)
            local cv
            cv=$(cat "$KCS_STATE/containerd-version")
            RESOLVED=${PKG_VER:-$cv}-${PKG_REL:-1.${dist}} ;;
        docker-ce | docker-ce-cli) RESOLVED=${PKG_VER:-28.5.1}-${PKG_REL:-1.${dist}} ;;
        *) RESOLVED=${PKG_VER:-0.29.1}-${PKG_REL:-1.${dist}} ;;
        esac
        ;;
    url)
        local file=${spec##*/}
        file=${file%.rpm}
        file=${file%.*} # arch
        pkg_split "$file"
        RESOLVED=$PKG_VER-$PKG_REL
        ;;
    base)
        RESOLVED=${PKG_VER:-1.0}-${PKG_REL:-1.${dist}}
        ;;
    esac
}

pkg_put() { # NAME VER-REL
    local arch=x86_64 b
    case $1 in *-plugin | firewalld | yum | dnf) arch=noarch ;; esac
    echo "$1 $2 $arch" >"$KCS_STATE/rpm/$1"
    for b in $(pkg_binaries "$1"); do
        if [ -f "$KCS_BIN_STASH/$b" ]; then install -m 755 "$KCS_BIN_STASH/$b" "/usr/local/bin/$b"; fi
    done
    if kcs_lab; then lab_install "$1" "${2%-*}"; fi
    # files the real packages put where scripts look for them
    case $1 in
    kubelet) mkdir -p /etc/sysconfig /var/lib/kubelet
        [ -f /etc/sysconfig/kubelet ] || echo "KUBELET_EXTRA_ARGS=" >/etc/sysconfig/kubelet ;;
    containerd.io) mkdir -p /etc/containerd
        [ -f /etc/containerd/config.toml ] || printf '%s\n' '#   Copyright 2018-2022 Docker Inc.' '' 'disabled_plugins = ["cri"]' >/etc/containerd/config.toml ;;
    kubernetes-cni) mkdir -p /opt/cni/bin ;;
    esac
}

pkg_remove() {
    local b
    rm -f "$KCS_STATE/rpm/$1"
    for b in $(pkg_binaries "$1"); do rm -f "/usr/local/bin/$b"; done
    if kcs_lab; then lab_uninstall "$1"; fi
}

pkg_main() {
    local args=() a sub="" prev=""
    DISABLE_EXCLUDES=""
    for a in "$@"; do
        if [ "$prev" = --disableexcludes ]; then DISABLE_EXCLUDES+=" $a"; prev=""; continue; fi
        prev=$a
        case $a in
        --disableexcludes) ;;
        --disableexcludes=*) DISABLE_EXCLUDES+=" ${a#*=}" ;;
        -y | -q | --quiet | --assumeyes | --nogpgcheck | --allowerasing | --best | --nobest | --showduplicates | -C | --cacheonly) ;;
        --setopt=* | --enablerepo=* | --disablerepo=* | -e* | -d* | --errorlevel=* | --debuglevel=* | --releasever=*) ;;
        -*) ;;
        *) if [ -z "$sub" ]; then sub=$a; else args+=("$a"); fi ;;
        esac
    done
    case $sub in
    install | reinstall | update | upgrade | downgrade)
        check_centos7_mirrors
        local todo=() names=() spec
        for spec in "${args[@]}"; do
            if ! resolve_pkg "$spec"; then
                if [ "$KCS_TOOL" = yum ] && [ "$(kcs_os)" = centos7 ]; then
                    echo "No package $spec available."
                    pkg_err "Error: Nothing to do"
                else
                    pkg_err "No match for argument: $spec"
                    pkg_err "Error: Unable to find a match: $spec"
                fi
                exit 1
            fi
            if kcs_rpm_installed "$PKG_NAME" && [ "$(awk '{print $2}' "$KCS_STATE/rpm/$PKG_NAME")" = "$RESOLVED" ]; then
                echo "Package $(kcs_rpm_nvra "$PKG_NAME") is already installed."
                continue
            fi
            [ "$sub" != update ] && [ "$sub" != upgrade ] || kcs_rpm_installed "$PKG_NAME" || continue
            todo+=("$PKG_NAME $RESOLVED")
            names+=("$PKG_NAME")
            # dependencies the real packages pull in
            local dep
            for dep in $(pkg_deps "$PKG_NAME"); do
                kcs_rpm_installed "$dep" && continue
                [[ " ${names[*]} " != *" $dep "* ]] || continue
                resolve_pkg "$dep" || continue
                todo+=("$PKG_NAME $RESOLVED")
                names+=("$PKG_NAME")
            done
        done
        if [ "${#todo[@]}" -eq 0 ]; then
            echo "Dependencies resolved."
            echo "Nothing to do."
            echo "Complete!"
            return 0
        fi
        local i half=$(( (${#todo[@]} + 1) / 2 ))
        echo "Installed:"
        for i in "${!todo[@]}"; do
            if [ "$KCS_FAIL" = partial ] && [ "$i" -ge "$half" ]; then
                echo "Error: Transaction test error: interrupted" >&2
                exit 1
            fi
            # shellcheck disable=SC2086 # "name version-release"
            pkg_put ${todo[$i]}
            echo "  $(kcs_rpm_nvra "${names[$i]}")"
        done
        kcs_partial_point
        echo ""
        echo "Complete!"
        ;;
    remove | erase)
        for a in "${args[@]}"; do
            pkg_split "$a"
            if kcs_rpm_installed "$PKG_NAME"; then pkg_remove "$PKG_NAME"; echo "Removed: $PKG_NAME"; fi
        done
        echo "Complete!"
        ;;
    makecache | check-update | repolist)
        check_centos7_mirrors
        [ "$sub" != makecache ] || echo "Metadata cache created."
        ;;
    clean) echo "0 files removed" ;;
    list)
        local f n v r
        for f in "$KCS_STATE"/rpm/*; do
            [ -f "$f" ] || continue
            read -r n v r <"$f"
            if [ "${#args[@]}" -gt 0 ] && [ "${args[0]}" != installed ] && [[ " ${args[*]} " != *" $n "* ]]; then continue; fi
            printf '%-40s %-30s %s\n' "$n.$r" "$v" "@System"
        done
        ;;
    versionlock)
        mkdir -p "$KCS_STATE/versionlock"
        if [ "${args[0]:-}" = add ]; then for a in "${args[@]:1}"; do : >"$KCS_STATE/versionlock/$a"; done; fi
        ;;
    config-manager)
        local url=""
        for a in "$@"; do case $a in --add-repo=*) url=${a#*=} ;; esac; done
        if [ -z "$url" ]; then
            local prev=""
            for a in "$@"; do [ "$prev" != --add-repo ] || url=$a; prev=$a; done
        fi
        if [ -n "$url" ]; then
            local name=${url##*/}
            echo "Adding repo from: $url"
            case $name in
            docker-ce.repo)
                # shellcheck disable=SC2016 # $basearch and $releasever are yum variables
                printf '[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=%s/$releasever/$basearch/stable\nenabled=1\ngpgcheck=1\ngpgkey=%s/gpg\n' \
                    "${url%/*}" "${url%/*}" >"$REPOS_DIR/$name" ;;
            *) printf '[%s]\nname=%s\nbaseurl=%s\nenabled=1\n' "${name%.repo}" "${name%.repo}" "$url" >"$REPOS_DIR/$name" ;;
            esac
        fi
        ;;
    "" | help) echo "usage: $KCS_TOOL [options] COMMAND" ;;
    *) ;;
    esac
}
