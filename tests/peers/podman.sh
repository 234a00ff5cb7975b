#!/usr/bin/env bash
# tests/peers/podman.sh - Podman's Docker-compatible API service for the tests.
#
#   podman.sh start STATE    write a private containers.conf/storage.conf under STATE
#                            (nothing in /etc is touched), build localhost/mini:1 from
#                            busybox-static, run `podman system service` on
#                            STATE/podman.sock, print the socket path once /_ping answers
#   podman.sh stop STATE     remove its containers (conmon outlives the service), stop the
#                            service by pid, reset the storage, unmount what is left under
#                            STATE, delete STATE
#   podman.sh restart STATE  stop the service and start it again (containers and the
#                            events log are kept)
#   podman.sh env STATE      print the exports for running the podman CLI on this state
#
# On this kind of machine (cgroup v1 hybrid, no systemd, no CAP_SYS_RESOURCE):
# runc (crun refuses hybrid cgroups), cgroupfs, the file events logger, and
# default ulimits below the hard limit.  Compat-API creates ignore netns="none":
# tests pass --network none.
# Exit: 0 ok, 1 failure, 77 when podman cannot run on this machine.
set -uo pipefail
IMAGE=${CTRAIL_PEER_IMAGE:-localhost/mini:1}
log() { echo "[podman-peer] $*" >&2; }

cmd=${1:-}
STATE=${2:-}
[ -n "$cmd" ] && [ -n "$STATE" ] || { echo "usage: podman.sh start|stop|restart|env STATE" >&2; exit 2; }

need() {
    local missing="" p
    for p in podman runc conmon busybox-static uidmap slirp4netns fuse-overlayfs catatonit \
        containernetworking-plugins curl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || { log "missing:$missing (run scripts/install-deps test as root)"; exit 77; }
    log "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2 ||
        { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $missing >&2; } ||
        { log "cannot install:$missing"; exit 77; }
}

ping_ok() { curl -sf --max-time 2 --unix-socket "$STATE/podman.sock" http://d/_ping >/dev/null 2>&1; }

write_conf() {
    local hard nofile
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=1048576
    nofile=$((hard < 1024 ? hard : 1024))
    mkdir -p "$STATE/root" "$STATE/run" "$STATE/tmp" "$STATE/volumes"
    cat >"$STATE/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE/run/events.log"
tmp_dir = "$STATE/tmp"
volume_path = "$STATE/volumes"
static_dir = "$STATE/root/libpod"
CONF
    cat >"$STATE/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$STATE/run"
graphroot = "$STATE/root"
CONF
}

use_state() {
    export CONTAINERS_CONF="$STATE/containers.conf" CONTAINERS_STORAGE_CONF="$STATE/storage.conf"
}

service_start() {
    rm -f "$STATE/podman.sock"
    setsid podman system service --time=0 "unix://$STATE/podman.sock" \
        >>"$STATE/service.log" 2>&1 </dev/null &
    echo $! >"$STATE/service.pid"
    for _ in $(seq 1 200); do
        ping_ok && return 0
        kill -0 "$(cat "$STATE/service.pid")" 2>/dev/null || break
        sleep 0.05
    done
    log "podman service does not answer on $STATE/podman.sock:"
    tail -n 5 "$STATE/service.log" >&2
    return 1
}

service_stop() {
    local pid
    [ -f "$STATE/service.pid" ] || return 0
    pid=$(cat "$STATE/service.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$STATE/service.pid" "$STATE/podman.sock"
}

case "$cmd" in
start)
    need
    mkdir -p "$STATE" || exit 1
    STATE=$(cd "$STATE" && pwd)
    [ -f "$STATE/containers.conf" ] || write_conf
    use_state
    if ! podman image exists "$IMAGE" 2>/dev/null; then
        rfs="$STATE/rootfs"
        rm -rf "$rfs"
        mkdir -p "$rfs/bin" "$rfs/etc" "$rfs/tmp" "$rfs/proc" "$rfs/sys" "$rfs/dev" "$rfs/root"
        cp /bin/busybox "$rfs/bin/busybox"
        for a in $("$rfs/bin/busybox" --list); do
            [ "$a" = busybox ] || ln -sf busybox "$rfs/bin/$a"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$rfs/etc/passwd"
        echo 'root:x:0:' >"$rfs/etc/group"
        tar -C "$rfs" -cf "$STATE/mini-rootfs.tar" . &&
            podman import -q --change 'CMD ["/bin/sh"]' "$STATE/mini-rootfs.tar" "$IMAGE" >/dev/null ||
            { log "cannot build $IMAGE"; exit 1; }
        rm -rf "$rfs" "$STATE/mini-rootfs.tar"
    fi
    if ! ping_ok; then
        service_start || exit 1
    fi
    echo "$STATE/podman.sock"
    ;;
restart)
    STATE=$(cd "$STATE" && pwd) || exit 1
    use_state
    service_stop
    service_start || exit 1
    ;;
env)
    STATE=$(cd "$STATE" && pwd) || exit 1
    echo "export CONTAINERS_CONF=\"$STATE/containers.conf\" CONTAINERS_STORAGE_CONF=\"$STATE/storage.conf\" DOCKER_HOST=\"unix://$STATE/podman.sock\""
    ;;
stop)
    [ -d "$STATE" ] || exit 0
    STATE=$(cd "$STATE" && pwd)
    if [ -f "$STATE/containers.conf" ]; then
        use_state
        podman rm -af -t 0 >/dev/null 2>&1
        service_stop
        podman system reset -f >/dev/null 2>&1 # unmounts the overlay layers
    fi
    # exec sessions leave a conmon behind for minutes (--exit-delay 300): ours name STATE
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = conmon ] || continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$STATE/" && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    grep -o " $STATE/[^ ]*" /proc/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    rm -rf "$STATE"
    ;;
*)
    echo "usage: podman.sh start|stop|restart|env STATE" >&2
    exit 2
    ;;
esac
