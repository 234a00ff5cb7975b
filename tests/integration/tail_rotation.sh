#!/usr/bin/env bash
# tests/integration/tail_rotation.sh - `ctrail serve --tail` under a live writer.
#
# A writer (a bash loop appending numbered lines, a few ms apart, opening the
# file for each line as cron jobs and scripts do) keeps writing while:
#   1. the log is rotated by rename (mv app.log app.log.1; the writer's next
#      line creates a new app.log): the old file is finished by its
#      descriptor, then the new one is read;
#   2. it is rotated by copytruncate (cp app.log app.log.2; truncate): the
#      copy is finished from the cursor, then the truncated file from 0.
#      The writer is paused (SIGSTOP) for the cp and the truncate only:
#      lines written between the two are in neither file, a loss that is
#      copytruncate's own (logrotate's manual says so), not ctrail's;
#   3. serve is stopped with SIGTERM, the log is rotated again while it is
#      down, and serve is started again: it finishes app.log.3 from its
#      cursor, then reads the new app.log;
#   4. serve is killed with SIGKILL and started again.
# Then every number the writer wrote must be stored exactly once (the set of
# numbers from `ctrail events -o json --source text` equals 1..N, no
# repeats), and the log must show each path was taken.
# A second serve follows a glob: a file created after it started is read,
# and one deleted and created again is read again, without a gap suspected.
#
# Environment: CTRAIL_BIN.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools jq sort comm
make_tmp tail

stored_numbers() { # DATA -> sorted numbers of the stored writer lines
    "$CTRAIL" --data "$1" events -o json --source text |
        jq -r '.raw' | sed -n 's/^line \([0-9]*\) of the writer.*/\1/p' | awk '{ print $1 + 0 }' | sort
}

DATA=$TMP/data
LOGDIR=$TMP/logs
LOG=$LOGDIR/app.log
mkdir -p "$LOGDIR"

# ---- the writer ----
(
    i=0
    while [ ! -e "$TMP/stop" ]; do
        i=$((i + 1))
        printf 'line %06d of the writer, some padding to look like a log line\n' "$i" >>"$LOG"
        sleep 0.003
    done
    echo "$i" >"$TMP/last"
) &
WPID=$!
track "$WPID"
wait_until 5 test -s "$LOG" || die "the writer did not start"

serve_start s1 "$DATA" --tail "$LOG"
sleep 1.5

note "rename rotation"
mv "$LOG" "$LOG.1"
sleep 2

note "copytruncate"
kill -STOP "$WPID"
cp "$LOG" "$LOG.2" && truncate -s 0 "$LOG"
kill -CONT "$WPID"
sleep 2

note "SIGTERM, rotation while stopped, start again"
serve_stop
sleep 0.7
mv "$LOG" "$LOG.3"
sleep 0.7
serve_start s2 "$DATA" --tail "$LOG"
sleep 2

note "SIGKILL, start again"
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null
untrack "$SPID"
sleep 0.5
serve_start s3 "$DATA" --tail "$LOG"
sleep 1.5

touch "$TMP/stop"
wait "$WPID"
untrack "$WPID"
LAST=$(cat "$TMP/last")
note "the writer wrote $LAST lines"
[ "$LAST" -gt 100 ] || fail "the writer wrote only $LAST lines"
all_stored() { [ "$(stored_numbers "$DATA" | wc -l)" -ge "$LAST" ]; }
wait_until 20 all_stored || fail "not every line arrived in 20 s"
serve_stop

stored_numbers "$DATA" >"$TMP/stored"
seq 1 "$LAST" | sort >"$TMP/written"
DUPS=$(uniq -d "$TMP/stored" | wc -l)
MISSING=$(sort -u "$TMP/stored" | comm -13 - "$TMP/written" | wc -l)
EXTRA=$(sort -u "$TMP/stored" | comm -23 - "$TMP/written" | wc -l)
note "stored $(wc -l <"$TMP/stored") lines: $DUPS repeated, $MISSING missing, $EXTRA unknown"
[ "$DUPS" -eq 0 ] || fail "$DUPS numbers stored more than once: $(uniq -d "$TMP/stored" | head -5 | tr '\n' ' ')"
[ "$MISSING" -eq 0 ] || fail "$MISSING numbers missing: $(sort -u "$TMP/stored" | comm -13 - "$TMP/written" | head -5 | tr '\n' ' ')"
[ "$EXTRA" -eq 0 ] || fail "$EXTRA numbers never written"

grep -q "names another file now\|was moved or deleted" "$TMP/s1.log" || fail "s1 did not see the rename rotation"
grep -q "rotated: finished the old file" "$TMP/s1.log" || fail "s1 did not finish the renamed file: $(grep tail: "$TMP/s1.log")"
grep -q "copytruncate): finishing its copy '$LOG.2'" "$TMP/s1.log" ||
    fail "s1 did not finish the copytruncate copy: $(grep tail: "$TMP/s1.log")"
grep -q "rotated while ctrail was stopped: finishing '$LOG.3'" "$TMP/s2.log" ||
    fail "s2 did not finish the file rotated while it was down: $(grep tail: "$TMP/s2.log")"
grep -q "resuming at offset" "$TMP/s3.log" || fail "s3 did not resume from its cursor: $(grep tail: "$TMP/s3.log")"
if grep -q "possible gap" "$TMP"/s*.log; then fail "a gap was logged: $(grep -h 'possible gap' "$TMP"/s*.log)"; fi

# ---- glob pickup ----
note "glob: a file created after the start is read"
GD=$TMP/glob
mkdir -p "$GD"
printf 'early %d\n' 1 2 3 >"$GD/a.log"
printf 'not matched\n' >"$GD/a.txt"
serve_start g1 "$TMP/gdata" --tail "$GD/*.log"
sleep 0.5
printf 'late %d\n' 1 2 3 4 5 >"$GD/b.log"
printf 'moved in %d\n' 1 2 >"$GD/.c.tmp" && mv "$GD/.c.tmp" "$GD/c.log"
glob_count() { [ "$("$CTRAIL" --data "$TMP/gdata" events -o json --source text | jq -s length)" -ge 10 ]; }
wait_until 10 glob_count || fail "glob: the new files were not read in 10 s"
note "glob: a file deleted, forgotten, and created again"
rm "$GD/b.log"
sleep 3
printf 'again %d\n' 1 2 >"$GD/b.log"
glob_again() { [ "$("$CTRAIL" --data "$TMP/gdata" events -o json --source text | jq -s length)" -ge 12 ]; }
wait_until 10 glob_again || fail "glob: the file created again was not read in 10 s"
serve_stop
GOT=$("$CTRAIL" --data "$TMP/gdata" events -o json --source text | jq -r .raw | sort | tr '\n' ,)
[ "$GOT" = "again 1,again 2,early 1,early 2,early 3,late 1,late 2,late 3,late 4,late 5,moved in 1,moved in 2," ] ||
    fail "glob: stored '$GOT'"
if grep -q "possible gap" "$TMP/g1.log"; then fail "glob: a gap was suspected: $(grep 'possible gap' "$TMP/g1.log")"; fi

[ "$FAILS" -eq 0 ] || { echo "tail_rotation: $FAILS failure(s)"; exit 1; }
echo "tail_rotation: ok"
