#!/usr/bin/env bash
# tests/integration/readme_scripts.sh - the README's two commands, as far
# as they can run inside a test (no apt, no second build of the tree).
#
# scripts/demo --no-serve --data DIR --ctrail BIN (the binary under test):
#   - exits 0 within 60 s and never starts serve (CTRAIL_LISTEN is port 0,
#     so a serve that starts anyway blocks until the timeout: a failure);
#   - DIR then holds what the demo's import reported storing, the
#     investigation ran (containers, the web-renamed timeline, verify ok);
#   - run again with CTRAIL_DATA=DIR (relative, from another directory)
#     instead of --data: nothing new is stored, exit 0;
#   - an unknown option, and --data without a value, are refused with the
#     usage (exit 2) before anything is installed, built or imported.
# scripts/test, with --dry-run so that it runs nothing:
#   - the steps are the plain build, the four compile checks (gcc and
#     clang, Release and RelWithDebInfo), the suite, the ASan build and its
#     suite; --no-sanitize drops the ASan steps, --no-extra-builds the
#     compile checks; --help prints the usage;
#   - an unknown option is refused with the usage (exit 2) and no step.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools jq timeout
SRC=${CTRAIL_SOURCE_DIR:-}
[[ -n $SRC && -x $SRC/scripts/demo && -x $SRC/scripts/test ]] ||
    skip "CTRAIL_SOURCE_DIR does not hold scripts/demo and scripts/test"
make_tmp readme

# ---- scripts/demo --no-serve ----
export CTRAIL_LISTEN=127.0.0.1:0
unset CTRAIL_DATA
DATA=$TMP/demo-data
timeout 60 "$SRC/scripts/demo" --no-serve --data "$DATA" --ctrail "$CTRAIL" \
    >"$TMP/demo.out" 2>"$TMP/demo.err"
rc=$?
[ "$rc" -eq 124 ] && die "scripts/demo --no-serve did not stop within 60 s (serving?): $(tail -3 "$TMP/demo.out")"
[ "$rc" -eq 0 ] || fail "scripts/demo --no-serve: exit $rc: $(tail -5 "$TMP/demo.err")"
grep -q "== ctrail serve" "$TMP/demo.out" && fail "scripts/demo --no-serve announced serve"
grep -q "listening on" "$TMP/demo.out" "$TMP/demo.err" && fail "scripts/demo --no-serve started serve"
stored=$(sed -n 's/^.*: \([0-9][0-9]*\) records stored, .*$/\1/p' "$TMP/demo.out" | awk '{s += $1} END {print s + 0}')
files=$(grep -c ': [0-9]* records stored, ' "$TMP/demo.out")
[ "$files" -gt 10 ] || fail "the demo imported $files files"
[ "$stored" -gt 100 ] || fail "the demo stored $stored records"
listed=$("$CTRAIL" --data "$DATA" events -o json | jq -s length)
[ "$listed" -eq "$stored" ] || fail "the data directory holds $listed records, the demo stored $stored"
grep -q "^== one container's life" "$TMP/demo.out" || fail "the demo showed no timeline"
grep -q "container.rename" "$TMP/demo.out" || fail "the web-renamed timeline has no rename: $(grep -A5 "one container" "$TMP/demo.out")"
grep -q "^ok: [1-9][0-9]* blocks" "$TMP/demo.out" || fail "the demo's verify is not ok: $(grep -A2 "hash chain" "$TMP/demo.out")"
grep -qF "Data is in $DATA." "$TMP/demo.out" || fail "the demo does not name its data directory"
[ -e "$SRC/ctrail-data" ] && [ "$SRC/ctrail-data" -nt "$TMP/demo.out" ] &&
    fail "the demo wrote to the repository's ctrail-data"

# again, the data directory from $CTRAIL_DATA, relative to the caller
(cd "$TMP" && CTRAIL_DATA=demo-data timeout 60 "$SRC/scripts/demo" --no-serve --ctrail "$CTRAIL") \
    >"$TMP/demo2.out" 2>"$TMP/demo2.err"
rc=$?
[ "$rc" -eq 0 ] || fail "scripts/demo with CTRAIL_DATA: exit $rc: $(tail -5 "$TMP/demo2.err")"
again=$(sed -n 's/^.*: \([0-9][0-9]*\) records stored, .*$/\1/p' "$TMP/demo2.out" | awk '{s += $1} END {print s + 0}')
[ "$again" -eq 0 ] || fail "the demo run again stored $again records"
[ "$(grep -c ': 0 records stored, ' "$TMP/demo2.out")" -eq "$files" ] ||
    fail "the demo run again imported another set of files"

# refused options: usage, exit 2, nothing done
for bad in "--serve-nothing" "--data" "--no-serve --bogus"; do
    # shellcheck disable=SC2086 # the words are options
    timeout 10 "$SRC/scripts/demo" $bad --ctrail "$CTRAIL" >"$TMP/bad.out" 2>"$TMP/bad.err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "scripts/demo $bad: exit $rc, want 2"
    grep -q "^  --no-serve" "$TMP/bad.err" || fail "scripts/demo $bad: no usage on stderr: $(cat "$TMP/bad.err")"
    [ -s "$TMP/bad.out" ] && fail "scripts/demo $bad: did something: $(head -3 "$TMP/bad.out")"
done

# ---- scripts/test's arguments ----
steps() { timeout 10 "$SRC/scripts/test" "$@" 2>"$TMP/test.err"; }
all=$(steps --dry-run)
rc=$?
[ "$rc" -eq 0 ] || fail "scripts/test --dry-run: exit $rc: $(cat "$TMP/test.err")"
echo "$all" | grep -qv '^+ ' && fail "scripts/test --dry-run printed more than steps: $all"
for want in "./scripts/install-deps test" "./scripts/build build" \
    "compile_check gcc Release" "compile_check gcc RelWithDebInfo" \
    "compile_check clang Release" "compile_check clang RelWithDebInfo" \
    "cd build && ctest" "./scripts/build build-asan" "cd build-asan && ctest"; do
    echo "$all" | grep -qF "$want" || fail "scripts/test --dry-run has no step '$want': $all"
done
nosan=$(steps --no-sanitize --dry-run)
echo "$nosan" | grep -q "build-asan" && fail "--no-sanitize keeps the ASan steps: $nosan"
echo "$nosan" | grep -q "cd build && ctest" || fail "--no-sanitize lost the suite: $nosan"
echo "$nosan" | grep -q "compile_check clang" || fail "--no-sanitize lost the compile checks: $nosan"
noextra=$(steps --dry-run --no-extra-builds)
echo "$noextra" | grep -q "compile_check" && fail "--no-extra-builds keeps the compile checks: $noextra"
echo "$noextra" | grep -q "build-asan" || fail "--no-extra-builds lost the ASan steps: $noextra"
steps --help | grep -q "^  --no-sanitize" || fail "scripts/test --help does not list --no-sanitize"
out=$(steps --no-sanitize --bogus)
rc=$?
[ "$rc" -eq 2 ] || fail "scripts/test --bogus: exit $rc, want 2"
[ -z "$out" ] || fail "scripts/test --bogus ran steps: $out"
grep -q "unknown option '--bogus'" "$TMP/test.err" || fail "scripts/test --bogus: $(cat "$TMP/test.err")"
grep -q "^  --no-sanitize" "$TMP/test.err" || fail "scripts/test --bogus printed no usage"

[ "$FAILS" -eq 0 ] || exit 1
note "ok: demo --no-serve stored $stored records from $files files and stopped; scripts/test options"
