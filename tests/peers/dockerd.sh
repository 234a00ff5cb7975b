#!/usr/bin/env bash
# tests/peers/dockerd.sh - a private Docker Engine (Debian's docker.io) for the tests.
#
#   dockerd.sh start STATE   start dockerd on STATE/docker.sock (data, exec root, logs
#                            all under STATE; no bridge, no iptables, nothing from /etc),
#                            build the image localhost/mini:1 from busybox-static, and
#                            print the socket path once /_ping answers
#   dockerd.sh stop STATE    remove its containers, stop dockerd (by pid) and its
#                            containerd, unmount what they mounted under STATE, delete STATE
#   dockerd.sh restart STATE stop the daemon and start it again, keeping its data
#
# Containers must run with --network none (there is no bridge).  dockerd here
# cannot start --privileged containers (the capability bounding set lacks
# CAP_SYS_RESOURCE): it creates them, and the start fails.
# Exit: 0 ok, 1 failure, 77 when dockerd cannot run on this machine.
set -uo pipefail
IMAGE=${CTRAIL_PEER_IMAGE:-localhost/mini:1}
DOCKER=/usr/bin/docker
log() { echo "[dockerd-peer] $*" >&2; }

cmd=${1:-}
STATE=${2:-}
[ -n "$cmd" ] && [ -n "$STATE" ] || { echo "usage: dockerd.sh start|stop|restart STATE" >&2; exit 2; }

need() {
    local missing="" p
    for p in docker.io busybox-static curl; do
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

ping_ok() { curl -sf --max-time 2 --unix-socket "$STATE/docker.sock" http://d/_ping >/dev/null 2>&1; }

daemon_start() {
    rm -f "$STATE/docker.sock"
    setsid dockerd --data-root "$STATE/root" --exec-root "$STATE/exec" \
        --pidfile "$STATE/dockerd.pid" -H "unix://$STATE/docker.sock" \
        --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
        >>"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/launcher.pid"
    for _ in $(seq 1 300); do
        ping_ok && return 0
        kill -0 "$(cat "$STATE/launcher.pid")" 2>/dev/null || break
        sleep 0.1
    done
    log "dockerd does not answer on $STATE/docker.sock:"
    tail -n 5 "$STATE/dockerd.log" >&2
    return 1
}

daemon_stop() {
    local pid=""
    [ -f "$STATE/dockerd.pid" ] && pid=$(cat "$STATE/dockerd.pid")
    [ -z "$pid" ] && [ -f "$STATE/launcher.pid" ] && pid=$(cat "$STATE/launcher.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    fi
    # the containerd dockerd started (its pid file is under our exec root)
    for f in "$STATE"/exec/containerd/containerd.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    rm -f "$STATE/docker.sock" "$STATE/dockerd.pid" "$STATE/launcher.pid"
}

unmount_all() {
    # deepest first; lazy, so a busy mount does not keep the directory
    grep -o " $STATE/[^ ]*" /proc/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
}

case "$cmd" in
start)
    need
    command -v dockerd >/dev/null || { log "no dockerd"; exit 77; }
    mkdir -p "$STATE" || exit 1
    STATE=$(cd "$STATE" && pwd)
    if ! ping_ok; then
        daemon_start || exit 1
    fi
    export DOCKER_HOST="unix://$STATE/docker.sock"
    if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
        rfs="$STATE/rootfs"
        rm -rf "$rfs"
        mkdir -p "$rfs/bin" "$rfs/etc" "$rfs/tmp" "$rfs/proc" "$rfs/sys" "$rfs/dev" "$rfs/root"
        cp /bin/busybox "$rfs/bin/busybox"
        for a in $("$rfs/bin/busybox" --list); do
            [ "$a" = busybox ] || ln -sf busybox "$rfs/bin/$a"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$rfs/etc/passwd"
        echo 'root:x:0:' >"$rfs/etc/group"
        tar -C "$rfs" -c . | "$DOCKER" import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null ||
            { log "cannot build $IMAGE"; exit 1; }
        rm -rf "$rfs"
    fi
    echo "$STATE/docker.sock"
    ;;
restart)
    STATE=$(cd "$STATE" && pwd) || exit 1
    daemon_stop
    daemon_start || exit 1
    ;;
stop)
    [ -d "$STATE" ] || exit 0
    STATE=$(cd "$STATE" && pwd)
    if ping_ok; then
        ids=$(DOCKER_HOST="unix://$STATE/docker.sock" "$DOCKER" ps -aq 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && DOCKER_HOST="unix://$STATE/docker.sock" "$DOCKER" rm -f $ids >/dev/null 2>&1
    fi
    daemon_stop
    unmount_all
    rm -rf "$STATE"
    ;;
*)
    echo "usage: dockerd.sh start|stop|restart STATE" >&2
    exit 2
    ;;
esac
