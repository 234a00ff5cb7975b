#!/usr/bin/env bash
# tests/integration/serve_ready.sh - GET /readyz of `ctrail serve`: one line per
# collector, 503 until all of them are ready.
#
# A serve on loopback with a syslog UDP socket, a tail of a file that does not
# exist yet, a tail whose path is a directory, a Kubernetes audit log tail and
# a Docker engine address where no socket is:
#   - /readyz is 503; the JSON lists http, syslog, both tails, the audit log and
#     docker, each with kind, name, ready, since (RFC 3339) and a detail; the
#     directory tail and docker are the ones not ready, with the reason;
#   - /healthz still says ok (liveness, not readiness);
#   - the directory replaced by a file: that tail becomes ready, its since moves;
#     docker still keeps /readyz at 503;
#   - a second serve without docker, everything ready: 200;
#   - with --tokens, an anonymous caller gets the same status and kinds, without
#     names or details; a token shows them.
#
# Environment: CTRAIL_BIN.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools -h "scripts/install-deps test" curl jq

make_tmp ready
DATA=$TMP/data
mkdir -p "$TMP/logs/dir.log"
printf '{"kind":"Event"}\n' >"$TMP/logs/audit.log"

readyz() { # [CURL ARGS]: the status; the body in $TMP/readyz.json
    curl -s --max-time 5 -o "$TMP/readyz.json" -w '%{http_code}' "$@" "$URL/readyz"
}
body() { cat "$TMP/readyz.json"; }
line() { # KIND NAME: the component's JSON
    jq -c --arg k "$1" --arg n "$2" '.components[] | select(.kind == $k and .name == $n)' \
        "$TMP/readyz.json"
}

# serve_start runs --no-docker; the first serve gets an address with no engine
# through DOCKER_HOST instead
serve_start_docker() {
    local name=$1
    shift
    SLOG=$TMP/$name.log
    "$CTRAIL" --data "$DATA" serve --docker "unix://$TMP/no-engine.sock" \
        --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>>"$SLOG" &
    SPID=$!
    track "$SPID"
    wait_until 20 grep -qsF "listening on" "$TMP/$name.out" || die "serve did not start: $(cat "$SLOG")"
    URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$TMP/$name.out")
}
serve_start_docker one --syslog-udp 127.0.0.1:0 --tail "$TMP/logs/later.log" \
    --tail "$TMP/logs/dir.log" --k8s-audit-log "$TMP/logs/audit.log"
grep -q "readiness $URL/readyz" "$TMP/one.out" || fail "the listening line does not name /readyz"

tails_polled() { readyz >/dev/null; [ -z "$(jq -r '.components[] | select(.detail == "starting") | .kind' "$TMP/readyz.json")" ]; }
wait_until 10 tails_polled || fail "some collectors are still starting: $(body)"
[ "$(readyz)" = 503 ] || fail "readyz with docker and a tail not ready: $(readyz) $(body)"
jq -e '.ready == false and (.components | length) == 6' "$TMP/readyz.json" >/dev/null ||
    fail "readyz: not 6 components, or ready: $(body)"
jq -e 'all(.components[]; (.since | test("^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.ready | type) == "boolean" and (.detail | type) == "string")' \
    "$TMP/readyz.json" >/dev/null || fail "readyz: a component without since, ready or detail: $(body)"
j=$(line http "$URL")
[ "$(jq -r .ready <<<"$j")" = true ] || fail "http line: $j (all: $(body))"
j=$(jq -c '.components[] | select(.kind == "syslog")' "$TMP/readyz.json")
jq -e '.ready == true and (.name | test("^udp 127\\.0\\.0\\.1:[0-9]+$"))' <<<"$j" >/dev/null ||
    fail "syslog line: $j"
j=$(line tail "$TMP/logs/later.log")
jq -e '.ready == true and .detail == "waiting for the file"' <<<"$j" >/dev/null ||
    fail "a tail of a file not there yet should be ready, waiting: $j"
j=$(line tail "$TMP/logs/dir.log")
jq -e '.ready == false and (.detail | contains("not a regular file"))' <<<"$j" >/dev/null ||
    fail "a tail of a directory should not be ready: $j"
dir_since=$(jq -r .since <<<"$j")
j=$(line k8s_audit_log "$TMP/logs/audit.log")
jq -e '.ready == true and .detail == "1 file open"' <<<"$j" >/dev/null || fail "audit log line: $j"
j=$(line docker "unix://$TMP/no-engine.sock")
jq -e '.ready == false and (.detail | contains("no-engine.sock"))' <<<"$j" >/dev/null ||
    fail "docker line without an engine: $j"
[ "$(curl -s "$URL/healthz")" = ok ] || fail "healthz is not ok while not ready"

# the directory becomes a file: that tail is ready, since when it changed
sleep 0.1
rmdir "$TMP/logs/dir.log" && echo line >"$TMP/logs/dir.log"
dir_ready() { readyz >/dev/null; [ "$(line tail "$TMP/logs/dir.log" | jq -r .ready)" = true ]; }
wait_until 10 dir_ready || fail "the tail did not become ready once its path is a file: $(body)"
[ "$(line tail "$TMP/logs/dir.log" | jq -r .since)" \> "$dir_since" ] ||
    fail "since did not move when the tail became ready: $(line tail "$TMP/logs/dir.log")"
[ "$(readyz)" = 503 ] || fail "readyz without an engine: $(body)"
serve_stop

# without docker everything is ready
serve_start two "$DATA" --syslog-udp 127.0.0.1:0 --tail "$TMP/logs/dir.log"
all_ready() { [ "$(readyz)" = 200 ]; }
wait_until 10 all_ready || fail "readyz without docker: $(readyz) $(body)"
jq -e '.ready == true and ([.components[].kind] | sort) == ["http", "syslog", "tail"]' \
    "$TMP/readyz.json" >/dev/null || fail "readyz body without docker: $(body)"
serve_stop

# with --tokens: anonymous callers see no names, a token does
TOK=$("$CTRAIL" token-hash --new | head -n 1)
echo "reader read $("$CTRAIL" token-hash "$TOK")" >"$TMP/tokens"
serve_start three "$DATA" --tokens "$TMP/tokens" --tail "$TMP/logs/dir.log"
wait_until 10 all_ready || fail "readyz with tokens, anonymous: $(readyz) $(body)"
jq -e 'all(.components[]; has("name") == false and has("detail") == false and has("kind"))' \
    "$TMP/readyz.json" >/dev/null || fail "anonymous readyz shows names: $(body)"
[ "$(readyz -H "Authorization: Bearer $TOK")" = 200 ] || fail "readyz with a token: $(body)"
[ -n "$(line tail "$TMP/logs/dir.log")" ] || fail "readyz with a token shows no names: $(body)"
serve_stop

if [ "$FAILS" -gt 0 ]; then
    echo "serve_ready: $FAILS failures"
    exit 1
fi
echo "serve_ready: all checks passed"
