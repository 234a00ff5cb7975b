#!/usr/bin/env bash
#
# tests/integration/k8s_audit_log.sh - `ctrail serve --k8s-audit-log PATH`
# under a live writer.
#
# The events: the audit2rbac fixture's 37 real Events, repeated with new
# auditIDs to N lines.  A writer (bash, keeping its file descriptor open as
# kube-apiserver's log backend does, a line every few ms) appends them to
# audit.log while:
#   1. the log is renamed (mv audit.log audit-1.log, as the API server's
#      rotation does) and the writer goes on writing into the renamed file
#      for a while before it opens a new audit.log: both are read whole;
#   2. the log is truncated in place (the writer paused for the truncate
#      only, once everything before it was stored: lines written between a
#      copy and a truncate are in neither file, copytruncate's own loss);
#   3. serve is stopped with SIGTERM while the writer writes, and started
#      again; later it is killed with SIGKILL and started again.
# Then every auditID written is stored exactly once (the store's dedup by
# auditID|stage would hide a line read twice; the tail's own exactly-once
# is checked without dedup by tail_rotation.sh), nothing was rejected, the
# cursor is k8s_audit:<path>, and the same events posted to the webhook
# afterwards are all duplicates.
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
N=${CTRAIL_K8S_LOG_LINES:-1500}
[ -f "${CTRAIL_FIXTURES:-}/k8s-audit/audit2rbac_demo.log" ] || skip "no k8s-audit fixtures"
FX=$CTRAIL_FIXTURES
need_tools jq curl

make_tmp k8s-log

DATA=$TMP/data LOG=$TMP/logs/audit.log
mkdir "$TMP/logs"
stored_count() { "$CTRAIL" --data "$DATA" events --source k8s_audit -o json 2>/dev/null | wc -l; }
stored_at_least() { [ "$(stored_count)" -ge "$1" ]; }

# N events, auditIDs log-00001 ...
jq -c . "$FX/k8s-audit/audit2rbac_demo.log" >"$TMP/base.jsonl"
jq -c -n --argjson n "$N" '[inputs] as $b | range($n) as $i |
    $b[$i % ($b | length)] + {auditID: ("log-" + ("0000\($i + 1)" | .[-5:]))}' \
    "$TMP/base.jsonl" >"$TMP/events.jsonl"
[ "$(wc -l <"$TMP/events.jsonl")" = "$N" ] || die "could not make $N events"

# The writer: appends the lines through one open descriptor; when
# $TMP/reopen appears it opens $LOG again (a new file after a rename).
# $TMP/written counts what it wrote.
writer() {
    local i=0 line
    exec 3>>"$LOG"
    while IFS= read -r line; do
        printf '%s\n' "$line" >&3
        i=$((i + 1))
        echo "$i" >"$TMP/written.new" # renamed into place: never seen empty
        mv -f "$TMP/written.new" "$TMP/written"
        if [ -e "$TMP/reopen" ]; then
            rm -f "$TMP/reopen"
            exec 3>>"$LOG"
        fi
        sleep 0.003
    done <"$TMP/events.jsonl"
    exec 3>&-
}
written() { cat "$TMP/written"; }
written_at_least() { [ "$(written)" -ge "$1" ]; }

serve_start serve "$DATA" --k8s-audit-log "$LOG"
echo 0 >"$TMP/written"
writer &
WPID=$!
track "$WPID"

# 1. rename rotation; the writer keeps writing into the renamed file
wait_until 60 written_at_least $((N / 6)) || die "the writer is stuck at $(written)"
mv "$LOG" "$TMP/logs/audit-2024-01-01T00-00-00.000.log"
wait_until 60 written_at_least $((N / 6 + 40)) || die "the writer is stuck at $(written)"
touch "$TMP/reopen"
note "renamed at line $((N / 6)), new file from about line $(written)"

# 2. truncation in place, with everything before it stored
wait_until 60 written_at_least $((N / 3)) || die "the writer is stuck at $(written)"
kill -STOP "$WPID"
w=$(written)
wait_until 30 stored_at_least "$w" || fail "before the truncation: $(stored_count) of $w stored"
: >"$LOG"
sleep 0.6
kill -CONT "$WPID"
note "truncated after line $w"

# 3. SIGTERM while the writer writes, then SIGKILL
wait_until 60 written_at_least $((N / 2)) || die "the writer is stuck at $(written)"
serve_stop
sleep 0.5
serve_start serve "$DATA" --k8s-audit-log "$LOG"
note "SIGTERM restart at about line $(written)"
wait_until 60 written_at_least $((N * 3 / 4)) || die "the writer is stuck at $(written)"
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null
untrack "$SPID"
sleep 0.3
serve_start serve "$DATA" --k8s-audit-log "$LOG"
note "SIGKILL restart at about line $(written)"

wait "$WPID"
untrack "$WPID"
[ "$(written)" = "$N" ] || fail "the writer wrote $(written) of $N lines"
wait_until 60 stored_at_least "$N" || fail "only $(stored_count) of $N events stored"
sleep 1 # anything read twice would show now

"$CTRAIL" --data "$DATA" events --source k8s_audit -o json | jq -r '.raw.auditID' | sort >"$TMP/got"
jq -r '.auditID' "$TMP/events.jsonl" | sort >"$TMP/want"
[ "$(wc -l <"$TMP/got")" = "$N" ] || fail "stored $(wc -l <"$TMP/got") events, want $N"
[ "$(uniq -d "$TMP/got" | wc -l)" = 0 ] || fail "stored twice: $(uniq -d "$TMP/got" | head -3)"
cmp -s "$TMP/want" "$TMP/got" || fail "stored auditIDs differ from the written ones: $(diff "$TMP/want" "$TMP/got" | head -5)"
grep -q "rejected\|reject" "$TMP/serve.log" && fail "lines were rejected: $(grep -m3 reject "$TMP/serve.log")"
if command -v sqlite3 >/dev/null; then
    c=$(sqlite3 "file:$DATA/index.db?mode=ro" "SELECT name FROM cursors WHERE name LIKE 'k8s_audit:%'" 2>/dev/null)
    [ "$c" = "k8s_audit:$LOG" ] || fail "cursor: '$c', want k8s_audit:$LOG"
fi

# the webhook and the file deliver the same events: stored once
head -n 100 "$TMP/events.jsonl" |
    jq -c -n '{kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items: [inputs]}' >"$TMP/batch.json"
reply=$(curl -s -H 'Content-Type: application/json' --data-binary @"$TMP/batch.json" "$URL/v1/k8s/audit")
[ "$(jq -c . <<<"$reply")" = '{"accepted":0,"duplicates":100}' ] || fail "webhook after the file: $reply"

# a bad line is rejected, the lines around it are kept
printf '%s\nnot json at all\n%s\n' \
    "$(jq -c '.auditID = "after-1"' <<<"$(head -n 1 "$TMP/events.jsonl")")" \
    "$(jq -c '.auditID = "after-2"' <<<"$(head -n 1 "$TMP/events.jsonl")")" >>"$LOG"
wait_until 20 stored_at_least $((N + 2)) || fail "the lines around a bad one were not stored"
wait_until 5 grep -q "not json" "$TMP/serve.log" || fail "the bad line was not logged"

serve_stop
if [ "$FAILS" -ne 0 ]; then
    echo "k8s_audit_log: $FAILS failure(s)"
    exit 1
fi
note "$N events through rename, truncation, SIGTERM and SIGKILL restarts: each stored once"
