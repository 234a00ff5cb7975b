# tests/peers/lib.sh - helpers for the tests that run `ctrail serve` against an engine.
# Sourced (bash).  Needs: CTRAIL (the binary), TMP (a private temp dir).
#
#   serve_start DATA ENGINE_URL [ARGS...]  start `ctrail serve` in the background on a free
#                                          port; sets SERVE_PID, SERVE_URL, SERVE_LOG and
#                                          waits until the event stream is up
#   serve_stop                             SIGTERM it and wait (fails when it crashed)
#   serve_alive                            0 while it runs
#   metric NAME_WITH_LABELS                a value from GET /metrics (0 when absent)
#   wait_until SECONDS CMD...              run CMD (quiet) every 0.1 s until it succeeds; 1 once
#                                          SECONDS (whole seconds, of the clock: a slow CMD
#                                          does not stretch it) have passed
#   events_of REF                          `ctrail timeline REF -o json`, one object a line
#   any_of COND                            0 when a JSON value on stdin satisfies the jq COND
#                                          (jq 1.6's -e looks only at the last input)
#   fail MSG / skip MSG                    exit 1 / exit 77

fail() {
    echo "FAIL: $*" >&2
    if [ -n "${SERVE_LOG:-}" ] && [ -f "$SERVE_LOG" ]; then
        echo "--- last lines of the serve log:" >&2
        tail -n 30 "$SERVE_LOG" >&2
    fi
    exit 1
}
skip() { echo "SKIP: $*"; exit 77; }

wait_until() {
    local now=${EPOCHREALTIME/[.,]/} end
    end=$((10#$now + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        now=${EPOCHREALTIME/[.,]/}
        [ $((10#$now)) -ge "$end" ] && return 1
        sleep 0.1
    done
}

SERVE_PID=""
SERVE_URL=""
SERVE_LOG=""
SERVE_N=0

serve_alive() { [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; }

metric() {
    curl -sf --max-time 5 "$SERVE_URL/metrics" | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

serve_connected() { [ "$(metric ctrail_docker_connected)" = 1 ]; }

# serve_start DATA ENGINE_URL [ARGS...]; a second start (after serve_stop) logs to a new file
serve_start() {
    local data=$1 engine=$2 out
    shift 2
    SERVE_N=$((SERVE_N + 1))
    SERVE_LOG="$TMP/serve.$SERVE_N.log"
    out="$TMP/serve.$SERVE_N.out"
    "$CTRAIL" -v --data "$data" serve --listen 127.0.0.1:0 --docker "$engine" \
        --inspect-interval "${INSPECT_INTERVAL:-60}" "$@" >"$out" 2>"$SERVE_LOG" &
    SERVE_PID=$!
    wait_until 20 grep -q "listening on" "$out" || fail "serve did not start"
    SERVE_URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$out" | head -n 1)
    [ -n "$SERVE_URL" ] || fail "no URL in: $(cat "$out")"
    if [ "${SERVE_NO_WAIT:-0}" != 1 ]; then
        wait_until 30 serve_connected || fail "the event stream did not come up"
    fi
}

serve_stop() {
    local rc
    [ -n "$SERVE_PID" ] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID"
    rc=$?
    SERVE_PID=""
    [ "$rc" = 0 ] || fail "serve exited with status $rc"
}

any_of() { jq -n -e "[inputs | select($1)] | length > 0" >/dev/null; }

events_of() { "$CTRAIL" --data "$DATA" timeline "$1" -o json; }
