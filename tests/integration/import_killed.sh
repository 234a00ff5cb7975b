#!/usr/bin/env bash
# tests/integration/import_killed.sh - an import killed and run again
# stores every record once.
#
# 60,000 generated records of every source (Docker events and audit events,
# which carry dedup keys; inspect snapshots and log lines, which do not) are
# imported once into a clean store: the reference.  Then, into a second
# store, the same file is imported and SIGKILLed at random moments
# (CTRAIL_KILL_TRIALS times, default 8), `ctrail verify` clean after each
# kill, and finally imported to its end.  The store must then hold exactly
# the reference's records, compared record for record (the raw payloads,
# sorted, with their counts), and a further import must store nothing.
# The same is done once through standard input (`ctrail import -`), whose
# progress is remembered by the content's hash.
#
# Knobs: CTRAIL_KILL_TRIALS, CTRAIL_KILL_SEED, CTRAIL_KILL_RECORDS.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_gen
need_fixtures
need_tools sort cmp sha256sum

TRIALS=${CTRAIL_KILL_TRIALS:-8}
N=${CTRAIL_KILL_RECORDS:-60000}
SEED=${CTRAIL_KILL_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
echo "import_killed: $N records, $TRIALS kills, seed $SEED (CTRAIL_KILL_SEED=$SEED reproduces the delays)"

make_tmp import-killed
IN=$TMP/mixed.jsonl
"$GEN" --records "$N" --fixtures "$FX" --seed 13 > "$IN" || die "ctrail-gen failed"

# records DIR OUT: every stored record's raw payload, sorted.
records() {
    "$CTRAIL" --data "$1" events -n 0 -o raw > "$2.unsorted" || die "events failed on $1"
    LC_ALL=C sort "$2.unsorted" > "$2"
}

start=${EPOCHREALTIME/[.,]/}
"$CTRAIL" --data "$TMP/ref" import "$IN" > "$TMP/ref.out" || die "the clean import failed: $(cat "$TMP/ref.out")"
took_us=$(( ${EPOCHREALTIME/[.,]/} - start ))
grep -q "$N records stored" "$TMP/ref.out" || die "the clean import stored other than $N: $(cat "$TMP/ref.out")"
records "$TMP/ref" "$TMP/ref.sorted"
[ "$(wc -l < "$TMP/ref.sorted.unsorted")" -ge "$N" ] || die "the reference lists fewer than $N records"
echo "the clean import took $((took_us / 1000)) ms"

# kill_trials DIR LABEL CMD...: run CMD (an import into DIR) TRIALS times,
# SIGKILLed at random moments spread over the clean import's time, verify
# after each.
kill_trials() {
    local dir=$1 label=$2 t delay_us pid
    shift 2
    for ((t = 1; t <= TRIALS; t++)); do
        # trial t kills within the t-th of TRIALS equal parts of the clean
        # import's time: a run again re-reads what is stored and dies later
        delay_us=$(( took_us * (t - 1) / TRIALS + (RANDOM * 32768 + RANDOM) % (took_us / TRIALS + 1) ))
        "$@" > "$TMP/$label.$t.out" 2>&1 &
        pid=$!
        track "$pid" KILL
        sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        untrack "$pid"
        "$CTRAIL" --data "$dir" verify > "$TMP/$label.verify" 2>&1 ||
            die "$label: verify failed after the kill at $((delay_us / 1000)) ms: $(cat "$TMP/$label.verify")"
        echo "$label: killed at $((delay_us / 1000)) ms; $(head -1 "$TMP/$label.verify")"
    done
}

# finish DIR LABEL CMD...: run CMD to its end, compare with the reference,
# then once more: nothing new may be stored.
finish() {
    local dir=$1 label=$2 out
    shift 2
    "$@" > "$TMP/$label.final" 2>&1 || die "$label: the final import failed: $(cat "$TMP/$label.final")"
    records "$dir" "$TMP/$label.sorted"
    if ! cmp -s "$TMP/ref.sorted" "$TMP/$label.sorted"; then
        echo "$label: reference $(wc -l < "$TMP/ref.sorted") lines, after the kills $(wc -l < "$TMP/$label.sorted")" >&2
        diff "$TMP/ref.sorted" "$TMP/$label.sorted" | cut -c1-160 | head -8 >&2
        die "$label: the store after the kills differs from a clean import"
    fi
    "$@" > "$TMP/$label.again" 2>&1 || die "$label: the import run again failed"
    out=$(cat "$TMP/$label.again")
    [[ $out == *" 0 records stored"* ]] || die "$label: importing again stored records: $out"
    echo "$label: record for record the same as the clean import ($(wc -l < "$TMP/ref.sorted") lines); again: $out"
}

kill_trials "$TMP/file" file "$CTRAIL" --data "$TMP/file" import "$IN"
finish "$TMP/file" file "$CTRAIL" --data "$TMP/file" import "$IN"

TRIALS=$(( TRIALS < 3 ? TRIALS : 3 ))
kill_trials "$TMP/stdin" stdin sh -c 'exec "$1" --data "$2" import - < "$3"' sh "$CTRAIL" "$TMP/stdin" "$IN"
finish "$TMP/stdin" stdin sh -c 'exec "$1" --data "$2" import - < "$3"' sh "$CTRAIL" "$TMP/stdin" "$IN"
echo "import_killed: pass"
