# shellcheck shell=bash
# tests/lib/common.sh - the preamble every integration test repeated: failing,
# skipping, the private temp dir, stopping what the test started, polling, and
# `ctrail serve` on loopback.  Sourced (bash) right after `set -u`:
#
#   . "$(dirname "$0")/../lib/common.sh"
#
# Failing and skipping (exit 0 pass, 1 fail, 77 skip):
#   fail MSG           print "FAIL: MSG" and count it in FAILS; the test goes on
#                      and ends with `[ "$FAILS" -eq 0 ] || exit 1` (its own words)
#   die MSG            print "FAIL: MSG" and exit 1 now
#   skip MSG           print "SKIP: MSG" and exit 77
#   note MSG           print "NAME: MSG" (NAME: the script's name without .sh)
#
# What the test needs (each skips with the usual message when it is missing):
#   need_ctrail        CTRAIL from CTRAIL_BIN
#   need_gen           GEN from CTRAIL_GEN
#   need_writer        WRITER from CTRAIL_CRASH_WRITER
#   need_fixtures [SUB [MSG]]  FX from CTRAIL_FIXTURES (a directory; with SUB,
#                      one holding SUB, else skip with MSG)
#   need_tools [-h HINT] TOOL...  every TOOL on PATH ("TOOL is not installed (HINT)")
#
# The temp dir and the processes the test starts:
#   make_tmp TAG       TMP=a new ${TMPDIR:-/tmp}/ctrail-TAG.XXXXXX; at exit
#                      (also on INT and TERM, which exit 1) every tracked process
#                      is stopped and TMP removed (kept, and named, when KEEP_TMP
#                      is set).  A test may define cleanup_first, run before the
#                      processes are stopped, and cleanup_last, run after.
#   track PID [SIG]    stop PID at exit: SIGCONT (it may be stopped), then SIG
#                      (TERM by default), then wait for it; the newest first
#   untrack PID        it was stopped and waited for by the test itself
#
# Polling and `ctrail serve` (no Docker, HTTP on 127.0.0.1 port 0):
#   wait_until SECONDS CMD...   run CMD every $POLL s (0.1) until it succeeds;
#                      1 when SECONDS (whole seconds of the clock, however long
#                      CMD takes) pass first
#   serve_start NAME DATA [ARGS...]  start `ctrail --data DATA serve` with ARGS in
#                      the background, --listen SERVE_LISTEN (127.0.0.1:0), stdout
#                      in $TMP/NAME.out, stderr added to SLOG ($TMP/NAME.log: a
#                      NAME used again keeps one log); track it, wait (20 s) until
#                      its stdout has SERVE_READY ("listening on" by default),
#                      or die; set SPID and URL (http://ADDR:PORT)
#   serve_stop [PID]   SIGTERM to PID (SPID) and wait; fail unless it exits 0
#   metric NAME{LABELS}  a value from $URL/metrics (0 when absent)

export LC_ALL=C

FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
CT_NAME=$(basename "$0" .sh)
note() { echo "$CT_NAME: $*"; }

need_ctrail() {
    CTRAIL=${CTRAIL_BIN:-}
    [[ -n $CTRAIL && -x $CTRAIL ]] || skip "CTRAIL_BIN is not set to the ctrail binary"
}
need_gen() {
    GEN=${CTRAIL_GEN:-}
    [[ -n $GEN && -x $GEN ]] || skip "CTRAIL_GEN is not set to ctrail-gen"
}
need_writer() {
    WRITER=${CTRAIL_CRASH_WRITER:-}
    [[ -n $WRITER && -x $WRITER ]] ||
        skip "CTRAIL_CRASH_WRITER is not set to tests/tools/crash_writer"
}
# shellcheck disable=SC2120 # both arguments are optional
need_fixtures() { # [SUBDIR [MESSAGE]]
    FX=${CTRAIL_FIXTURES:-}
    [[ -n $FX && -d $FX/${1:-} ]] || skip "${2:-CTRAIL_FIXTURES is not a directory}"
}
need_tools() { # [-h HINT] TOOL...
    local hint="" tool
    if [ "${1:-}" = -h ]; then
        hint=" ($2)"
        shift 2
    fi
    for tool in "$@"; do
        command -v "$tool" >/dev/null || skip "$tool is not installed$hint"
    done
}

TMP=""
PIDS=""
make_tmp() { # TAG
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-$1.XXXXXX") || die "mktemp"
    trap ct_cleanup EXIT
    trap 'exit 1' INT TERM
}
track() { PIDS="$1:${2:-TERM} $PIDS"; }
untrack() {
    local e keep=""
    for e in $PIDS; do
        [ "${e%%:*}" = "$1" ] || keep="$keep $e"
    done
    PIDS=$keep
}
ct_cleanup() {
    local e p
    if declare -F cleanup_first >/dev/null; then cleanup_first; fi
    for e in $PIDS; do
        p=${e%%:*}
        kill -CONT "$p" 2>/dev/null
        kill -"${e#*:}" "$p" 2>/dev/null
        { wait "$p"; } 2>/dev/null
    done
    PIDS=""
    if declare -F cleanup_last >/dev/null; then cleanup_last; fi
    [ -n "$TMP" ] || return 0
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}

wait_until() { # SECONDS CMD...
    local now=${EPOCHREALTIME/[.,]/} end
    end=$((10#$now + $1 * 1000000))
    shift
    until "$@"; do
        now=${EPOCHREALTIME/[.,]/}
        [ $((10#$now)) -ge "$end" ] && return 1
        sleep "${POLL:-0.1}"
    done
}

SPID=""
URL=""
SLOG=""
serve_start() { # NAME DATA [ARGS...]
    local name=$1 data=$2
    shift 2
    SLOG=$TMP/$name.log
    : >"$TMP/$name.out"
    "$CTRAIL" --data "$data" serve --no-docker --listen "${SERVE_LISTEN:-127.0.0.1:0}" "$@" \
        >"$TMP/$name.out" 2>>"$SLOG" &
    SPID=$!
    track "$SPID"
    wait_until 20 grep -qsF "${SERVE_READY:-listening on}" "$TMP/$name.out" ||
        die "$name: serve did not start: $(cat "$SLOG")"
    URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$TMP/$name.out")
}
# shellcheck disable=SC2120 # PID is optional
serve_stop() { # [PID]
    local pid=${1:-$SPID} rc
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    untrack "$pid"
    [ "$rc" -eq 0 ] || fail "serve (pid $pid) exited with status $rc on SIGTERM"
}

metric() { # NAME{LABELS}
    curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}
