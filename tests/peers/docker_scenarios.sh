# tests/peers/docker_scenarios.sh - the Docker collector's scenarios against one real engine.
# Sourced by tests/integration/docker_dockerd.sh and docker_podman.sh with ENGINE set to
# "dockerd" or "podman"; asserts through `ctrail timeline` and `ctrail containers -o json`.
#
#  1. `run --rm` of a container that exits (status 3) after 0.2 s: create, start, die with
#     its exit code, destroy, and an inspect snapshot taken after the start.
#  2. a privileged container with / bind-mounted.  podman: it runs, `sh -c id` is exec'd in
#     it: privileged, the sensitive mount and the exec's command are in the catalog, the
#     exec inspect in the timeline.  dockerd (cannot start --privileged here): the create,
#     the privileged inspect and the failed start (State.Error, exit code 128); the exec
#     part runs in an unprivileged container with / mounted read-only and a capability.
#  3. ctrail stopped, three containers run and removed, ctrail started again: all their
#     events are there (since= resume), none twice.
#  4. the engine restarted while ctrail runs: the events before, during (a container that
#     was running is killed by the shutdown) and right after the restart (before ctrail
#     is back) are all there.  podman: every event the engine's own log holds is stored,
#     exactly once.  A running container is inspected again every --inspect-interval (1 s).
#  5. a new data directory while the engine holds a created and a running container:
#     reconciliation records both as container.discovered, with an inspect each.
#  6. the first seconds of serve, on new data directories: (a) the engine socket is not
#     there for serve at first (an engine slow to come up): a container run, exec'd and
#     removed meanwhile has all its events once the socket appears (since= the serve
#     start); /readyz says 503 with the docker collector not ready, then 200; (b) a
#     container run, exec'd and removed right after serve was started, without waiting
#     for anything: its create and destroy are stored.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CTRAIL=${CTRAIL_BIN:-}
[ -n "$CTRAIL" ] && [ -x "$CTRAIL" ] || skip "CTRAIL_BIN is not set to the ctrail binary"
for tool in jq curl awk sort uniq; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ "$(id -u)" = 0 ] || skip "engines need root"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-$ENGINE.XXXXXX") || fail "mktemp"
PEER_STATE="$TMP/engine"
DATA="$TMP/data"
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    "$HERE/$ENGINE.sh" stop "$PEER_STATE" >/dev/null 2>&1
    if [ -n "${CTRAIL_KEEP_TMP:-}" ]; then
        echo "kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

SOCK=$("$HERE/$ENGINE.sh" start "$PEER_STATE" 2>"$TMP/peer.log")
case $? in
0) ;;
77) skip "$ENGINE cannot run here: $(tail -n 3 "$TMP/peer.log")" ;;
*) fail "$ENGINE did not start: $(tail -n 5 "$TMP/peer.log")" ;;
esac
ENGINE_URL="unix://$SOCK"
export DOCKER_HOST="$ENGINE_URL"
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker) || skip "no docker CLI (package docker.io)"
IMAGE=localhost/mini:1
run() { "$DOCKER" run --network none "$@"; }

# kinds of one container's docker events, sorted, one a line
kinds_of() { events_of "$1" | jq -r 'select(.source == "docker") | .kind' | sort; }
count_kind() { events_of "$1" | jq -r --arg k "$2" 'select(.kind == $k) | .kind' | wc -l; }
has_kind() { [ "$(count_kind "$1" "$2")" -ge 1 ]; }
cat_of() { "$CTRAIL" --data "$DATA" containers -o json | jq -c --arg n "$1" 'select(.name == $n)'; }
expect_once() { # REF KIND...
    local ref=$1 k n
    shift
    for k in "$@"; do
        n=$(count_kind "$ref" "$k")
        [ "$n" = 1 ] || fail "$ref: $n $k events, want 1 (have: $(kinds_of "$ref" | tr '\n' ' '))"
    done
}
# no docker event stored twice (same timeNano|id|Action)
no_duplicates() {
    local d
    d=$("$CTRAIL" --data "$DATA" events --source docker -o json |
        jq -r '[.raw.timeNano, (.raw.Actor.ID // .raw.id), (.raw.Action // .raw.status)] | map(tostring) | join("|")' |
        sort | uniq -d)
    [ -z "$d" ] || fail "docker events stored twice: $d"
}

echo "== $ENGINE at $SOCK"
INSPECT_INTERVAL=1 # every serve_start below
serve_start "$DATA" "$ENGINE_URL"

# ---- 1. a container that lives 0.2 s ----
run --rm --name s1 "$IMAGE" sh -c 'sleep 0.2; exit 3' >/dev/null 2>&1
wait_until 20 has_kind s1 container.destroy || fail "s1: no destroy event"
expect_once s1 container.create container.start container.die container.destroy
[ "$(events_of s1 | jq -r 'select(.kind == "container.die") | .raw.Actor.Attributes.exitCode')" = 3 ] ||
    fail "s1: die event without exitCode 3"
started_snapshot() {
    events_of "$1" | any_of '.kind == "container.inspect" and .raw.State.StartedAt != "0001-01-01T00:00:00Z"'
}
wait_until 10 started_snapshot s1 || fail "s1: no inspect snapshot taken after its start"
c=$(cat_of s1)
[ "$(jq -r .exit_code <<<"$c")" = 3 ] || fail "s1: catalog exit code: $c"
[ "$(jq -r .state <<<"$c")" = destroyed ] || fail "s1: catalog state: $c"
for f in created started died destroyed; do
    [ "$(jq -r ".$f" <<<"$c")" != null ] || fail "s1: catalog has no $f time: $c"
done
echo "ok 1 - run --rm of a 0.2 s container: create/start/die(3)/destroy and a start snapshot"

# ---- 2. privileged, / mounted, exec ----
if [ "$ENGINE" = podman ]; then
    run -d --privileged -v /:/host --name s2 "$IMAGE" sleep 60 >/dev/null || fail "s2: run failed"
    out=$("$DOCKER" exec s2 sh -c id) || fail "s2: exec failed"
    case $out in *uid=0*) ;; *) fail "s2: exec printed '$out'" ;; esac
    wait_until 10 has_kind s2 exec.inspect || fail "s2: no exec inspect"
    "$DOCKER" rm -f s2 >/dev/null
    wait_until 20 has_kind s2 container.destroy || fail "s2: no destroy event"
    has_kind s2 container.exec_start || fail "s2: no exec event (podman 'exec')"
    [ "$(events_of s2 | jq -r 'select(.kind == "container.exec_start") | .raw.Action')" = exec ] ||
        fail "s2: the raw action is not podman's 'exec'"
    events_of s2 | any_of '.kind == "exec.inspect" and .raw.ProcessConfig.entrypoint == "sh" and .raw.ProcessConfig.arguments == ["-c","id"]' ||
        fail "s2: exec inspect without the command"
    c=$(cat_of s2)
    [ "$(jq -r .privileged <<<"$c")" = true ] || fail "s2: catalog privileged: $c"
    any_of '.details.mounts[] | select(.source == "/" and .destination == "/host" and .sensitive == true)' <<<"$c" ||
        fail "s2: catalog has no sensitive / mount: $c"
    [ "$(jq -r .details.last_exec <<<"$c")" = "sh -c id" ] || fail "s2: catalog last_exec: $c"
    any_of '.details.execs[] | select(.command == "sh -c id")' <<<"$c" ||
        fail "s2: catalog execs: $c"
    echo "ok 2 - privileged container with / mounted and an exec of sh -c id"
else
    run -d --privileged -v /:/host --name s2 "$IMAGE" sleep 60 >/dev/null 2>&1 &&
        fail "s2: dockerd started a privileged container (expected to fail here)"
    failed_start() {
        events_of s2 | any_of '.kind == "container.inspect" and .raw.State.Error != ""'
    }
    wait_until 10 failed_start || fail "s2: no inspect showing the failed start"
    expect_once s2 container.create
    events_of s2 | any_of '.kind == "container.inspect" and .raw.HostConfig.Privileged == true' ||
        fail "s2: no privileged inspect"
    c=$(cat_of s2)
    [ "$(jq -r .privileged <<<"$c")" = true ] || fail "s2: catalog privileged: $c"
    [ "$(jq -r .exit_code <<<"$c")" = 128 ] || fail "s2: catalog exit code of the failed start: $c"
    any_of '.details.mounts[] | select(.source == "/" and .sensitive == true)' <<<"$c" ||
        fail "s2: catalog has no sensitive / mount: $c"
    "$DOCKER" rm -f s2 >/dev/null
    # what dockerd can run: / read-only, a capability, the host's PID namespace, an exec
    run -d -v /:/host:ro --cap-add SYS_PTRACE --pid host --name s2x "$IMAGE" sleep 60 >/dev/null ||
        fail "s2x: run failed"
    "$DOCKER" exec s2x sh -c id >/dev/null || fail "s2x: exec failed"
    wait_until 10 has_kind s2x exec.inspect || fail "s2x: no exec inspect"
    "$DOCKER" rm -f s2x >/dev/null
    wait_until 20 has_kind s2x container.destroy || fail "s2x: no destroy event"
    expect_once s2x container.exec_create container.exec_start container.exec_die
    c=$(cat_of s2x)
    jq -e '.details.cap_add == ["SYS_PTRACE"] and .details.pid_mode == "host"' <<<"$c" >/dev/null ||
        fail "s2x: catalog caps / pid mode: $c"
    any_of '.details.mounts[] | select(.source == "/" and .rw == false and .sensitive == true)' <<<"$c" ||
        fail "s2x: catalog mount: $c"
    [ "$(jq -r .details.last_exec <<<"$c")" = "sh -c id" ] || fail "s2x: catalog last_exec: $c"
    echo "ok 2 - privileged create/inspect/failed start; exec, / mount, caps and --pid host"
fi

# ---- 3. ctrail down while three containers come and go ----
serve_stop
for i in 1 2 3; do
    run --rm --name "s3-$i" "$IMAGE" sh -c 'exit 0' >/dev/null 2>&1 || fail "s3-$i: run failed"
done
serve_start "$DATA" "$ENGINE_URL"
for i in 1 2 3; do
    wait_until 20 has_kind "s3-$i" container.destroy || fail "s3-$i: no destroy after the restart"
    expect_once "s3-$i" container.create container.start container.die container.destroy
done
# what was stored before the stop was replayed too (since= is inclusive), and dropped
no_duplicates
expect_once s1 container.create container.start container.die container.destroy
echo "ok 3 - containers run while ctrail was stopped: all events, none twice"

# ---- 4. the engine restarted under ctrail ----
run --rm --name s4a "$IMAGE" sh -c 'exit 0' >/dev/null 2>&1 || fail "s4a: run failed"
run -d --name s4run "$IMAGE" sleep 300 >/dev/null || fail "s4run: run failed"
wait_until 20 has_kind s4a container.destroy || fail "s4a: no destroy"
wait_until 20 has_kind s4run container.start || fail "s4run: no start"
running_snapshots() {
    [ "$(events_of s4run | jq -r 'select(.kind == "container.inspect" and .raw.State.Running == true) | .ts' | wc -l)" -ge 3 ]
}
wait_until 10 running_snapshots || fail "s4run: not inspected every second while running"
reconnects=$(metric ctrail_docker_reconnects_total)
"$HERE/$ENGINE.sh" restart "$PEER_STATE" 2>>"$TMP/peer.log" >/dev/null || fail "$ENGINE restart failed"
# right away: ctrail is most likely still backing off, so these come by since=
run --rm --name s4b "$IMAGE" sh -c 'exit 0' >/dev/null 2>&1 || fail "s4b: run failed"
wait_until 30 serve_connected || fail "no reconnect after the engine restart"
[ "$(metric ctrail_docker_reconnects_total)" -gt "$reconnects" ] || fail "no reconnect counted"
run --rm --name s4c "$IMAGE" sh -c 'exit 0' >/dev/null 2>&1 || fail "s4c: run failed"
for n in s4a s4b s4c; do
    wait_until 20 has_kind "$n" container.destroy || fail "$n: no destroy"
    expect_once "$n" container.create container.start container.die container.destroy
done
"$DOCKER" rm -f s4run >/dev/null 2>&1
wait_until 20 has_kind s4run container.destroy || fail "s4run: no destroy"
c=$(cat_of s4run)
[ "$(jq -r .died <<<"$c")" != null ] || fail "s4run: catalog has no died time: $c"
no_duplicates
if [ "$ENGINE" = podman ]; then
    # podman keeps its events in a file: everything it ever sent must be stored once
    want="$TMP/engine-events" have="$TMP/stored-events"
    timeout 5 curl -sN --unix-socket "$SOCK" "http://d/v1.41/events?since=0" 2>/dev/null |
        jq -r '[.timeNano, (.Actor.ID // .id), (.Action // .status)] | map(tostring) | join("|")' |
        sort >"$want"
    "$CTRAIL" --data "$DATA" events --source docker -o json |
        jq -r '[.raw.timeNano, (.raw.Actor.ID // .raw.id), (.raw.Action // .raw.status)] | map(tostring) | join("|")' |
        sort >"$have"
    # the first events (image import, before ctrail ever ran) were never asked for
    first=$(head -n 1 "$have" | cut -d'|' -f1)
    awk -F'|' -v f="$first" '$1 >= f' "$want" >"$want.since"
    missing=$(comm -23 "$want.since" "$have")
    [ -z "$missing" ] || fail "engine events not stored: $missing"
    echo "   podman: $(wc -l <"$want.since") engine events since the first stored, all stored once"
fi
echo "ok 4 - engine restarted while ctrail ran: no event lost"

# ---- 5. what the engine holds when a new store starts ----
"$DOCKER" create --network none --name s5 "$IMAGE" true >/dev/null || fail "s5: create failed"
run -d --name s5run "$IMAGE" sleep 60 >/dev/null || fail "s5run: run failed"
serve_alive || fail "serve died"
echo "   metrics: events $(metric ctrail_docker_events_total), reconnects $(metric ctrail_docker_reconnects_total)," \
    "inspects ok $(metric 'ctrail_docker_inspects_total{kind="container",result="ok"}')," \
    "gone $(metric 'ctrail_docker_inspects_total{kind="container",result="gone"}')," \
    "exec ok $(metric 'ctrail_docker_inspects_total{kind="exec",result="ok"}')," \
    "lag $(metric ctrail_docker_lag_milliseconds) ms"
serve_stop
"$CTRAIL" --data "$DATA" verify >/dev/null || fail "verify failed"
DATA1=$DATA
DATA="$TMP/data2"
serve_start "$DATA" "$ENGINE_URL"
for n in s5 s5run; do
    wait_until 10 has_kind "$n" container.inspect || fail "$n: not inspected after discovery"
    expect_once "$n" container.discovered
done
[ "$(cat_of s5 | jq -r .state)" = created ] || fail "s5: catalog: $(cat_of s5)"
[ "$(cat_of s5run | jq -r .state)" = running ] || fail "s5run: catalog: $(cat_of s5run)"
[ "$(cat_of s5run | jq -r .started)" != null ] || fail "s5run: no start time: $(cat_of s5run)"
[ "$(metric ctrail_docker_discovered_total)" = 2 ] ||
    fail "discovered: $(metric ctrail_docker_discovered_total), want 2"
serve_stop
"$DOCKER" rm -f s5 s5run >/dev/null 2>&1
"$CTRAIL" --data "$DATA" verify >/dev/null || fail "verify failed (second store)"
echo "ok 5 - a new store discovers the containers the engine already holds"

# ---- 6. what the engine does before the event stream is up ----
readyz() { curl -s --max-time 5 -o "$TMP/readyz.json" -w '%{http_code}' "$SERVE_URL/readyz"; }
docker_ready() { jq -r '.components[] | select(.kind == "docker") | .ready' "$TMP/readyz.json"; }
DATA="$TMP/data3"
LATE="$TMP/late.sock"
SERVE_NO_WAIT=1 serve_start "$DATA" "unix://$LATE"
run -d --name s6a "$IMAGE" sleep 60 >/dev/null || fail "s6a: run failed"
"$DOCKER" exec s6a sh -c id >/dev/null || fail "s6a: exec failed"
"$DOCKER" rm -f s6a >/dev/null || fail "s6a: rm failed"
[ "$(readyz)" = 503 ] || fail "readyz while the engine socket is missing: $(cat "$TMP/readyz.json")"
[ "$(docker_ready)" = false ] || fail "readyz: docker ready without a socket: $(cat "$TMP/readyz.json")"
ln -s "$SOCK" "$LATE"
wait_until 30 serve_connected || fail "s6a: no connection once the engine socket is there"
wait_until 20 has_kind s6a container.destroy ||
    fail "s6a: what the engine did before the stream was up is lost: $(kinds_of s6a | tr '\n' ' ')"
expect_once s6a container.create container.start container.die container.destroy
if [ "$ENGINE" = podman ]; then
    expect_once s6a container.exec_start
else
    expect_once s6a container.exec_create container.exec_start container.exec_die
fi
all_ready() { [ "$(readyz)" = 200 ]; }
wait_until 10 all_ready || fail "readyz once connected: $(cat "$TMP/readyz.json")"
[ "$(docker_ready)" = true ] || fail "readyz: docker not ready when connected: $(cat "$TMP/readyz.json")"
jq -e --arg u "unix://$LATE" '.ready == true and any(.components[]; .kind == "docker" and .name == $u and (.since | test("^20[0-9-]{8}T")))' \
    "$TMP/readyz.json" >/dev/null || fail "readyz body: $(cat "$TMP/readyz.json")"
serve_stop
rm -f "$LATE"
echo "ok 6a - an engine socket that comes late: the events from the serve start on are stored"
DATA="$TMP/data4"
SERVE_NO_WAIT=1 serve_start "$DATA" "$ENGINE_URL"
run -d --name s6b "$IMAGE" sleep 60 >/dev/null || fail "s6b: run failed"
"$DOCKER" exec s6b sh -c id >/dev/null || fail "s6b: exec failed"
"$DOCKER" rm -f s6b >/dev/null || fail "s6b: rm failed"
wait_until 20 has_kind s6b container.destroy || fail "s6b: no destroy event"
expect_once s6b container.create container.start container.destroy
no_duplicates
serve_stop
echo "ok 6b - a container run right after serve started: its create and destroy are stored"
echo "PASS: docker collector on $ENGINE"
