#!/usr/bin/env bash
# tests/integration/verify_tamper.sh - `ctrail verify` finds every change to
# sealed data, says where, and passes again once the change is undone.
#
# The store: every file in $CTRAIL_FIXTURES imported by tests/tools/
# crash_writer --import (the ctrail import parsers, with 16 KiB blocks and
# 32 KiB segments: some 20 blocks over several segments), then through
# `ctrail import` the docker event fixtures again (all duplicates) and 2000
# records ctrail-gen made from the fixtures (a default-sized block).
#
# Byte flips, in one copy of that store, restored after each check: in each
# segment's header (magic, id, store id), and in every block at each header
# field (magic, version, flags, id, first_seq, n_records, raw_len, comp_len,
# reserved, min_ts, max_ts, prev, payload hash, last header byte) and at
# the first, middle and last payload byte.  Each flip: verify exits 1 and
# reports "segment NAME offset O block B:" for that segment and block
# (O the block's offset; 0 for a segment header); restored: verify exits 0.
# At the end the copy is byte-identical to the original.
#
# Index and file tampering, each in a fresh copy: a block row deleted
# (middle; last; last with its checkpoint), a block row's hash or offset
# changed, a checkpoint signature changed, another store's public key, a
# segment truncated (by one byte, at a block boundary, to its header, to
# nothing), removed, swapped with another, or grown by stray bytes.  Each
# must make verify exit non-zero and name the segment involved.
#
# Exit: 0 pass, 1 fail (every failed check is listed), 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
CHECKS=0

need_ctrail
need_writer
need_gen
need_fixtures
need_tools sqlite3 od dd cmp truncate

make_tmp tamper

# ---- the store ----
P=$TMP/pristine
mapfile -t files < <(find "$FX" -type f ! -name '*.md' | sort)
[ ${#files[@]} -gt 20 ] || skip "too few fixtures in $FX"
"$WRITER" --data "$P" --block-bytes 16384 --segment-bytes 32768 --import "${files[@]}" \
    > "$TMP/import.out" 2> "$TMP/import.err" || die "importing the fixtures: $(cat "$TMP/import.err")"
"$CTRAIL" --data "$P" import "$FX"/docker-events/* > "$TMP/again.out" 2> /dev/null
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || die "ctrail import of the docker fixtures again exited $rc"
stored_again=$(awk '{ s += $2 } END { print s + 0 }' "$TMP/again.out")
[ "$stored_again" -eq 0 ] || fail "importing the docker event fixtures again stored $stored_again records"
"$GEN" --records 2000 --fixtures "$FX" > "$TMP/gen.jsonl" || die "ctrail-gen"
"$CTRAIL" --data "$P" import "$TMP/gen.jsonl" > /dev/null 2> "$TMP/gen.err" ||
    die "ctrail import of generated records: $(cat "$TMP/gen.err")"
out=$("$CTRAIL" --data "$P" verify 2>&1) || die "verify fails on the untouched store: $out"
grep -q '^ok: ' <<<"$out" || die "verify printed no ok line: $out"
grep -q '^note:' <<<"$out" && die "verify has a note on a closed store: $out"

# blocks: id segment-name offset length, from the index
sqlite3 -readonly -separator ' ' "$P/index.db" \
    "SELECT b.id, s.name, b.offset, b.length FROM blocks b JOIN segments s ON s.id = b.segment
     ORDER BY b.id" > "$TMP/blocks" || die "cannot list blocks with sqlite3"
nb=$(wc -l < "$TMP/blocks")
mapfile -t segs < <(cut -d' ' -f2 "$TMP/blocks" | uniq)
[ "$nb" -ge 8 ] && [ ${#segs[@]} -ge 3 ] ||
    die "wanted several blocks in several segments, have $nb blocks in ${#segs[@]} segments"
echo "verify_tamper: $nb blocks in ${#segs[@]} segments: ${segs[*]}"

# ---- byte flips ----
W=$TMP/work
cp -a "$P" "$W" || die "copying the store"
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n'; }
put_byte() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
masks=(1 128 255 32 90)
flips=0
# flip SEGNAME FILE-OFFSET EXPECT WHAT: EXPECT is the report's "segment ... block B:" prefix
flip() {
    local seg=$1 off=$2 expect=$3 what=$4 f=$W/segments/$1 b nb out rc
    b=$(byte_at "$f" "$off")
    [ -n "$b" ] || { fail "$what: cannot read $seg at $off"; return; }
    nb=$((b ^ masks[flips % ${#masks[@]}]))
    flips=$((flips + 1))
    CHECKS=$((CHECKS + 1))
    put_byte "$f" "$off" "$nb"
    out=$("$CTRAIL" --data "$W" verify 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        fail "$what ($seg byte $off $b -> $nb): verify passes: $out"
    elif ! grep -qF "$expect" <<<"$out"; then
        fail "$what ($seg byte $off): verify exited $rc but does not report '$expect': $out"
    fi
    put_byte "$f" "$off" "$b"
    out=$("$CTRAIL" --data "$W" verify 2>&1) ||
        fail "$what ($seg byte $off): verify still fails after the byte is restored: $out"
}

for seg in "${segs[@]}"; do
    first=$(awk -v s="$seg" '$2 == s { print $1; exit }' "$TMP/blocks")
    for off in 0 7 8 15 16 31; do
        flip "$seg" "$off" "segment $seg offset 0 block $first:" "segment header byte $off"
    done
done
fields=(0:magic 3:magic 4:version 6:flags 8:id 16:first_seq 24:n_records 28:raw_len
        32:comp_len 36:reserved 40:min_ts 48:max_ts 56:prev 87:prev 88:payload_hash
        119:payload_hash 120:reserved 127:reserved)
while read -r id seg off len; do
    for fw in "${fields[@]}"; do
        rel=${fw%%:*}
        flip "$seg" $((off + rel)) "segment $seg offset $off block $id:" "block $id header ${fw#*:}"
    done
    for rel in 128 $((128 + (len - 128) / 2)) $((len - 1)); do
        flip "$seg" $((off + rel)) "segment $seg offset $off block $id:" "block $id payload byte $rel of $len"
    done
done < "$TMP/blocks"
for seg in "${segs[@]}"; do
    cmp -s "$P/segments/$seg" "$W/segments/$seg" || fail "$seg differs after all flips were undone"
done
echo "verify_tamper: $flips byte flips checked"

# ---- index and file tampering ----
# tamper WHAT EXPECT COMMANDS: COMMANDS run in a fresh copy ($T); verify must
# fail and its report contain EXPECT.
tamper() {
    local what=$1 expect=$2 cmds=$3 out rc
    T=$TMP/t
    rm -rf "$T"
    cp -a "$P" "$T" || die "copying the store"
    CHECKS=$((CHECKS + 1))
    (cd "$T" && eval "$cmds") || { fail "$what: cannot set up: $cmds"; return; }
    out=$("$CTRAIL" --data "$T" verify 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        fail "$what: verify passes: $out"
    elif ! grep -qF -- "$expect" <<<"$out"; then
        fail "$what: verify exited $rc but its report lacks '$expect': $out"
    fi
}
sql() { sqlite3 index.db "$1"; }

mid=$(( (nb + 1) / 2 ))
read -r _ mid_seg mid_off _ < <(sed -n "${mid}p" "$TMP/blocks")
read -r _ last_seg last_off last_len < <(tail -1 "$TMP/blocks")
read -r _ first_seg _ < <(head -1 "$TMP/blocks")
second_seg=${segs[1]}
newest=${segs[${#segs[@]} - 1]}

tamper "block $mid's row deleted from the index" "block $mid" \
    "sql 'DELETE FROM blocks WHERE id = $mid'"
tamper "the last block's row deleted from the index" "block $nb" \
    "sql 'DELETE FROM blocks WHERE id = $nb'"
tamper "the last block's row and its checkpoint deleted (chain cut back by one block)" "$last_seg" \
    "sql 'DELETE FROM blocks WHERE id = $nb; DELETE FROM checkpoints WHERE block = $nb'"
tamper "block $mid's hash changed in the index" "segment $mid_seg offset $mid_off block $mid:" \
    "sql 'UPDATE blocks SET hash = randomblob(32) WHERE id = $mid'"
tamper "block $mid's offset changed in the index" "$mid_seg" \
    "sql 'UPDATE blocks SET offset = offset + 1 WHERE id = $mid'"
tamper "block $mid's checkpoint signature changed" "block $mid" \
    "sql 'UPDATE checkpoints SET signature = randomblob(64) WHERE block = $mid'"
"$WRITER" --data "$TMP/other" --count 0 > /dev/null 2>&1 || die "creating a second store"
tamper "another store's public key in keys/store.pub" "signature" \
    "cp '$TMP/other/keys/store.pub' keys/store.pub"
tamper "$first_seg cut by one byte" "$first_seg" \
    "truncate -s -1 segments/$first_seg"
tamper "$newest cut by one byte" "$newest" \
    "truncate -s -1 segments/$newest"
tamper "$newest cut at the start of its last block" "$last_seg" \
    "truncate -s $last_off segments/$newest"
tamper "$second_seg cut to its header" "$second_seg" \
    "truncate -s 32 segments/$second_seg"
tamper "$first_seg emptied" "$first_seg" \
    ": > segments/$first_seg"
tamper "$second_seg removed" "$second_seg" \
    "rm segments/$second_seg"
tamper "$first_seg and $second_seg swapped" "$first_seg" \
    "mv segments/$first_seg x && mv segments/$second_seg segments/$first_seg && mv x segments/$second_seg"
tamper "stray bytes after the last block of $first_seg" "$first_seg" \
    "printf 'CTBK and more' >> segments/$first_seg"

# Bytes after the newest segment's last block may be a write in progress:
# verify passes but must say so.
T=$TMP/t
rm -rf "$T" && cp -a "$P" "$T" && printf 'half a block' >> "$T/segments/$newest"
CHECKS=$((CHECKS + 1))
out=$("$CTRAIL" --data "$T" verify 2>&1) || fail "bytes after the newest block: verify fails: $out"
grep -q '^note: 12 bytes past the last indexed block' <<<"$out" ||
    fail "bytes after the newest block: verify does not note them: $out"

# A writer opening a store whose index was cut back does not destroy the
# evidence: the block it cuts from the segment is kept aside, byte for byte.
T=$TMP/t
rm -rf "$T" && cp -a "$P" "$T"
(cd "$T" && sql "DELETE FROM blocks WHERE id = $nb; DELETE FROM checkpoints WHERE block = $nb")
CHECKS=$((CHECKS + 1))
if "$WRITER" --data "$T" --count 0 > /dev/null 2> "$TMP/err"; then
    orphan=$T/segments/$last_seg.orphan-$last_off
    if [ ! -f "$orphan" ]; then
        fail "cut-back index: the writer cut block $nb without keeping it: $(ls "$T/segments")"
    else
        tail -c +$((last_off + 1)) "$P/segments/$last_seg" | cmp -s - "$orphan" ||
            fail "cut-back index: $orphan differs from the bytes cut"
        grep -q "kept as segments/$last_seg.orphan-$last_off" "$TMP/err" ||
            fail "cut-back index: the writer does not say what it kept: $(cat "$TMP/err")"
    fi
else
    fail "cut-back index: the writer cannot open the store: $(cat "$TMP/err")"
fi

echo "verify_tamper: $CHECKS checks, $FAILS failed"
[ $FAILS -eq 0 ] || exit 1
echo "PASS"
exit 0
