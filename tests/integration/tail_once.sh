#!/usr/bin/env bash
# tests/integration/tail_once.sh - a file reaches the store once, however
# `ctrail serve --tail` and `ctrail import` name it.
#
#   - one file given twice to --tail, through a symlink, and matched by a
#     glob (which also matches the symlink): its lines are stored once each,
#     and /readyz says the tails are ready; after a restart of serve with
#     the same tails, the new lines too, and nothing again;
#   - tail after import: a file imported, then followed: the tail starts
#     where the import stopped; and a tail that had followed it before the
#     import (its cursor behind) also starts after the import;
#   - import after tail: lines a tail stored are not imported again, by the
#     absolute path or through a symlink; the lines added since are;
#   - not covered (documented): a copy of the file at another path.
#
# Environment: CTRAIL_BIN.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools jq curl
make_tmp tailonce
POLL=0.2

D=$TMP/logs
DATA=$TMP/data
mkdir -p "$D"

raws() { "$CTRAIL" --data "$DATA" events -o json --source text | jq -r .raw; }
count() { raws | grep -c -- "$1"; } # lines stored that hold $1
have() { [ "$(count "$1")" -ge "$2" ]; }
once() { # TAG N WHAT: N lines tagged TAG stored, each once
    local dups n
    n=$(count "$1 ")
    dups=$(raws | grep -- "$1 " | sort | uniq -d | head -n 3)
    [ "$n" = "$2" ] && [ -z "$dups" ] || fail "$3: $n lines '$1 ...' stored, want $2 once each (twice: $dups)"
}
lines() { # TAG FROM TO FILE: append lines "TAG i"
    local i
    for ((i = $2; i <= $3; i++)); do echo "$1 $i"; done >>"$4"
}

# ---- one file, four names ----
A=$D/a.log
ln -s a.log "$D/link.log"
lines one 1 100 "$A"
TAILS=(--tail "$A" --tail "$A" --tail "$D/link.log" --tail "$D/*.log")
serve_start first "$DATA" "${TAILS[@]}"
wait_until 15 have "one " 100 || fail "a.log was not read: $(count "one ") lines"
lines one 101 150 "$A"
wait_until 15 have "one " 150 || fail "the lines added to a.log were not read"
sleep 1 # a second tail that would read it too has had four polls
once one 150 "one file followed by four tails"
grep -q "is the file .* is read at (same device and inode): read once, there" "$SLOG" ||
    fail "no log line says a file is read once"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] ||
    fail "readyz with tails that share a file: $(curl -s "$URL/readyz")"
serve_stop
lines one 151 170 "$A"
serve_start second "$DATA" "${TAILS[@]}"
wait_until 15 have "one " 170 || fail "after a restart the new lines of a.log were not read"
sleep 1
once one 170 "after a restart with the same four tails"
serve_stop

# ---- tail after import ----
B=$D/b.txt
lines two 1 100 "$B"
"$CTRAIL" --data "$DATA" import "$B" >/dev/null || fail "import of b.txt"
once two 100 "import"
serve_start third "$DATA" --tail "$B"
lines two 101 120 "$B"
wait_until 15 have "two " 120 || fail "b.txt: the lines after the import were not read"
sleep 1
once two 120 "tail after import"
grep -q "b.txt': the lines up to offset [0-9]* are stored already, by 'ctrail import'" "$SLOG" ||
    fail "no log line says the tail starts after the import"
serve_stop

# ---- import after tail ----
lines two 121 150 "$B" # while serve is stopped
"$CTRAIL" --data "$DATA" import "$B" >/dev/null || fail "second import of b.txt"
once two 150 "import after tail (and after an import)"
C=$D/c.txt
lines three 1 40 "$C"
ln -s c.txt "$D/c-link.txt"
serve_start fourth "$DATA" --tail "$C" --tail "$B"
wait_until 15 have "three " 40 || fail "c.txt was not read"
lines two 151 160 "$B" # the tail's cursor on b.txt was behind the last import
wait_until 15 have "two " 160 || fail "b.txt: the lines after the second import were not read"
sleep 1
once two 160 "a tail whose cursor was behind an import"
serve_stop
lines three 41 50 "$C"
"$CTRAIL" --data "$DATA" import "$C" >/dev/null || fail "import of c.txt"
once three 50 "import after tail"
lines three 51 55 "$C"
"$CTRAIL" --data "$DATA" import "$D/c-link.txt" >/dev/null || fail "import of c-link.txt"
once three 55 "import through a symlink after tail and import"

# not covered: a copy at another path (with a line more, or the import of
# the same content would skip it whole) is imported again
cp "$C" "$TMP/c-copy.txt"
echo "copy 1" >>"$TMP/c-copy.txt"
"$CTRAIL" --data "$DATA" import "$TMP/c-copy.txt" >/dev/null || fail "import of the copy"
[ "$(raws | grep -c '^three 1$')" = 2 ] || fail "a copy at another path: documented as stored again"

"$CTRAIL" --data "$DATA" verify >/dev/null || fail "verify"
if [ "$FAILS" -gt 0 ]; then
    echo "tail_once: $FAILS failures (serve logs in $TMP)"
    exit 1
fi
echo "tail_once: all checks passed"
