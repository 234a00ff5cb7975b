#!/usr/bin/env bash
# tests/integration/tail_fixtures.sh - every host-logs fixture, tailed by serve.
#
# All files of tests/fixtures/host-logs are copied into one directory that a
# `ctrail serve --tail 'DIR/*'` follows, and imported with `ctrail import`
# into another store.  Files are tailed as lines (auditd, syslog files,
# Docker json-file logs):
#   - auditd, syslog-files, container-json: the tail stores exactly what
#     import stores: the same (source, kind, raw) records, file by file,
#     and the same count per file (the syslog continuation lines of the
#     macOS sample joined, the corrupted json-file line rejected by both);
#   - syslog-wire (bytes as sent to a socket, octet-counted frames that
#     only a socket receiver reads as frames): one record per non-blank
#     line, but the bare '<1>2', which is rejected with its reason.
# Then a real Docker json-file log placed at
# .../containers/<id>/<id>-json.log is keyed to <id>: `ctrail timeline <id>`
# (and a 12-digit prefix) shows every line, with stream and time taken
# from the lines.
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_fixtures host-logs "CTRAIL_FIXTURES has no host-logs"
need_tools jq
make_tmp tailfx
POLL=0.2

# ---- every fixture: tail vs import ----
FILES=$TMP/files WIRE=$TMP/wire
mkdir -p "$FILES" "$WIRE"
n_files=0
for f in "$FX"/host-logs/*/*; do
    kind=$(basename "$(dirname "$f")")
    dest=$FILES
    [ "$kind" = syslog-wire ] && dest=$WIRE
    cp "$f" "$dest/${kind}__$(basename "$f")"
    n_files=$((n_files + 1))
done
note "$n_files fixture files"

# settled: the record count stays the same for 6 s (a last line without
# LF is delivered after 5 s of quiet)
settle() { # DATA
    local prev=-1 c
    for _ in $(seq 1 20); do
        c=$("$CTRAIL" --data "$1" events -o json | wc -l)
        [ "$c" -eq "$prev" ] && [ "$c" -gt 0 ] && return 0
        prev=$c
        sleep 6
    done
    return 1
}
serve_start fx "$TMP/tail" --tail "$FILES/*" --tail "$WIRE/*"
settle "$TMP/tail" || fail "the tail did not settle"
serve_stop

"$CTRAIL" --data "$TMP/imp" import "$FILES"/* >/dev/null 2>"$TMP/imp.err"
recs() { # DATA
    "$CTRAIL" --data "$1" events -o json | jq -c '[.source, .kind, .raw]' | sort
}
recs "$TMP/imp" >"$TMP/imp.recs"
recs "$TMP/tail" >"$TMP/tail.recs"
for f in "$FILES"/*; do
    # each file alone, for the per-file figures
    "$CTRAIL" --data "$TMP/one" import "$f" >/dev/null 2>&1
    n=$(recs "$TMP/one" | wc -l)
    rm -rf "$TMP/one"
    [ "$n" -gt 0 ] || fail "$(basename "$f"): import stored nothing"
    note "$(basename "$f"): $n records"
done
# the tail's records from the wire files are text/syslog lines of them
: >"$TMP/wire.lines"
for f in "$WIRE"/*; do
    case "$f" in
    *min_incomplete*) # '<1>2': a PRI and nothing else, rejected with its reason
        grep -q "$(basename "$f")' offset 0: line rejected: rfc 5424 header is truncated" "$TMP/fx.log" ||
            fail "$(basename "$f"): not rejected"
        continue ;;
    esac
    (cat "$f"; echo) | tr -d '\r' | grep '[^[:space:]]' >>"$TMP/wire.lines"
done
jq -r 'select(.[0] == "text" or .[0] == "syslog") | .[2]' "$TMP/tail.recs" |
    grep -xFf "$TMP/wire.lines" | sort >"$TMP/tail.wire"
sort "$TMP/wire.lines" >"$TMP/wire.sorted"
cmp -s "$TMP/tail.wire" "$TMP/wire.sorted" ||
    fail "wire files: the tail stored $(wc -l <"$TMP/tail.wire") of $(wc -l <"$TMP/wire.sorted") non-blank lines: $(diff "$TMP/wire.sorted" "$TMP/tail.wire" | head -5)"
note "wire files: $(wc -l <"$TMP/tail.wire") lines"
# what is left of the tail's records must be exactly what import stored
jq -c 'select((.[0] == "text" or .[0] == "syslog") | not)' "$TMP/tail.recs" >"$TMP/tail.files"
jq -c 'select(.[0] == "text" or .[0] == "syslog")' "$TMP/tail.recs" |
    while IFS= read -r rec; do
        grep -qxF -- "$(jq -r '.[2]' <<<"$rec")" "$TMP/wire.lines" || printf '%s\n' "$rec"
    done >>"$TMP/tail.files"
sort -o "$TMP/tail.files" "$TMP/tail.files"
if ! cmp -s "$TMP/imp.recs" "$TMP/tail.files"; then
    fail "tail and import disagree: $(diff "$TMP/imp.recs" "$TMP/tail.files" | head -10)"
fi
note "file fixtures: tail $(wc -l <"$TMP/tail.files") records, import $(wc -l <"$TMP/imp.recs")"
grep -q "line rejected" "$TMP/fx.log" || fail "the corrupted json-file line was not rejected"

# ---- a Docker json-file log at its real path ----
CID=7f3a9c2e5b1d4f60a8e2c9b7d5f3e1a09c8b7a6f5e4d3c2b1a0f9e8d7c6b5a41
CDIR=$TMP/root/var/lib/docker/containers/$CID
mkdir -p "$CDIR"
serve_start clog "$TMP/clog" --tail "$TMP/root/var/lib/docker/containers/*/*-json.log"
cp "$FX/host-logs/container-json/beats_docker_corrupted.log" "$CDIR/$CID-json.log"
want=$(grep -c '^{' "$FX/host-logs/container-json/beats_docker_corrupted.log")
tl() { "$CTRAIL" --data "$TMP/clog" timeline "$1" -o json 2>/dev/null; }
keyed() { [ "$(tl "$CID" | jq -s '[.[] | select(.source == "container_log")] | length')" -ge "$want" ]; }
wait_until 15 keyed || fail "json-file: timeline $CID shows $(tl "$CID" | wc -l) records, want $want"
serve_stop
got=$(tl "$CID" | jq -s "[.[] | select(.container == \"$CID\" and .kind == \"container_log.stdout\")] | length")
[ "$got" -eq "$want" ] || fail "json-file: $got stdout records keyed to the container, want $want"
short=$(tl "${CID:0:12}" | jq -s length)
[ "$short" -eq "$want" ] || fail "json-file: timeline ${CID:0:12} shows $short records, want $want"
first=$(tl "$CID" | jq -r 'select(.source == "container_log") | .ts' | head -1)
[ "$first" = "2016-03-02T22:58:51.338462311Z" ] || fail "json-file: first time $first, not the line's"

[ "$FAILS" -eq 0 ] || { echo "tail_fixtures: $FAILS failure(s)"; exit 1; }
echo "tail_fixtures: ok"
