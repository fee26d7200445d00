# shellcheck shell=bash
# Lab hosts (host.sh up --lab): the stand-ins' part on a host that runs the real Kubernetes
# programs. Sourced by lib.sh. On a lab host:
#   - a package install puts the lab's real binaries in place (test/lab/build.sh built them):
#     kubeadm, kubelet, kubectl at the version asked for (a version the lab did not build is
#     "not in the repo"), crictl (cri-tools), the reference CNI plugins (kubernetes-cni), and
#     containerd with runc (containerd.io: Debian's 1.6 or the lab's 2.x, per host);
#   - systemctl supervises containerd and the kubelet for real (lab_unit_* below): it starts them
#     as the packages' units would, restarts them when they exit (Restart=always), stops them, and
#     keeps their output in /var/log/kc-lab/<unit>.log;
#   - sysctl writes the per-network-namespace keys it is given (net.ipv4.*, net.ipv6.*,
#     net.bridge.*) to the host's own /proc/sys/net as well.
# $KCS_STATE/lab holds the host's lab settings as KEY=VALUE lines: cache (the lab build cache),
# containerd (1: Debian's 1.6, 2: the lab's 2.x), containerd2 (its version).

kcs_lab() { [ -f "$KCS_STATE/lab" ]; }
kcs_lab_get() { sed -n "s/^$1=//p" "$KCS_STATE/lab"; }

# Where the lab's real binaries of an installed package live.
lab_kube_bin() { # NAME VERSION
    printf '%s/kube/v%s/bin/%s' "$(kcs_lab_get cache)" "$2" "$1"
}
lab_containerd_dir() {
    if [ "$(kcs_lab_get containerd)" = 1 ]; then
        printf '%s/containerd/debian/bin' "$(kcs_lab_get cache)"
    else
        printf '%s/containerd/v%s/bin' "$(kcs_lab_get cache)" "$(kcs_lab_get containerd2)"
    fi
}
lab_runc() { printf '%s/containerd/debian/bin/runc' "$(kcs_lab_get cache)"; }
lab_dir_of() { # PATTERN: the one directory of the cache matching PATTERN
    local d
    for d in $(kcs_lab_get cache)/$1; do [ -d "$d" ] && printf '%s' "$d" && return 0; done
    return 1
}

# The version `containerd --version` reports, e.g. 1.6.20 or 2.4.2.
lab_containerd_version() {
    "$(lab_containerd_dir)/containerd" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | sed -n 1p
}

# lab_has_package NAME VERSION: the lab built NAME at VERSION ("" = any).
lab_has_package() {
    case $1 in
    kubeadm | kubelet | kubectl) [ -n "$2" ] && [ -x "$(lab_kube_bin "$1" "$2")" ] ;;
    *) return 0 ;;
    esac
}

# The newest version of a Kubernetes minor the lab built ("" when none).
lab_kube_version_of_minor() { # MINOR (1.35)
    local d best=""
    for d in "$(kcs_lab_get cache)"/kube/v"$1".*; do
        [ -x "$d/bin/kubeadm" ] || continue
        best=${d##*/v}
    done
    printf '%s' "$best"
}

# lab_install NAME VERSION: the real files of package NAME.
lab_install() {
    local name=$1 v=$2 b d
    case $name in
    kubeadm)
        # The real kubeadm behind kc-lab-kubeadm, which adds the lab's deviations (test/hosts/README.md).
        printf '#!/bin/bash\n# kubeadm %s on a lab host: the real binary, through the lab wrapper\nexec /usr/local/bin/kc-lab-kubeadm %q "$@"\n' \
            "$v" "$(lab_kube_bin kubeadm "$v")" >/usr/local/bin/kubeadm
        chmod 755 /usr/local/bin/kubeadm ;;
    kubelet | kubectl) ln -sfn "$(lab_kube_bin "$name" "$v")" "/usr/local/bin/$name" ;;
    cri-tools)
        d=$(lab_dir_of 'crictl/v*/bin') || { echo "lab: crictl is not built" >&2; return 1; }
        ln -sfn "$d/crictl" /usr/local/bin/crictl ;;
    kubernetes-cni)
        d=$(lab_dir_of 'cni/v*/bin') || { echo "lab: the CNI plugins are not built" >&2; return 1; }
        mkdir -p /opt/cni/bin
        for b in "$d"/*; do cp -f "$b" "/opt/cni/bin/${b##*/}"; done ;;
    containerd.io)
        d=$(lab_containerd_dir)
        for b in containerd containerd-shim-runc-v2 ctr; do ln -sfn "$d/$b" "/usr/local/bin/$b"; done
        ln -sfn "$(lab_runc)" /usr/local/bin/runc ;;
    esac
}

lab_uninstall() { # NAME
    local b
    case $1 in
    kubeadm | kubelet | kubectl) rm -f "/usr/local/bin/$1" ;;
    cri-tools) rm -f /usr/local/bin/crictl ;;
    containerd.io) for b in containerd containerd-shim-runc-v2 ctr runc; do rm -f "/usr/local/bin/$b"; done ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Supervised units: containerd and the kubelet run for real.

LAB_UNITS=/run/kc-lab/units

lab_supervised() { # UNIT
    kcs_lab || return 1
    case $1 in containerd.service | kubelet.service) return 0 ;; *) return 1 ;; esac
}

lab_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
lab_unit_main() { cat "$LAB_UNITS/$1.main" 2>/dev/null || true; }
lab_unit_running() { lab_pid_alive "$(lab_unit_main "$1")"; }

# lab_unit_start UNIT: starts the unit's supervisor unless its process runs; containerd is
# Type=notify in its unit: start returns once it answers on its socket.
lab_unit_start() {
    local u=$1
    mkdir -p "$LAB_UNITS" /var/log/kc-lab
    if lab_unit_running "$u"; then return 0; fi
    lab_unit_stop "$u"
    rm -f "$LAB_UNITS/$u.stop" "$LAB_UNITS/$u.main"
    # (setsid: its own session; the supervisor closes every inherited descriptor, such as a step's host lock)
    setsid /usr/local/bin/kc-lab-unit "$u" </dev/null >>"/var/log/kc-lab/$u.log" 2>&1 &
    echo $! >"$LAB_UNITS/$u.supervisor"
    for _ in $(seq 1 300); do
        if lab_unit_running "$u"; then
            [ "$u" != containerd.service ] && return 0
            [ -S /run/containerd/containerd.sock ] && ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1 && return 0
        fi
        lab_pid_alive "$(cat "$LAB_UNITS/$u.supervisor")" || break
        sleep 0.1
    done
    echo "Job for $u failed because the control process exited with error code." >&2
    echo "See /var/log/kc-lab/$u.log on this host for details." >&2
    return 1
}

# lab_unit_stop UNIT: stops the supervisor and then the main process (KillMode=process: the
# containers' shims keep running, as with the real units), TERM first, KILL after 90 s.
lab_unit_stop() {
    local u=$1 sup main
    mkdir -p "$LAB_UNITS"
    : >"$LAB_UNITS/$u.stop"
    sup=$(cat "$LAB_UNITS/$u.supervisor" 2>/dev/null || true)
    main=$(lab_unit_main "$u")
    if lab_pid_alive "$sup"; then kill -TERM "$sup" 2>/dev/null || true; fi
    if lab_pid_alive "$main"; then
        kill -TERM "$main" 2>/dev/null || true
        for _ in $(seq 1 900); do lab_pid_alive "$main" || break; sleep 0.1; done
        if lab_pid_alive "$main"; then kill -KILL "$main" 2>/dev/null || true; fi
    fi
    for _ in $(seq 1 50); do lab_pid_alive "$sup" || break; sleep 0.1; done
    rm -f "$LAB_UNITS/$u.main" "$LAB_UNITS/$u.supervisor"
    if [ "$u" = containerd.service ]; then rm -f /run/containerd/containerd.sock; fi
}

# ---------------------------------------------------------------------------------------------

# lab_sysctl_apply KEY VALUE: a per-network-namespace key written to this host's /proc/sys/net.
lab_sysctl_apply() {
    kcs_lab || return 0
    [[ $1 =~ ^net\.(ipv4|ipv6|bridge)\. ]] || return 0
    local p=/proc/sys/${1//.//}
    [ -w "$p" ] || return 0
    printf '%s\n' "$2" >"$p"
}

lab_sysctl_get() { # KEY: the host's real value of a per-network-namespace key (1 = not one)
    kcs_lab || return 1
    [[ $1 =~ ^net\.(ipv4|ipv6|bridge)\. ]] || return 1
    local p=/proc/sys/${1//.//}
    [ -r "$p" ] || return 1
    cat "$p"
}
