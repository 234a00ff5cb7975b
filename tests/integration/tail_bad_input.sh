#!/usr/bin/env bash
# tests/integration/tail_bad_input.sh - `ctrail serve --tail` on hostile files.
#
#   - lines with invalid UTF-8 and with NUL bytes are stored byte for byte;
#   - a line of exactly 1 MiB is stored whole; a 3 MiB line is stored cut to
#     its first 1 MiB with the mark " [ctrail: line cut: 1048576 of 3145728
#     bytes kept]", counted in ctrail_tail_lines_cut_total;
#   - a last line without LF is held until its LF comes, and stored whole
#     when its file is rotated away (before the 5 s quiet flush);
#   - a followed file replaced by a directory: logged once ("is a directory,
#     not a regular file"), serve alive, and a file put back is read;
#   - a path that cannot be opened (a symlink loop; and, when not root, a
#     file without read permission): logged with the reason, and read once
#     it can be;
#   - nothing accepted before is lost, later lines are still stored, serve
#     answers /metrics throughout and exits 0 on SIGTERM.
#
# Environment: CTRAIL_BIN.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools jq curl head od
make_tmp tailbad
POLL=0.2

D=$TMP/logs
DATA=$TMP/data
mkdir -p "$D"
BAD=$D/bad.log
{
    printf 'before 1\n'
    printf 'bad utf8 \xff\xfe \xc3\x28 end\n'
    printf 'nul\0in\0line\n'
    head -c 1048576 /dev/zero | tr '\0' a
    printf '\n'
    head -c 3145728 /dev/zero | tr '\0' b
    printf '\nafter 1\n'
} >"$BAD"
printf 'swap 1\n' >"$D/swap.log"
ln -s loop.log "$D/loop.log" # a symlink to itself: ELOOP

serve_start serve "$DATA" \
    --tail "$BAD" --tail "$D/swap.log" --tail "$D/loop.log" --tail "$D/locked.log" \
    --tail "$D/partial.log"

events() { "$CTRAIL" --data "$DATA" events -o json --source text; }
has_raw() { [ "$(events | jq -s --arg r "$1" 'any(.[]; .raw == $r)')" = true ]; }
alive() { kill -0 "$SPID" 2>/dev/null && curl -sf "$URL/metrics" >/dev/null; }

wait_until 15 has_raw "after 1" || fail "the lines of bad.log were not stored"
wait_until 15 has_raw "swap 1" || fail "swap.log was not read"

# byte for byte: the stored raws, as the JSON output escapes them
events | jq -c 'select(.raw | startswith("bad utf8") or startswith("nul")) | .raw' >"$TMP/odd"
grep -q 'nul\\u0000in\\u0000line' "$TMP/odd" || fail "the NUL line is not kept whole: $(cat "$TMP/odd")"
grep -q '^"bad utf8 .* end"$' "$TMP/odd" || fail "the invalid UTF-8 line is not stored: $(cat "$TMP/odd")"
MARK=' [ctrail: line cut: 1048576 of 3145728 bytes kept]'
lens=$(events | jq -r 'select(.raw | startswith("aaaa") or startswith("bbbb")) | .raw | length' | sort -n | tr '\n' ' ')
[ "$lens" = "1048576 $((1048576 + ${#MARK})) " ] || fail "long lines: raw lengths '$lens', want 1048576 and 1 MiB + the mark"
[ "$(events | jq -r 'select(.raw | startswith("bbbb")) | .raw[1048576:]')" = "$MARK" ] ||
    fail "the cut line has no mark"
[ "$(events | jq -s '[.[] | select(.raw | startswith("swap") | not)] | length')" -eq 6 ] ||
    fail "bad.log: $(events | jq -s length) records in all, want 6 from bad.log"
curl -sf "$URL/metrics" | grep -q "ctrail_tail_lines_cut_total{tail=\"$BAD\"} 1" ||
    fail "the cut line is not counted: $(curl -sf "$URL/metrics" | grep tail_lines_cut)"

note "a last line without LF"
# counted with the tail's metrics: quick, so the 5 s quiet flush is far
plines() { curl -sf "$URL/metrics" | sed -n "s|^ctrail_tail_lines_total{tail=\"$D/partial.log\"} ||p"; }
plines_is() { [ "$(plines)" = "$1" ]; }
printf 'complete\npartial without LF' >"$D/partial.log"
wait_until 10 plines_is 1 || fail "partial.log was not read ($(plines) lines)"
sleep 1
[ "$(plines)" = 1 ] || fail "a line without its LF was stored before its LF came"
printf ' completed\n' >>"$D/partial.log"
wait_until 10 plines_is 2 || fail "the completed line was not stored ($(plines) lines)"
printf 'left at rotation' >>"$D/partial.log"
sleep 0.5
mv "$D/partial.log" "$D/partial.log.1" && printf 'new file\n' >"$D/partial.log"
wait_until 4 plines_is 4 ||
    fail "the rotated file's last line without LF was not stored at the rotation ($(plines) lines)"
for r in "complete" "partial without LF completed" "left at rotation" "new file"; do
    has_raw "$r" || fail "partial.log: '$r' is not stored"
done

note "a followed file replaced by a directory"
rm "$D/swap.log" && mkdir "$D/swap.log"
wait_until 10 grep -q "swap.log' is a directory, not a regular file" "$TMP/serve.log" ||
    fail "the directory was not reported: $(grep tail: "$TMP/serve.log" | tail -3)"
sleep 1
alive || fail "serve died on a directory"
[ "$(grep -c "swap.log' is a directory" "$TMP/serve.log")" -eq 1 ] || fail "the directory was reported more than once"
rmdir "$D/swap.log" && printf 'swap 2\n' >"$D/swap.log"
wait_until 10 has_raw "swap 2" || fail "the file put back was not read"

note "paths that cannot be opened"
grep -q "cannot open '$D/loop.log': Too many levels of symbolic links" "$TMP/serve.log" ||
    fail "the symlink loop was not reported: $(grep tail: "$TMP/serve.log" | tail -3)"
grep -q "'$D/locked.log' does not exist (yet)" "$TMP/serve.log" || fail "a missing path was not reported"
rm "$D/loop.log" && printf 'loop fixed\n' >"$D/loop.log"
wait_until 10 has_raw "loop fixed" || fail "the path was not read once it could be opened"
if [ "$(id -u)" -ne 0 ]; then
    printf 'locked\n' >"$D/locked.log" && chmod 000 "$D/locked.log"
    wait_until 10 grep -q "cannot open '$D/locked.log': Permission denied" "$TMP/serve.log" ||
        fail "the unreadable file was not reported"
    chmod 644 "$D/locked.log"
    wait_until 10 has_raw "locked" || fail "the file was not read once readable"
else
    note "root reads files without permission: the unreadable-file case needs another user"
fi

printf 'after 2\n' >>"$BAD"
wait_until 10 has_raw "after 2" || fail "lines after the bad ones are not stored"
alive || fail "serve is not answering"
for r in "before 1" "after 1" "swap 1"; do has_raw "$r" || fail "'$r' was lost"; done
serve_stop
[ "$(events | jq -s 'map(select(.raw == "after 2")) | length')" -eq 1 ] || fail "'after 2' not stored once"

[ "$FAILS" -eq 0 ] || { echo "tail_bad_input: $FAILS failure(s)"; exit 1; }
echo "tail_bad_input: ok"
