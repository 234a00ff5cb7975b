#!/usr/bin/env bash
# tests/integration/docker_hostile.sh - the Docker collector against a hostile engine.
#
# tests/tools/fake_engine.py speaks the Engine API on a unix socket and sends what a
# real engine will not: a line that is not JSON, JSON that is no event, a 10 MiB event,
# a 17 MiB line, a connection cut in the middle of a line, and a never-ending line.
# `ctrail serve` must log each, skip what is bad, keep every good event (the 10 MiB one
# included) exactly once, ask since= the serve start on its first connection and
# since= its cursor after each cut, record the 404s of its
# inspects as *.gone_before_inspect, and neither crash nor grow without bound.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../peers/lib.sh
. "$HERE/../peers/lib.sh"

CTRAIL=${CTRAIL_BIN:-}
[ -n "$CTRAIL" ] && [ -x "$CTRAIL" ] || skip "CTRAIL_BIN is not set to the ctrail binary"
for tool in python3 jq curl awk; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-hostile.XXXXXX") || fail "mktemp"
FAKE_PID=""
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    if [ -n "$FAKE_PID" ]; then
        kill "$FAKE_PID" 2>/dev/null
        wait "$FAKE_PID" 2>/dev/null
    fi
    if [ -n "${CTRAIL_KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

SOCK="$TMP/fake.sock"
DATA="$TMP/data"
python3 "$HERE/../tools/fake_engine.py" "$SOCK" >"$TMP/fake.out" 2>"$TMP/fake.err" &
FAKE_PID=$!
wait_until 10 grep -q ready "$TMP/fake.out" || fail "the fake engine did not start: $(cat "$TMP/fake.err")"

t0=$(date +%s)
serve_start "$DATA" "unix://$SOCK"
stored() { "$CTRAIL" --data "$DATA" events --source docker -o json | jq -r '.container' | sort; }
# all 8 good events: 1-5 on the first connection, 6-7 on the second, 8 on the third
wait_until 60 sh -c "[ \$(wc -l <'$SOCK.sent') -ge 8 ]" || fail "the fake engine did not get to its third connection"
all_stored() { [ "$(stored | wc -l)" -ge 8 ]; }
wait_until 30 all_stored || fail "good events missing: stored $(stored | wc -l), sent $(wc -l <"$SOCK.sent")"
serve_alive || fail "serve died"
curl -sf "$SERVE_URL/healthz" >/dev/null || fail "healthz does not answer"

sort -u "$SOCK.sent" >"$TMP/want"
stored >"$TMP/have"
cmp -s "$TMP/want" "$TMP/have" || fail "stored events differ from the good ones sent:
$(diff "$TMP/want" "$TMP/have")"
echo "ok 1 - every good event stored once, the 10 MiB one included"

big=$("$CTRAIL" --data "$DATA" events --source docker -o json | jq -r 'select(.raw.Actor.Attributes.big != null) | .raw.Actor.Attributes.big | length')
[ "$big" = $((10 << 20)) ] || fail "the 10 MiB event is not whole: '$big'"

[ "$(metric ctrail_docker_lines_rejected_total)" -ge 4 ] ||
    fail "rejected lines: $(metric ctrail_docker_lines_rejected_total), want >= 4 (not json, no event, 2 too long)"
[ "$(metric ctrail_docker_lines_too_long_total)" -ge 2 ] ||
    fail "too long lines: $(metric ctrail_docker_lines_too_long_total), want >= 2"
[ "$(metric ctrail_docker_reconnects_total)" -ge 2 ] ||
    fail "reconnects: $(metric ctrail_docker_reconnects_total), want >= 2"
for msg in "invalid json" "not a json object\|has no Action" "line over" "stream ended inside a line" "reconnecting"; do
    grep -q "$msg" "$SERVE_LOG" || fail "nothing logged about '$msg'"
done
echo "ok 2 - bad lines, over-long lines and cut connections logged and counted"

# the first connection (a new store: no cursor) asked since the serve start, less
# a second; the reconnects resumed from the cursor, the time of the last event stored
grep '/events' "$SOCK.requests" >"$TMP/events.req"
first=$(sed -n '1s|.*/events?since=\([0-9]*\)\..*|\1|p' "$TMP/events.req")
[ -n "$first" ] && [ "$first" -ge $((t0 - 2)) ] && [ "$first" -le $((t0 + 5)) ] ||
    fail "the first /events did not ask since the serve start ($t0): $(head -n 1 "$TMP/events.req")"
[ "$(grep -c '/events?since=' "$TMP/events.req")" -ge 3 ] ||
    fail "reconnects did not resume with since=: $(cat "$TMP/events.req")"
echo "ok 3 - since= the serve start on the first connection, the cursor on reconnects"

gone_seen() { "$CTRAIL" --data "$DATA" events --kind container.gone_before_inspect -o json | any_of '.raw.status == 404 and .raw.trigger == "create"'; }
wait_until 10 gone_seen || fail "no container.gone_before_inspect record for the 404s"
echo "ok 4 - inspects answered 404 recorded as container.gone_before_inspect"

hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVE_PID/status")
[ "$hwm" -lt $((400 << 10)) ] || fail "serve peaked at $hwm kB of memory"
echo "   serve peak memory: $((hwm / 1024)) MiB"
serve_stop
"$CTRAIL" --data "$DATA" verify >/dev/null || fail "verify failed"
echo "PASS: hostile engine"
