#!/usr/bin/env bash
#
# tests/integration/import_fixtures.sh - every fixture imports completely.
#
# For each file under $CTRAIL_FIXTURES (SOURCES.md aside) this imports it
# into a fresh data directory and compares what ctrail stored with a count
# made independently of ctrail: jq for JSON (lines, documents, arrays,
# EventLists, AKS batches), grep for log lines, a small RFC 6587 frame
# walker for octet-counted syslog.  The lines that must be rejected come
# from SOURCES.md and are written down below, one by one.  Then everything
# is imported twice into one directory: the second pass must store nothing,
# and `ctrail events` must list exactly what the first pass stored.  Last,
# the timeline of one container of the captured dockerd stream must be its
# events in time order, with raw bytes identical to the input lines.
#
# Environment (set by tests/CMakeLists.txt): CTRAIL_BIN, CTRAIL_FIXTURES,
# CTRAIL_SOURCE_DIR.  Exit 0 pass, 1 fail, 77 skip.

set -u
export LC_ALL=C # byte semantics for ${#var} and sort

skip() {
    echo "SKIP: $*"
    exit 77
}

[ -n "${CTRAIL_BIN:-}" ] && [ -x "$CTRAIL_BIN" ] || skip "CTRAIL_BIN is not an executable"
[ -n "${CTRAIL_FIXTURES:-}" ] && [ -d "$CTRAIL_FIXTURES" ] || skip "CTRAIL_FIXTURES is not a directory"
command -v jq >/dev/null 2>&1 || skip "jq is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-import-fixtures.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# Items (lines, documents, frames) that must be rejected, per file, as
# SOURCES.md describes them.  Every other fixture has none.
declare -A expect_rejects=(
    # "then 3 non-JSON garbage lines ('not json ...', 'test retry', 'again')"
    [docker-events/otel-dockerstats_mock_events2_with_garbage.jsonl]=3
    # "Malformed audit event {"kind": 0} ...; must be rejected without crashing"
    [k8s-audit/falco-k8s_audit/fal_01_003.json]=1
    # "line 7 is corrupted (leading '{' missing) — parser must skip/flag it"
    [host-logs/container-json/beats_docker_corrupted.log]=1
    # "malformed: declared length (16) disagrees with the bytes that follow":
    # the 16 bytes taken are no message (frame 1) and the rest is no frame (2)
    [host-logs/syslog-wire/telegraf_octet_counting_strict_tcp_1st_underflow_malfunction.txt]=2
    # "invalid: incomplete header '<1>2' only"
    [host-logs/syslog-wire/telegraf_rfc5424_strict_udp_min_incomplete.txt]=1
)

# Octet-counted frames (RFC 6587 "LEN SP MSG", back to back, LF or spaces
# between them tolerated); a malformed header or a frame longer than the
# rest ends the input and counts as one more item.  Input that does not
# start with a frame header is one datagram: one item.
count_frames() {
    local data len n=0

    data=$(
        cat "$1"
        printf x
    )
    data=${data%x}
    if [[ ! $data =~ ^[1-9][0-9]*\ \< ]]; then
        echo 1
        return
    fi
    while :; do
        data=${data#"${data%%[!$' \r\n']*}"}
        [ -z "$data" ] && break
        n=$((n + 1))
        len=${data%%[!0-9]*}
        if [ -z "$len" ] || [ "${len:0:1}" = 0 ] || [ "${#len}" -gt 10 ] ||
            [ "${data:${#len}:1}" != " " ]; then
            break
        fi
        data=${data:$((${#len} + 1))}
        [ "$len" -gt "${#data}" ] && break
        data=${data:$len}
    done
    echo "$n"
}

# How many items a file holds, good and bad alike, as tools other than
# ctrail see it.
count_items() {
    local f=$1 rel=$2

    case $rel in
    *.jsonl | k8s-audit/*.log | host-logs/container-json/*)
        # JSON lines: every non-blank line is one item
        grep -c '[^[:space:]]' "$f"
        ;;
    *.json)
        # documents: an array holds elements, an EventList items, an AKS
        # Event Hub batch records (each an Event as a JSON string)
        jq -c 'if type == "array" then .[]
               elif type == "object" and (.records | type) == "array" then .records[]
               elif type == "object" and .kind == "EventList" then .items[]
               else . end' "$f" | wc -l
        ;;
    host-logs/auditd/*)
        # one record per line; a line without an audit stamp is kept as text
        grep -c '[^[:space:]]' "$f"
        ;;
    host-logs/syslog-files/*)
        # lines starting with TAB continue the message before them
        grep -c -v -e $'^\t' -e '^[[:space:]]*$' "$f"
        ;;
    host-logs/syslog-wire/*)
        count_frames "$f"
        ;;
    *)
        echo "no counting rule for $rel" >&2
        echo -1
        ;;
    esac
}

# "FILE: N records stored, D duplicates, R rejected" -> "N D R"
import_counts() {
    sed -n 's/^.*: \([0-9][0-9]*\) records stored, \([0-9][0-9]*\) duplicates, \([0-9][0-9]*\) rejected$/\1 \2 \3/p'
}

mapfile -t files < <(find "$CTRAIL_FIXTURES" -type f ! -name '*.md' | sort)
[ "${#files[@]}" -gt 0 ] || skip "no fixtures under $CTRAIL_FIXTURES"
for rel in "${!expect_rejects[@]}"; do
    [ -f "$CTRAIL_FIXTURES/$rel" ] || fail "reject table names a missing fixture: $rel"
done

# ---- 1. each file on its own, into a fresh data directory ----

total_want=0
total_rejects=0
i=0
for f in "${files[@]}"; do
    rel=${f#"$CTRAIL_FIXTURES"/}
    i=$((i + 1))
    items=$(count_items "$f" "$rel")
    rej=${expect_rejects[$rel]:-0}
    want=$((items - rej))
    if [ "$items" -lt 1 ] || [ "$want" -lt 0 ]; then
        fail "$rel: cannot count its items ($items)"
        continue
    fi
    total_want=$((total_want + want))
    total_rejects=$((total_rejects + rej))

    # JSON lines: jq's own verdict on each line must agree with the table
    case $rel in
    *.jsonl | k8s-audit/*.log | host-logs/container-json/*)
        good=$(jq -cR 'fromjson? | objects' "$f" | wc -l)
        [ "$good" -eq "$want" ] || fail "$rel: jq reads $good good lines, the table says $want"
        ;;
    esac

    d=$tmp/one-$i
    out=$("$CTRAIL_BIN" --data "$d" import "$f" 2>"$tmp/err")
    rc=$?
    read -r stored dups rejected <<<"$(printf '%s\n' "$out" | import_counts)"
    if [ -z "${rejected:-}" ]; then
        fail "$rel: no import summary (exit $rc): $out $(head -3 "$tmp/err")"
        continue
    fi
    [ "$stored" -eq "$want" ] || fail "$rel: stored $stored records, want $want ($items items, $rej rejected)"
    [ "$rejected" -eq "$rej" ] || fail "$rel: rejected $rejected, want $rej: $(head -5 "$tmp/err")"
    [ "$dups" -eq 0 ] || fail "$rel: $dups duplicates in a fresh data directory"
    want_rc=0
    [ "$rej" -gt 0 ] && want_rc=3
    [ "$rc" -eq "$want_rc" ] || fail "$rel: exit status $rc, want $want_rc"
    # every reject is reported as FILE:LINE: REASON
    reported=$(grep -c "^$(printf '%s' "$f" | sed 's/[][\\.*^$]/\\&/g'):[0-9][0-9]*: ." "$tmp/err")
    [ "$reported" -eq "$rej" ] || fail "$rel: $reported rejects reported on stderr, want $rej"
    listed=$("$CTRAIL_BIN" --data "$d" events -o json | wc -l)
    [ "$listed" -eq "$stored" ] || fail "$rel: events lists $listed records, import stored $stored"
done
echo "imported ${#files[@]} fixtures one by one: $total_want records, $total_rejects rejects"

# ---- 2. everything twice into one data directory ----

# Records that are the same event in two files (byte-identical fixtures,
# SOURCES.md sha256) share a dedup key, auditID|stage or
# timeNano|id|Action, and are stored once.  (jq 1.6 reads timeNano as a
# double: two docker keys only collide if 256 ns apart in two files.)
# One jq per file: a BOM is only allowed at the start of jq's input.
k8s_keys() {
    for f in "$@"; do
        jq -r 'if (.records | type) == "array" then .records[].properties.log | fromjson
               elif .kind == "EventList" then .items[]
               else . end
               | objects | select(.auditID != null and .stage != null)
               | .auditID + "|" + .stage' "$f"
    done
}
docker_keys() {
    for f in "$@"; do
        jq -rR 'fromjson? | objects
                | [(.timeNano // .time | tostring), (.Actor.ID // .id // ""),
                   (.Action // .status)] | join("|")' "$f"
    done
}
mapfile -t k8s_files < <(printf '%s\n' "${files[@]}" | grep '/k8s-audit/')
mapfile -t docker_files < <(printf '%s\n' "${files[@]}" | grep '/docker-events/.*\.jsonl$')
keys_all=$({
    k8s_keys "${k8s_files[@]}"
    docker_keys "${docker_files[@]}"
} | wc -l)
keys_unique=$({
    k8s_keys "${k8s_files[@]}"
    docker_keys "${docker_files[@]}"
} | sort -u | wc -l)
want_dups=$((keys_all - keys_unique))
[ "$want_dups" -gt 0 ] || fail "expected the byte-identical k8s fixtures to share keys"

shared=$tmp/shared
"$CTRAIL_BIN" --data "$shared" import "${files[@]}" >"$tmp/pass1.out" 2>"$tmp/pass1.err"
rc1=$?
read -r stored1 dups1 rejected1 <<<"$(import_counts <"$tmp/pass1.out" |
    awk '{s += $1; d += $2; r += $3} END {print s + 0, d + 0, r + 0}')"
[ "$(import_counts <"$tmp/pass1.out" | wc -l)" -eq "${#files[@]}" ] ||
    fail "pass 1: $(import_counts <"$tmp/pass1.out" | wc -l) summaries for ${#files[@]} files"
[ "$rc1" -eq 3 ] || fail "pass 1: exit status $rc1, want 3 (some lines are rejected)"
[ "$rejected1" -eq "$total_rejects" ] || fail "pass 1: rejected $rejected1, want $total_rejects"
[ "$dups1" -eq "$want_dups" ] || fail "pass 1: $dups1 duplicates, want $want_dups (same event in two files)"
[ "$stored1" -eq $((total_want - want_dups)) ] ||
    fail "pass 1: stored $stored1, want $((total_want - want_dups))"

"$CTRAIL_BIN" --data "$shared" import "${files[@]}" >"$tmp/pass2.out" 2>"$tmp/pass2.err"
rc2=$?
read -r stored2 dups2 rejected2 <<<"$(import_counts <"$tmp/pass2.out" |
    awk '{s += $1; d += $2; r += $3} END {print s + 0, d + 0, r + 0}')"
[ "$(import_counts <"$tmp/pass2.out" | wc -l)" -eq "${#files[@]}" ] ||
    fail "pass 2: $(import_counts <"$tmp/pass2.out" | wc -l) summaries for ${#files[@]} files"
[ "$stored2" -eq 0 ] || fail "pass 2 stored $stored2 records again: $(grep -v ': 0 records' "$tmp/pass2.out" | head -5)"
want_rc=0
[ "$rejected2" -gt 0 ] && want_rc=3
[ "$rc2" -eq "$want_rc" ] || fail "pass 2: exit status $rc2 with $rejected2 rejected, want $want_rc"

listed=$("$CTRAIL_BIN" --data "$shared" events -o json | wc -l)
[ "$listed" -eq "$stored1" ] || fail "events lists $listed records, pass 1 stored $stored1"
echo "shared directory: $stored1 stored, $dups1 duplicates, then $stored2 on the second pass; events lists $listed"

# ---- 3. one container's timeline: ordered, and the input bytes exactly ----

lifecycle=$CTRAIL_FIXTURES/docker-events/captured-dockerd-20.10_lifecycle.jsonl
cid=5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e
if [ ! -f "$lifecycle" ]; then
    fail "missing $lifecycle"
else
    # its own events and the network events naming it; jq must agree
    grep -F "$cid" "$lifecycle" | sort >"$tmp/want.raw"
    n_want=$(wc -l <"$tmp/want.raw")
    n_jq=$(jq -c --arg c "$cid" \
        'select(.id == $c or .Actor.ID == $c or .Actor.Attributes.container == $c)' \
        "$lifecycle" | wc -l)
    [ "$n_want" -gt 0 ] && [ "$n_want" -eq "$n_jq" ] ||
        fail "timeline: grep finds $n_want lines of $cid, jq $n_jq"

    tl=$tmp/timeline
    "$CTRAIL_BIN" --data "$tl" import "$lifecycle" >/dev/null || fail "timeline: import failed"
    "$CTRAIL_BIN" --data "$tl" timeline "$cid" -o raw >"$tmp/got.raw" || fail "timeline -o raw failed"
    sort "$tmp/got.raw" | cmp -s - "$tmp/want.raw" ||
        fail "timeline -o raw is not the input lines of $cid: $(sort "$tmp/got.raw" |
            diff - "$tmp/want.raw" | head -4)"
    "$CTRAIL_BIN" --data "$tl" timeline "${cid:0:12}" -o raw | cmp -s - "$tmp/got.raw" ||
        fail "timeline by id prefix differs from timeline by full id"
    "$CTRAIL_BIN" --data "$tl" timeline "$cid" -o json | jq -r .ts >"$tmp/ts"
    [ "$(wc -l <"$tmp/ts")" -eq "$n_want" ] || fail "timeline -o json: $(wc -l <"$tmp/ts") records, want $n_want"
    sort -c "$tmp/ts" 2>/dev/null || fail "timeline -o json goes back in time: $(sort -c "$tmp/ts" 2>&1)"

    # with everything imported, the inspect snapshots join in, still in order,
    # and every docker line of the container is there once, byte for byte
    "$CTRAIL_BIN" --data "$shared" timeline "$cid" -o json | jq -r .ts >"$tmp/ts.all"
    [ "$(wc -l <"$tmp/ts.all")" -gt "$n_want" ] || fail "shared timeline has no inspect records"
    sort -c "$tmp/ts.all" 2>/dev/null || fail "shared timeline goes back in time"
    "$CTRAIL_BIN" --data "$shared" timeline "$cid" -o raw |
        grep -x -F -f "$tmp/want.raw" | sort | cmp -s - "$tmp/want.raw" ||
        fail "shared timeline does not hold each input line of $cid exactly once"
    # renamed from web-1 to web-renamed: both names find it, the catalog keeps the old one
    "$CTRAIL_BIN" --data "$tl" timeline web-1 -o raw | cmp -s - "$tmp/got.raw" ||
        fail "timeline by the name before the rename differs"
    "$CTRAIL_BIN" --data "$tl" timeline web-renamed -o raw | cmp -s - "$tmp/got.raw" ||
        fail "timeline by the name after the rename differs"
    "$CTRAIL_BIN" --data "$tl" containers -o json |
        jq -se --arg c "$cid" 'any(.[]; .id == $c and .name == "web-renamed" and .details.former_names["web-1"] != null)' \
            >/dev/null || fail "catalog: no rename of $cid from web-1 to web-renamed"
    echo "timeline of ${cid:0:12}: $n_want docker events, raw identical, in time order"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "ok"
exit 0
