#!/usr/bin/env bash
# tests/integration/crash_safety.sh - acknowledged records survive SIGKILL.
#
# Part 1, crash trials: tests/tools/crash_writer appends generated records
# from 4 threads into one data directory (64 KiB blocks, so blocks are sealed
# all the time) and prints each record's key only after ct_store_append
# returned.  Each trial SIGKILLs it after a random 20-400 ms: during open and
# recovery, mid group commit, mid seal.  The directory is reused, so every
# trial starts by recovering from the previous crash.  After each kill:
#   - `ctrail verify` exits 0 (the chain, checksums and signatures hold);
#   - every key ever acknowledged is in `ctrail events -o json` exactly once,
#     no key is stored twice, and verify's block + journal counts equal the
#     records listed.
# Each trial also re-appends a few keys of the previous (killed) trial: they
# must be acknowledged as stored or as duplicates, never stored twice.
# Every tenth trial the records' bytes are checked too (-o raw: each line is
# "key=K len=N ..." of exactly N bytes; -o json parses with jq).
#
# Part 2, torn tails: a writer is abandoned with records in the journal;
# sealing that journal (in a copy) gives the exact bytes the next block
# would have had.  Appending a prefix of them (1, 100, 128, 129, half, all
# but one, and all bytes: a crash between the segment fsync and the index
# commit) or plain garbage to the newest segment simulates a crash mid
# seal.  Then: verify passes (noting the bytes), readers still list every
# acknowledged record, the next writer open cuts the tail and seals the
# journal again, and afterwards verify is clean, the complete blocks are
# byte-for-byte unchanged and every acknowledged record is there once.
# Truncating an indexed block (not a torn write: its journal rows are gone)
# must be reported by verify and refused by the writer, never silently cut.
#
# Knobs: CTRAIL_CRASH_TRIALS (default 50), CTRAIL_CRASH_SEED.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_writer
need_tools jq awk sort comm cmp truncate head

TRIALS=${CTRAIL_CRASH_TRIALS:-50}
SEED=${CTRAIL_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
echo "crash_safety: $TRIALS trials, seed $SEED (CTRAIL_CRASH_SEED=$SEED reproduces the delays)"

make_tmp crash

D=$TMP/data
ACKED=$TMP/acked        # every acknowledged key, one a line (repeats allowed)
: > "$ACKED"

# Keys of the ack lines in FILE; a line cut by the kill (no " end") is not an ack.
acks_of() {
    sed -n -E 's/^ack ([0-9]+-[0-9]+-[0-9]+)( dup)? end$/\1/p' "$1"
}

# check_store DIR LABEL [deep]: verify, then every acknowledged key once.
# Sets VERIFY_OUT (verify's stdout) and N_RECORDS.
check_store() {
    local dir=$1 label=$2 deep=${3:-} rc blocks_recs journal n keys dups missing
    VERIFY_OUT=$("$CTRAIL" --data "$dir" verify 2>"$TMP/verify.err")
    rc=$?
    [ $rc -eq 0 ] || die "$label: ctrail verify exited $rc: $VERIFY_OUT $(cat "$TMP/verify.err")"
    blocks_recs=$(sed -n -E 's/^ok: [0-9]+ blocks, ([0-9]+) records.*/\1/p' <<<"$VERIFY_OUT")
    journal=$(sed -n -E 's/.*; ([0-9]+) records in the journal.*/\1/p' <<<"$VERIFY_OUT")
    [ -n "$blocks_recs" ] && [ -n "$journal" ] ||
        die "$label: cannot read verify's counts from: $VERIFY_OUT"
    "$CTRAIL" --data "$dir" events -o json > "$TMP/events.json" 2>"$TMP/events.err" ||
        die "$label: ctrail events exited $?: $(cat "$TMP/events.err")"
    n=$(wc -l < "$TMP/events.json")
    grep -oE '"raw":"key=[0-9]+-[0-9]+-[0-9]+ len=' "$TMP/events.json" | cut -c12- | cut -d' ' -f1 \
        > "$TMP/stored"
    keys=$(wc -l < "$TMP/stored")
    [ "$keys" -eq "$n" ] || die "$label: $n records listed but only $keys carry a writer key"
    [ $((blocks_recs + journal)) -eq "$n" ] ||
        die "$label: verify counts $blocks_recs sealed + $journal journal records, events lists $n"
    dups=$(sort "$TMP/stored" | uniq -d | head -5)
    [ -z "$dups" ] || die "$label: keys stored more than once: $dups"
    sort -u "$TMP/stored" > "$TMP/stored.sorted"
    sort -u "$ACKED" > "$TMP/acked.sorted"
    missing=$(comm -23 "$TMP/acked.sorted" "$TMP/stored.sorted" | head -5)
    [ -z "$missing" ] ||
        die "$label: acknowledged records lost ($(comm -23 "$TMP/acked.sorted" "$TMP/stored.sorted" | wc -l)), e.g. $missing"
    N_RECORDS=$n
    [ -n "$deep" ] || return 0
    # the bytes: each raw line is exactly as long as it says, the envelope is right
    "$CTRAIL" --data "$dir" events -o raw > "$TMP/events.raw" ||
        die "$label: ctrail events -o raw exited $?"
    awk -v label="$label" '
        match($0, /^key=[0-9]+-[0-9]+-[0-9]+ len=[0-9]+ /) {
            split(substr($0, 1, RLENGTH), f, /[= ]/)
            if (length($0) != f[4] + 0) { print label ": record " f[2] " is " length($0) " bytes, wrote " f[4]; bad = 1; exit }
            next
        }
        { print label ": raw line " NR " is not a writer record: " substr($0, 1, 80); bad = 1; exit }
        END { exit bad }' "$TMP/events.raw" >&2 || die "$label: record bytes damaged"
    [ "$(wc -l < "$TMP/events.raw")" -eq "$n" ] || die "$label: -o raw and -o json disagree on the count"
    bad=$(jq -r 'select((.source == "text" and .kind == "test.crash" and .host == "crash-writer"
                          and (.ts | test("^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{9}Z$"))) | not)
                 | .raw[0:40]' "$TMP/events.json") || die "$label: -o json output does not parse"
    [ -z "$bad" ] || die "$label: records with a wrong envelope: $(head -3 <<<"$bad")"
}

# ---- part 1: SIGKILL trials ----
# The store is created first, so that kills land in recovery and appends.  A
# kill during the very first open (key pair creation) is crash_first_open.sh's.
"$WRITER" --data "$D" --count 0 > /dev/null 2> "$TMP/create.err" ||
    die "creating the store: $(cat "$TMP/create.err")"
t0=$SECONDS
trials_acked=0
torn_seen=0
cut_at_open=0
journal_left=0
for ((i = 1; i <= TRIALS; i++)); do
    delay=$((20 + RANDOM % 381))
    if [ $((i % 3)) -eq 0 ]; then
        # one thread, calls of ~48 KiB on an emptied journal: sealed directly
        mode=(--threads 1 --batch-bytes 49152 --seal-first)
    else
        # four threads, 1-4 records a call, group-committed into the journal
        mode=(--threads 4 --reappend-run $((i - 1)) --reappend-count 3)
    fi
    "$WRITER" --data "$D" --run "$i" "${mode[@]}" --segment-bytes 1048576 --pause-us 2000 \
        --max-seconds 30 > "$TMP/acks.$i" 2> "$TMP/err.$i" &
    WPID=$!
    track "$WPID" KILL
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    if ! kill -0 "$WPID" 2>/dev/null; then
        wait "$WPID"
        die "trial $i: the writer exited ($?) before it was killed: $(head -c 2000 "$TMP/err.$i")"
    fi
    kill -KILL "$WPID"
    { wait "$WPID"; } 2>/dev/null # no "Killed" line from the shell
    st=$?
    untrack "$WPID"
    WPID=""
    [ $st -eq 137 ] || die "trial $i: the writer ended with $st, not by SIGKILL: $(head -c 2000 "$TMP/err.$i")"
    if grep -q '^crash_writer:' "$TMP/err.$i"; then
        die "trial $i: the writer reported an error: $(grep '^crash_writer:' "$TMP/err.$i" | head -3)"
    fi
    grep -q 'cutting .* unindexed tail' "$TMP/err.$i" && cut_at_open=$((cut_at_open + 1))
    n_acks=$(acks_of "$TMP/acks.$i" | tee -a "$ACKED" | wc -l)
    [ "$n_acks" -gt 0 ] && trials_acked=$((trials_acked + 1))
    deep=""
    [ $((i % 10)) -eq 0 ] && deep=deep
    check_store "$D" "trial $i (killed after ${delay} ms, $n_acks acks)" $deep
    grep -q 'bytes past the last indexed block' <<<"$VERIFY_OUT" && torn_seen=$((torn_seen + 1))
    grep -q '[1-9][0-9]* records in the journal' <<<"$VERIFY_OUT" && journal_left=$((journal_left + 1))
done
total_acked=$(sort -u "$ACKED" | wc -l)
n_segs=$(ls "$D/segments" | wc -l)
echo "crash_safety: $TRIALS kills in $((SECONDS - t0)) s: $total_acked keys acknowledged," \
    "$N_RECORDS records stored in $n_segs segments; $trials_acked trials acknowledged something," \
    "$journal_left left journal rows, $torn_seen left a torn segment tail," \
    "$cut_at_open recoveries cut a tail"
[ "$trials_acked" -ge $((TRIALS / 2)) ] ||
    die "only $trials_acked of $TRIALS trials acknowledged any record: the trials tested nothing"

# ---- part 2: torn tails ----
t0=$SECONDS
# a writer that stops right after its last acknowledgement (no close, no seal)
for ((r = 0; r < 5; r++)); do
    "$WRITER" --data "$D" --threads 2 --count 30 --run $((100000 + r)) --abandon \
        > "$TMP/abandon.out" 2> "$TMP/abandon.err" || die "abandoned writer: $(cat "$TMP/abandon.err")"
    acks_of "$TMP/abandon.out" >> "$ACKED"
    check_store "$D" "abandoned writer $r"
    grep -q '[1-9][0-9]* records in the journal' <<<"$VERIFY_OUT" && break
done
grep -q '[1-9][0-9]* records in the journal' <<<"$VERIFY_OUT" ||
    die "could not leave records in the journal: $VERIFY_OUT"
P=$TMP/pristine
Q=$TMP/sealed
cp -a "$D" "$P" && cp -a "$D" "$Q" || die "copying the data directory"
seg=$(cd "$P/segments" && ls | sort | tail -1)
[ -n "$seg" ] || die "no segment file in $P/segments"
# the abandoned writer's sealer may have been writing a block when it
# exited: that torn tail is not part of the pristine state
size0=$(sqlite3 "$P/index.db" "SELECT coalesce((SELECT offset + length FROM blocks
    WHERE segment = $((10#${seg%.seg})) ORDER BY id DESC LIMIT 1), 32)")
truncate -s "$size0" "$P/segments/$seg" || die "cutting the abandoned writer's tail"
# what the crashed seal was writing: seal the same journal in a copy
"$WRITER" --data "$Q" --count 0 > /dev/null 2> "$TMP/q.err" || die "sealing the copy: $(cat "$TMP/q.err")"
check_store "$Q" "sealed copy" deep
grep -q ' 0 records in the journal' <<<"$VERIFY_OUT" || die "closing the writer left journal rows: $VERIFY_OUT"
cp "$TMP/stored.sorted" "$TMP/q.keys"
[ "$(cd "$Q/segments" && ls | sort | tail -1)" = "$seg" ] || die "sealing the copy started a new segment"
size_q=$(stat -c %s "$Q/segments/$seg")
tail_len=$((size_q - size0))
[ $tail_len -gt 129 ] || die "sealing the journal added only $tail_len bytes"
tail -c +$((size0 + 1)) "$Q/segments/$seg" > "$TMP/block.bin"
head -c 4096 /dev/urandom > "$TMP/garbage.bin"

for cut in 1 100 128 129 $((tail_len / 2)) $((tail_len - 1)) $tail_len garbage; do
    T=$TMP/torn-$cut
    rm -rf "$T"
    cp -a "$P" "$T" || die "copying the data directory"
    if [ "$cut" = garbage ]; then
        cat "$TMP/garbage.bin" >> "$T/segments/$seg"
        what="4096 garbage bytes after the last block"
    else
        head -c "$cut" "$TMP/block.bin" >> "$T/segments/$seg"
        what="a seal torn after $cut of $tail_len bytes"
    fi
    # before recovery: the index is intact, readers see every acknowledged record
    check_store "$T" "$what, before reopening"
    grep -q 'bytes past the last indexed block' <<<"$VERIFY_OUT" ||
        die "$what: verify does not mention the bytes past the last block: $VERIFY_OUT"
    # the next writer open cuts the tail and seals the journal again
    "$WRITER" --data "$T" --count 0 > /dev/null 2> "$TMP/reopen.err" ||
        die "$what: the writer cannot open the store: $(cat "$TMP/reopen.err")"
    check_store "$T" "$what, after reopening" deep
    grep -q 'bytes past\|note:' <<<"$VERIFY_OUT" && die "$what: a tail remains after recovery: $VERIFY_OUT"
    grep -q ' 0 records in the journal' <<<"$VERIFY_OUT" || die "$what: journal not sealed at close: $VERIFY_OUT"
    cmp -s -n "$size0" "$P/segments/$seg" "$T/segments/$seg" ||
        die "$what: recovery changed bytes of complete blocks"
    cmp -s "$TMP/stored.sorted" "$TMP/q.keys" ||
        die "$what: recovered store holds other records than a clean seal of the same journal"
    # and it keeps working: more records, reopened, still all there
    "$WRITER" --data "$T" --threads 2 --count 20 --run 200000 > "$TMP/more.out" 2> "$TMP/more.err" ||
        die "$what: appending after recovery: $(cat "$TMP/more.err")"
    acks_of "$TMP/more.out" >> "$ACKED"
    check_store "$T" "$what, after more appends"
    sed -i '/^200000-/d' "$ACKED"
    rm -rf "$T"
done

# Truncating an indexed block is damage, not a torn write: its journal rows
# are gone, so cutting it would lose acknowledged records.
T=$TMP/truncated
cp -a "$P" "$T" || die "copying the data directory"
truncate -s $((size0 - 7)) "$T/segments/$seg"
out=$("$CTRAIL" --data "$T" verify 2>&1)
rc=$?
[ $rc -ne 0 ] || die "verify passes a segment whose last block lost 7 bytes: $out"
grep -q "$seg" <<<"$out" || die "verify's report does not name $seg: $out"
"$WRITER" --data "$T" --count 0 > /dev/null 2> "$TMP/trunc.err" &&
    die "the writer opened a store whose indexed block was truncated"
[ "$(stat -c %s "$T/segments/$seg")" -eq $((size0 - 7)) ] ||
    die "the refused open still changed $seg"
grep -q "$seg" "$TMP/trunc.err" || die "the writer's refusal does not name $seg: $(cat "$TMP/trunc.err")"
echo "crash_safety: torn tails ($tail_len-byte block cut 7 ways, and garbage) recovered in $((SECONDS - t0)) s"
echo "PASS"
exit 0
