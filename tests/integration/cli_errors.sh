#!/usr/bin/env bash
# tests/integration/cli_errors.sh - the ctrail command line: errors, help,
# references, JSON output, and reading beside a running writer.
#
#  1. Errors are one line on stderr and a non-zero exit, nothing on stdout:
#     an unknown container (timeline, events --container); bad --since and
#     --until values, --since after --until, a bad --limit, -o or --source
#     (exit 2); a query on a data directory that does not exist (via --data,
#     $CTRAIL_DATA and the default ./ctrail-data) or that holds no store
#     (exit 1), without creating anything there.
#  2. `ctrail --help` and `ctrail COMMAND --help` exit 0 and print to stdout;
#     every command in the binary's command table is listed in `ctrail
#     --help`; every option a command accepts (found by asking the parser
#     about each candidate name: "unrecognized option" or not) is named in
#     that command's help (--data and --help are global options, named in
#     `ctrail --help`).
#  3. References: a unique id prefix and a name resolve; a prefix two
#     containers share is refused as ambiguous, naming both.
#  4. -o json: every line of events and timeline parses and has the
#     envelope fields ts (RFC 3339, nanoseconds, UTC), source, kind,
#     container, name, image, pod, namespace, user, host and raw; docker
#     events come back byte for byte with -o raw and as the same JSON in .raw.
#  5. Readers beside a writer: `ctrail import` of 200000 generated records
#     runs in the background while events, containers and verify run in a
#     loop; each must exit 0 and see as many records, containers and blocks
#     as the previous round or more, and the count must grow while we watch.
#     The import is then stopped (SIGTERM, by pid) if it is still running;
#     what it acknowledged stays readable and verifies.
#
# Knobs: CTRAIL_CLI_RECORDS (default 200000), CTRAIL_CLI_WATCH_SECONDS (40).
# Exit: 0 pass, 1 fail (every failed check is listed), 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
CHECKS=0

need_ctrail
need_gen
need_fixtures
SRC=${CTRAIL_SOURCE_DIR:-}
need_tools jq

make_tmp cli
IPID=""
unset CTRAIL_DATA

# run ARGS...: run ctrail with stdin from /dev/null; sets RC, OUT, ERR (files)
OUT=$TMP/out
ERR=$TMP/err
run() {
    "$CTRAIL" "$@" < /dev/null > "$OUT" 2> "$ERR"
    RC=$?
}
# expect_error RC WHAT ARGS...: exit RC, one "ctrail: ..." line on stderr, no stdout
expect_error() {
    local want=$1 what=$2
    shift 2
    CHECKS=$((CHECKS + 1))
    run "$@"
    if [ "$RC" -ne "$want" ]; then
        fail "$what: exit $RC, want $want (ctrail $*): $(head -c 300 "$ERR")"
    elif [ "$(wc -l < "$ERR")" -ne 1 ] || ! grep -q '^ctrail: .' "$ERR"; then
        fail "$what: stderr is not one 'ctrail: ...' line (ctrail $*): $(head -c 500 "$ERR")"
    elif [ -s "$OUT" ]; then
        fail "$what: something on stdout (ctrail $*): $(head -c 200 "$OUT")"
    fi
}

# ---- a store of every fixture, plus two containers sharing an id prefix ----
S=$TMP/store
mapfile -t files < <(find "$FX" -type f ! -name '*.md' | sort)
[ ${#files[@]} -gt 20 ] || skip "too few fixtures in $FX"
ID1=abcd1111$(printf '%056d' 1)
ID2=abcd2222$(printf '%056d' 2)
# created at 2026-01-01T00:00:00Z, started a second later
for i in 1 2; do
    id=ID$i
    for a in create:0 start:1; do
        printf '{"status":"%s","id":"%s","from":"alpine:3.19","Type":"container","Action":"%s","Actor":{"ID":"%s","Attributes":{"image":"alpine:3.19","name":"twin-%s"}},"scope":"local","time":%d,"timeNano":%d00000000%d}\n' \
            "${a%:*}" "${!id}" "${a%:*}" "${!id}" "$i" $((1767225600 + ${a#*:})) \
            $((1767225600 + ${a#*:})) "$i"
    done
done > "$TMP/twins.jsonl"
run --data "$S" import "${files[@]}" "$TMP/twins.jsonl"
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || die "importing the fixtures: exit $RC: $(tail -3 "$ERR")"
grep -q "twins.jsonl: 4 records stored" "$OUT" || die "the twin containers were not stored: $(grep twins "$OUT")"

# ---- 1. errors ----
expect_error 1 "unknown container (timeline)" --data "$S" timeline deadbeefcafe
grep -q "deadbeefcafe" "$ERR" || fail "unknown container: the message does not name it: $(cat "$ERR")"
expect_error 1 "unknown container (events --container)" --data "$S" events --container no-such-name
expect_error 1 "unknown container (-o json)" --data "$S" timeline no-such-name -o json
for bad in yesterday 10x -5m 2026-13-45T00:00:00Z "2026-01-01 10:00" 1e99999 ""; do
    expect_error 2 "bad --since '$bad'" --data "$S" events --since "$bad"
    grep -q -- "since" "$ERR" || fail "bad --since '$bad': the message does not say which option: $(cat "$ERR")"
done
expect_error 2 "bad --since on timeline" --data "$S" timeline "$ID1" --since soon
expect_error 2 "bad --since on containers" --data "$S" containers --since soon
expect_error 2 "bad --until" --data "$S" events --until bogus
expect_error 2 "--since after --until" --data "$S" events --since 2026-01-02T00:00:00Z --until 2026-01-01T00:00:00Z
expect_error 2 "bad --limit" --data "$S" events --limit ten
expect_error 2 "bad -o" --data "$S" events -o yaml
expect_error 2 "bad --source" --data "$S" events --source nosuch
run --data "$S" events --since 90s
[ "$RC" -eq 0 ] || fail "a duration --since (90s) is refused: $(cat "$ERR")"
run --data "$S" events --since 1767225600.5 --until 2026-01-02T00:00:00Z -o json
[ "$RC" -eq 0 ] || fail "unix-seconds --since is refused: $(cat "$ERR")"
[ "$(wc -l < "$OUT")" -eq 2 ] || fail "--since/--until window: $(wc -l < "$OUT") records, want the 2 twin starts"

M=$TMP/missing
for cmd in "events" "containers" "timeline $ID1" "verify" "stats"; do
    # shellcheck disable=SC2086
    expect_error 1 "$cmd on a missing --data directory" --data "$M/sub" $cmd
    grep -qF "$M/sub" "$ERR" || fail "$cmd on a missing directory: the message does not name it: $(cat "$ERR")"
    [ -e "$M" ] && fail "$cmd on a missing directory created $M" && rm -rf "$M"
    # shellcheck disable=SC2086
    CTRAIL_DATA=$M/env expect_error 1 "$cmd on a missing \$CTRAIL_DATA" $cmd
    [ -e "$M" ] && fail "$cmd with a missing \$CTRAIL_DATA created $M" && rm -rf "$M"
    mkdir -p "$TMP/cwd"
    # shellcheck disable=SC2086
    (cd "$TMP/cwd" && FAILS=0 && expect_error 1 "$cmd without --data, no ./ctrail-data" $cmd
     exit $FAILS) || FAILS=$((FAILS + 1))
    [ -e "$TMP/cwd/ctrail-data" ] && fail "$cmd without --data created ./ctrail-data" && rm -rf "$TMP/cwd/ctrail-data"
    mkdir -p "$TMP/empty"
    # shellcheck disable=SC2086
    expect_error 1 "$cmd on an empty directory" --data "$TMP/empty" $cmd
    [ -z "$(ls -A "$TMP/empty")" ] || fail "$cmd on an empty directory created $(ls -A "$TMP/empty")"
done

# ---- 2. help ----
run --help
CHECKS=$((CHECKS + 1))
[ "$RC" -eq 0 ] && [ -s "$OUT" ] || fail "ctrail --help: exit $RC, $(wc -c < "$OUT") bytes on stdout"
cp "$OUT" "$TMP/help.main"
mapfile -t cmds < <(awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
                         on && /^  [a-z]/ { print $1 }' "$TMP/help.main")
[ ${#cmds[@]} -ge 6 ] || fail "ctrail --help lists ${#cmds[@]} commands: ${cmds[*]}"
if [ -n "$SRC" ] && [ -f "$SRC/query/cli.c" ]; then
    # the command table in the source: {"name", function}
    for c in $(grep -oE '\{"[a-z][a-z-]*", *(ct_cli_|cmd_)[a-z_]+\}' "$SRC/query/cli.c" | cut -d'"' -f2); do
        CHECKS=$((CHECKS + 1))
        printf '%s\n' "${cmds[@]}" | grep -qx "$c" || { fail "command '$c' is missing from ctrail --help"; cmds+=("$c"); }
    done
fi
run -h
[ "$RC" -eq 0 ] && cmp -s "$OUT" "$TMP/help.main" || fail "ctrail -h differs from ctrail --help"
for c in "${cmds[@]}"; do
    run "$c" --help
    CHECKS=$((CHECKS + 1))
    if [ "$RC" -ne 0 ] || ! grep -q "^usage: ctrail $c" "$OUT"; then
        fail "ctrail $c --help: exit $RC, stdout: $(head -c 200 "$OUT") stderr: $(head -c 200 "$ERR")"
    fi
    cp "$OUT" "$TMP/help.$c"
done
cat "$TMP"/help.* | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u > "$TMP/candidates"
printf -- '--%s\n' data help verbose quiet since until output source kind container pod user \
    host image limit new listen tokens >> "$TMP/candidates"
sort -u -o "$TMP/candidates" "$TMP/candidates"
# probe ARGS...: does the parser know option $opt?  It is followed by two
# bogus options: one may be taken as its value, the other stops every
# command at parsing, before it does anything.  Known means the parser got
# past $opt (the bogus option shows in the complaint) and did not refuse it.
probe() {
    "$CTRAIL" "$@" --zz-no-such-option --zz-no-such-option < /dev/null > /dev/null 2> "$TMP/probe.err"
    grep -q "zz-no-such-option" "$TMP/probe.err" &&
        ! grep -q "unrecognized option '$opt'\|invalid option -- '${opt#-}'" "$TMP/probe.err"
}
mentions() { grep -qE -- "(^|[^a-zA-Z-])$1([^a-zA-Z-]|$)" "$2"; }
undoc=""
for opt in $(cat "$TMP/candidates") -{a..z} -{A..Z}; do
    probe "$opt" || continue
    CHECKS=$((CHECKS + 1))
    mentions "$opt" "$TMP/help.main" || undoc="$undoc $opt"
done
[ -z "$undoc" ] || fail "ctrail accepts options that ctrail --help does not mention:$undoc"
for c in "${cmds[@]}"; do
    undoc=""
    for opt in $(cat "$TMP/candidates") -{a..z} -{A..Z}; do
        probe "$c" "$opt" || continue
        CHECKS=$((CHECKS + 1))
        case $opt in --data | --help | -h) help=$TMP/help.main ;; *) help=$TMP/help.$c ;; esac
        mentions "$opt" "$help" || undoc="$undoc $opt"
    done
    [ -z "$undoc" ] || fail "ctrail $c accepts options that its --help does not mention:$undoc"
done

# ---- 3. references ----
run --data "$S" timeline abcd1 -o json
CHECKS=$((CHECKS + 1))
if [ "$RC" -ne 0 ]; then
    fail "a unique id prefix (abcd1) does not resolve: $(cat "$ERR")"
else
    [ "$(jq -r .container "$OUT" | sort -u)" = "$ID1" ] ||
        fail "timeline abcd1 shows other containers: $(jq -r .container "$OUT" | sort -u | tr '\n' ' ')"
    [ "$(wc -l < "$OUT")" -eq 2 ] || fail "timeline abcd1: $(wc -l < "$OUT") records, want 2"
fi
run --data "$S" timeline twin-2 -o json
CHECKS=$((CHECKS + 1))
[ "$RC" -eq 0 ] && [ "$(jq -r .container "$OUT" | sort -u)" = "$ID2" ] ||
    fail "timeline by name (twin-2): exit $RC: $(cat "$ERR")"
for cmd in "timeline abcd" "events --container abcd" "timeline abcd -o json"; do
    # shellcheck disable=SC2086
    expect_error 1 "ambiguous prefix ($cmd)" --data "$S" $cmd
    grep -q "abcd1111" "$ERR" && grep -q "abcd2222" "$ERR" ||
        fail "ambiguous prefix ($cmd): the message does not name both containers: $(cat "$ERR")"
done

# ---- 4. -o json ----
check_json() {
    local what=$1 file=$2 bad
    CHECKS=$((CHECKS + 1))
    [ -s "$file" ] || { fail "$what: no output"; return; }
    bad=$(jq -r 'select(
            (has("ts") and has("source") and has("kind") and has("container") and has("name")
             and has("image") and has("pod") and has("namespace") and has("user") and has("host")
             and has("raw")) and
            (.ts | type == "string" and test("^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{9}Z$")) and
            (.source | IN("docker", "inspect", "k8s_audit", "syslog", "text", "auditd", "container_log")) and
            (.kind | type == "string" and length > 0) and
            (.raw != null) and
            ([.container, .name, .image, .pod, .namespace, .user, .host]
             | all(. == null or type == "string"))
          | not) | tojson | .[0:200]' "$file" 2>"$TMP/jq.err")
    [ $? -eq 0 ] || { fail "$what: lines that are not JSON: $(head -c 300 "$TMP/jq.err")"; return; }
    [ -z "$bad" ] || fail "$what: lines without the envelope: $(head -3 <<<"$bad")"
}
run --data "$S" events -o json
[ "$RC" -eq 0 ] || fail "events -o json: exit $RC: $(cat "$ERR")"
check_json "events -o json" "$OUT"
n_json=$(wc -l < "$OUT")
run --data "$S" events -o raw
[ "$RC" -eq 0 ] || fail "events -o raw: exit $RC"
run --data "$S" stats
stored=$(sed -n -E 's/^records: ([0-9]+) sealed in [0-9]+ blocks.*, ([0-9]+) in the journal$/\1 \2/p' "$OUT")
[ "$(( ${stored% *} + ${stored#* } ))" -eq "$n_json" ] ||
    fail "events -o json printed $n_json records, stats counts $stored (sealed, journal)"
run --data "$S" events --source docker -o json
cp "$OUT" "$TMP/docker.json"
cid=$(jq -r 'select(.container != null) | .container' "$TMP/docker.json" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
run --data "$S" timeline "$cid" -o json
[ "$RC" -eq 0 ] || fail "timeline $cid -o json: exit $RC: $(cat "$ERR")"
check_json "timeline -o json" "$OUT"
run --data "$S" containers -o json
CHECKS=$((CHECKS + 1))
[ "$RC" -eq 0 ] && jq -e -s 'length > 20 and all(.[]; has("id"))' "$OUT" > /dev/null ||
    fail "containers -o json: exit $RC, or lines that do not parse or lack an id"
# docker events: the original bytes with -o raw, the same JSON in .raw
E=$TMP/one
f=$FX/docker-events/captured-dockerd-20.10_lifecycle.jsonl
run --data "$E" import "$f"
[ "$RC" -eq 0 ] || fail "importing $f: exit $RC: $(cat "$ERR")"
run --data "$E" events -o raw
CHECKS=$((CHECKS + 1))
sort "$OUT" > "$TMP/raw.sorted"
grep -v '^[[:space:]]*$' "$f" | sort > "$TMP/in.sorted"
cmp -s "$TMP/raw.sorted" "$TMP/in.sorted" ||
    fail "events -o raw does not give back the imported docker events byte for byte"
run --data "$E" events -o json
CHECKS=$((CHECKS + 1))
jq -c '.raw' "$OUT" | sort > "$TMP/json.raw"
jq -c . "$TMP/in.sorted" | sort > "$TMP/in.json"
cmp -s "$TMP/json.raw" "$TMP/in.json" || fail "-o json .raw is not the imported docker event"

# ---- 5. readers beside a writer ----
RECORDS=${CTRAIL_CLI_RECORDS:-200000}
WATCH=${CTRAIL_CLI_WATCH_SECONDS:-40}
W=$TMP/live
"$GEN" --records "$RECORDS" --fixtures "$FX" > "$TMP/big.jsonl" 2> "$TMP/gen.err" ||
    die "ctrail-gen: $(cat "$TMP/gen.err")"
"$CTRAIL" --data "$W" import "$TMP/big.jsonl" > "$TMP/import.out" 2> "$TMP/import.err" &
IPID=$!
track "$IPID" KILL
t0=$SECONDS
while [ ! -e "$W/index.db" ] || ! "$CTRAIL" --data "$W" verify > /dev/null 2>&1; do
    kill -0 "$IPID" 2>/dev/null || break
    [ $((SECONDS - t0)) -lt 30 ] || die "the import has not created a readable store in 30 s"
    sleep 0.1
done
rounds=0
live_rounds=0
prev_ev=0 prev_ct=0 prev_bl=0 prev_rec=0
declare -A seen_counts=()
while :; do
    running=0
    kill -0 "$IPID" 2>/dev/null && running=1
    rounds=$((rounds + 1))
    CHECKS=$((CHECKS + 3))
    "$CTRAIL" --data "$W" events -o json > "$TMP/live.json" 2> "$TMP/live.err" ||
        { fail "round $rounds: events exited $?: $(head -c 300 "$TMP/live.err")"; break; }
    ev=$(wc -l < "$TMP/live.json")
    "$CTRAIL" --data "$W" containers -o json > "$TMP/live.ct" 2> "$TMP/live.err" ||
        { fail "round $rounds: containers exited $?: $(head -c 300 "$TMP/live.err")"; break; }
    ct=$(wc -l < "$TMP/live.ct")
    vout=$("$CTRAIL" --data "$W" verify 2>&1) ||
        { fail "round $rounds: verify exited $?: $vout"; break; }
    bl=$(sed -n -E 's/^ok: ([0-9]+) blocks, ([0-9]+) records.*; ([0-9]+) records in the journal.*/\1/p' <<<"$vout")
    rec=$(sed -n -E 's/^ok: ([0-9]+) blocks, ([0-9]+) records.*; ([0-9]+) records in the journal.*/\2+\3/p' <<<"$vout")
    [ -n "$bl" ] && [ -n "$rec" ] || { fail "round $rounds: cannot read verify: $vout"; break; }
    rec=$((rec))
    [ "$ev" -ge "$prev_ev" ] || fail "round $rounds: events went from $prev_ev to $ev records"
    [ "$ct" -ge "$prev_ct" ] || fail "round $rounds: containers went from $prev_ct to $ct"
    [ "$bl" -ge "$prev_bl" ] || fail "round $rounds: verify went from $prev_bl to $bl blocks"
    [ "$rec" -ge "$prev_rec" ] || fail "round $rounds: verify went from $prev_rec to $rec records"
    if [ -z "${json_checked:-}" ] && [ "$running" -eq 1 ] && [ "$ev" -gt 0 ]; then
        check_json "events -o json during the import" "$TMP/live.json"
        json_checked=1
    fi
    prev_ev=$ev prev_ct=$ct prev_bl=$bl prev_rec=$rec
    if [ $running -eq 1 ]; then
        live_rounds=$((live_rounds + 1))
        seen_counts[$ev]=1
    fi
    [ $running -eq 1 ] && [ $((SECONDS - t0)) -lt "$WATCH" ] || break
done
import_rc=""
if kill -0 "$IPID" 2>/dev/null; then
    kill -TERM "$IPID"
    wait "$IPID" 2>/dev/null
    echo "cli_errors: stopped the import after $((SECONDS - t0)) s (pid $IPID)"
else
    wait "$IPID"
    import_rc=$?
fi
untrack "$IPID"
IPID=""
[ -z "$import_rc" ] || [ "$import_rc" -eq 0 ] ||
    fail "the import beside the readers exited $import_rc: $(tail -3 "$TMP/import.err")"
CHECKS=$((CHECKS + 2))
[ "$live_rounds" -ge 3 ] || fail "only $live_rounds read rounds ran while the import was running"
[ ${#seen_counts[@]} -ge 2 ] || fail "the readers never saw the record count grow during the import"
vout=$("$CTRAIL" --data "$W" verify 2>&1) || fail "verify after the import: $vout"
"$CTRAIL" --data "$W" events -o json > "$TMP/live.json" 2>&1 || fail "events after the import"
final=$(wc -l < "$TMP/live.json")
[ "$final" -ge "$prev_ev" ] || fail "after the import events lists $final records, fewer than the $prev_ev seen"
echo "cli_errors: $live_rounds read rounds during the import saw ${#seen_counts[@]} record counts," \
    "$final records in the end ($(head -1 "$TMP/import.out"))"

echo "cli_errors: $CHECKS checks, $FAILS failed"
[ $FAILS -eq 0 ] || exit 1
echo "PASS"
exit 0
