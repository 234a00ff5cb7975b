#!/usr/bin/env bash
# bench/docker.sh - the Docker collector under a burst of container lifecycles.
#
# usage: bench/docker.sh [--engine dockerd|podman] [--containers N] [--parallel P]
#                        [--cmd 'true'] [--bin build/ctrail] [--no-replay]
#
# Starts a private engine (tests/peers/ENGINE.sh), `ctrail serve` on a fresh data
# directory, and creates N containers (default 1000) through the Engine API from P
# parallel clients (default 8), each `--rm` (AutoRemove), --network none, running CMD
# (default `true`: it exits at once, the hardest case for a start snapshot).  Then:
#
#   live     every docker event of the burst stored: events, the time from the first
#            event to the last one durable, events/s end to end (stream -> durable; with
#            a live engine this is the engine's pace), stream latency (ingest_ts - ts:
#            event time to parsed, p50/p99/max), ctrail's CPU time, and the share of
#            containers that got a snapshot taken after their start (State.StartedAt
#            set) and of those caught still running.
#   replay   (podman, which keeps its events in a file) ctrail is stopped, the burst run
#            again, ctrail started: it reads the whole burst back with since= as fast as
#            it can: events/s stream -> durable is the collector's own capacity.
#
# Everything is on this machine; nothing leaves it.  Needs root (the engine), curl, jq.
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$PWD

ENGINE=dockerd
N=1000
P=8
CMD=true
BIN=""
REPLAY=1
while [ $# -gt 0 ]; do
    case $1 in
    --engine) ENGINE=$2; shift 2 ;;
    --containers) N=$2; shift 2 ;;
    --parallel) P=$2; shift 2 ;;
    --cmd) CMD=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --no-replay) REPLAY=0; shift ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/docker.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case $ENGINE in dockerd | podman) ;; *) echo "--engine dockerd or podman" >&2; exit 2 ;; esac
[ -n "$BIN" ] || for b in build/ctrail build-docker/ctrail; do [ -x "$b" ] && BIN=$b && break; done
[ -x "$BIN" ] || { echo "no ctrail binary: ./scripts/build build, or --bin PATH" >&2; exit 2; }
CTRAIL=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-bench-docker.XXXXXX")
# shellcheck source=../tests/peers/lib.sh
. "$ROOT/tests/peers/lib.sh"
PEER_STATE="$TMP/engine"
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    "$ROOT/tests/peers/$ENGINE.sh" stop "$PEER_STATE" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

SOCK=$("$ROOT/tests/peers/$ENGINE.sh" start "$PEER_STATE" 2>"$TMP/peer.log") ||
    { echo "the $ENGINE peer did not start:"; tail -n 5 "$TMP/peer.log"; exit 1; }
API="http://d/v1.41"
now_ns() { date +%s%N; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# the create body, CMD split on blanks
BODY=$(jq -cn --arg cmd "$CMD" '{Image: "localhost/mini:1", Cmd: ($cmd | split(" ")),
    HostConfig: {AutoRemove: true, NetworkMode: "none"}}')
export SOCK API BODY
one() {
    local id
    id=$(curl -sf --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
        --data-binary "$BODY" "$API/containers/create" | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
    [ -n "$id" ] && curl -sf --unix-socket "$SOCK" -X POST "$API/containers/$id/start" >/dev/null
}
export -f one
burst() { seq "$N" | xargs -P "$P" -I{} bash -c one; }

destroys_since() {
    "$CTRAIL" --data "$DATA" events --kind container.destroy --since "$1" -o json 2>/dev/null | wc -l
}
# wait for N destroys after T (RFC 3339 / seconds), at most S seconds
wait_destroys() {
    local since=$1 secs=$2 i
    for ((i = 0; i < secs * 2; i++)); do
        [ "$(destroys_since "$since")" -ge "$N" ] && return 0
        sleep 0.5
    done
    return 1
}
pct() { # P of the numbers on stdin
    sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit }
        i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

echo "bench/docker.sh: $ENGINE, $N containers ($CMD), $P parallel clients, $(nproc) cores"
DATA="$TMP/data"
INSPECT_INTERVAL=60
serve_start "$DATA" "unix://$SOCK"
cpu0=$(cpu_ticks "$SERVE_PID")
t0=$(now_ns)
since=$(( t0 / 1000000000 - 1 ))
burst
t1=$(now_ns)
wait_destroys "$since" 600 || echo "warning: only $(destroys_since "$since") of $N destroy events stored"
t2=$(now_ns)
sleep 2 # late inspect answers
cpu1=$(cpu_ticks "$SERVE_PID")
hz=$(getconf CLK_TCK)

"$CTRAIL" --data "$DATA" events --source docker --since "$since" -o json |
    jq -r '[.ts, .ingest_ts, .kind, .container] | @tsv' >"$TMP/events.tsv"
"$CTRAIL" --data "$DATA" events --source inspect --since "$since" -o json |
    jq -r '[.kind, .container, (.raw.State.StartedAt // "-"), (.raw.State.Running // false), (.raw.trigger // "-")] | @tsv' >"$TMP/inspects.tsv"
events=$(wc -l <"$TMP/events.tsv")
first_ev=$(cut -f1 "$TMP/events.tsv" | sort | head -n 1)
first_ns=$(date -d "$first_ev" +%s%N)
created=$(awk -F'\t' '$3 == "container.create" { print $4 }' "$TMP/events.tsv" | sort -u)
n_created=$(wc -l <<<"$created")
started_snap=$(awk -F'\t' '$1 == "container.inspect" && $3 != "-" && $3 !~ /^0001-01-01/ { print $2 }' "$TMP/inspects.tsv" | sort -u |
    comm -12 - <(echo "$created") | wc -l)
running_snap=$(awk -F'\t' '$1 == "container.inspect" && $4 == "true" { print $2 }' "$TMP/inspects.tsv" | sort -u |
    comm -12 - <(echo "$created") | wc -l)
snaps=$(awk -F'\t' '$1 == "container.inspect"' "$TMP/inspects.tsv" | wc -l)
gone=$(awk -F'\t' '$1 == "container.gone_before_inspect"' "$TMP/inspects.tsv" | wc -l)
# stream latency: event time to parsed (ns precision from the RFC 3339 texts)
# (seconds of the day from "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"; a day boundary adds 86400)
awk -F'\t' 'function sod(t) { return substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18, 12) }
    { d = sod($2) - sod($1); if (d < -43200) d += 86400; printf "%d\n", d * 1e6 }' \
    "$TMP/events.tsv" >"$TMP/lat_us"

e2e_s=$(awk -v a="$first_ns" -v b="$t2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
echo
echo "live burst"
printf '  %-44s %s\n' "containers created by the burst" "$n_created"
printf '  %-44s %.2f s (%.1f containers/s)\n' "burst (engine API calls)" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" \
    "$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { print n / ((b - a) / 1e9) }')"
printf '  %-44s %s\n' "docker events stored" "$events"
printf '  %-44s %s s\n' "first event -> last destroy durable" "$e2e_s"
printf '  %-44s %.0f events/s\n' "end to end (engine-paced)" "$(awk -v e="$events" -v s="$e2e_s" 'BEGIN { print e / s }')"
printf '  %-44s p50 %s ms, p99 %s ms, max %s ms\n' "stream latency (event -> parsed)" \
    "$(pct 50 <"$TMP/lat_us" | awk '{ printf "%.1f", $1 / 1000 }')" \
    "$(pct 99 <"$TMP/lat_us" | awk '{ printf "%.1f", $1 / 1000 }')" \
    "$(pct 100 <"$TMP/lat_us" | awk '{ printf "%.1f", $1 / 1000 }')"
printf '  %-44s %s ms\n' "lag of the last batch (event -> durable)" "$(metric ctrail_docker_lag_milliseconds)"
printf '  %-44s %s snapshots, %s gone before inspect\n' "inspect records" "$snaps" "$gone"
printf '  %-44s %s / %s = %.1f %%\n' "containers with a snapshot after start" "$started_snap" "$n_created" \
    "$(awk -v a="$started_snap" -v b="$n_created" 'BEGIN { print 100 * a / b }')"
printf '  %-44s %s / %s = %.1f %%\n' "... of which caught running" "$running_snap" "$n_created" \
    "$(awk -v a="$running_snap" -v b="$n_created" 'BEGIN { print 100 * a / b }')"
printf '  %-44s %.2f s\n' "ctrail CPU time during the burst" "$(awk -v a="$cpu0" -v b="$cpu1" -v h="$hz" 'BEGIN { print (b - a) / h }')"

if [ "$ENGINE" = podman ] && [ "$REPLAY" = 1 ]; then
    serve_stop
    t0=$(now_ns)
    since=$(( t0 / 1000000000 - 1 ))
    burst
    # podman reads its whole events file for since=: give it time (each try may
    # take 30 s), with a deadline in seconds
    removals() { timeout 30 curl -sN --unix-socket "$SOCK" "$API/events?since=$since" 2>/dev/null | grep -c '"remove"'; }
    deadline=$((SECONDS + 300))
    until [ "$(removals)" -ge "$N" ]; do
        [ $SECONDS -ge $deadline ] && { echo "warning: the engine did not report $N removals in 300 s"; break; }
        sleep 1
    done
    SERVE_NO_WAIT=1 serve_start "$DATA" "unix://$SOCK"
    r0=$(now_ns)
    cpu0=$(cpu_ticks "$SERVE_PID")
    wait_destroys "$since" 600 || echo "warning: only $(destroys_since "$since") of $N destroys stored"
    r1=$(now_ns)
    cpu1=$(cpu_ticks "$SERVE_PID")
    revents=$("$CTRAIL" --data "$DATA" events --source docker --since "$since" -o json | wc -l)
    echo
    echo "replay (ctrail down during a second burst, then started: since= from the events file)"
    printf '  %-44s %s\n' "docker events read back and stored" "$revents"
    printf '  %-44s %.2f s\n' "serve start -> last destroy durable" "$(awk -v a="$r0" -v b="$r1" 'BEGIN { print (b - a) / 1e9 }')"
    printf '  %-44s %.0f events/s\n' "collector capacity (stream -> durable)" \
        "$(awk -v e="$revents" -v a="$r0" -v b="$r1" 'BEGIN { print e / ((b - a) / 1e9) }')"
    printf '  %-44s %.2f s\n' "ctrail CPU time" "$(awk -v a="$cpu0" -v b="$cpu1" -v h="$hz" 'BEGIN { print (b - a) / h }')"
fi
serve_stop
