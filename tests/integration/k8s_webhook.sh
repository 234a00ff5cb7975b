#!/usr/bin/env bash
#
# tests/integration/k8s_webhook.sh - POST /v1/k8s/audit, the audit webhook.
#
# A real `ctrail serve --tokens FILE --max-body 262144` on loopback, and curl
# posting what kube-apiserver's webhook backend posts: audit.k8s.io EventList
# documents (v1, and v1beta1) as application/json, built with jq from every
# Event in the k8s-audit fixtures:
#   - all batches: 200, and the store holds each distinct auditID|stage once
#     (as `ctrail events` shows, compared with jq);
#   - the same batch again: 200 with every event a duplicate, nothing added;
#   - a body over --max-body: 413, a log line says so, serve stays up,
#     nothing stored;
#   - malformed bodies (cut JSON, an EventList with one bad item among new
#     good ones, an empty body, the wrong content type): 400/415 with a JSON
#     {"error","code"}, nothing of the batch stored, earlier data intact;
#   - tokens: none or unknown 401, a read token 403, ingest and admin 200;
#   - the webhook kubeconfig in docs/kubernetes.md, read by kubectl (when
#     installed), names a server and token that ctrail accepts;
#   - after a restart of serve, everything acknowledged is still there.
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES.  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_fixtures k8s-audit "CTRAIL_FIXTURES has no k8s-audit"
need_tools curl jq

make_tmp k8s-webhook

DATA=$TMP/data

# post TOKEN FILE [CONTENT-TYPE]: STATUS and $TMP/body
post() {
    local auth=() type=${3:-application/json}
    [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
    STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "${auth[@]}" \
        -H "Content-Type: $type" --data-binary @"$2" "$URL/v1/k8s/audit")
}
is_error() { # CODE: the body is {"error": non-empty, "code": CODE}
    jq -e --arg c "$1" '.code == $c and (.error | type == "string" and length > 0)' "$TMP/body" >/dev/null 2>&1
}
stored() { "$CTRAIL" --data "$DATA" events --source k8s_audit -o json; }
stored_keys() { stored | jq -r '.raw | "\(.auditID)|\(.stage)"' | sort -u; }

# --- the events, as jq reads them, into EventList batches -----------------
events() { # FILE: its Events, one compact object a line
    local f=$1
    if [ "$(head -c 3 "$f" | od -An -tx1 | tr -d ' ')" = efbbbf ]; then
        tail -c +4 "$f" | jq -c .
    else
        jq -c . "$f"
    fi | jq -c 'if .kind == "EventList" then .items[]
                elif (.records | type) == "array" then .records[].properties.log | fromjson
                else . end
                | select(type == "object" and (.verb | type) == "string" and
                         (.stage | type) == "string" and (.kind == null or .kind == "Event"))'
}
: >"$TMP/all.jsonl"
while IFS= read -r f; do
    events "$f" >>"$TMP/all.jsonl" || die "jq cannot read $f"
done < <(find "$FX/k8s-audit" -type f | sort)
TOTAL=$(wc -l <"$TMP/all.jsonl")
[ "$TOTAL" -gt 90 ] || die "only $TOTAL events in the fixtures"
jq -r '"\(.auditID)|\(.stage)"' "$TMP/all.jsonl" | sort -u >"$TMP/want_keys"

# batch N FILE APIVERSION: EventList of the lines N*10+1 .. N*10+10
mkdir "$TMP/b"
split -l 10 -d -a 3 "$TMP/all.jsonl" "$TMP/b/part"
NB=0
for part in "$TMP"/b/part*; do
    v=audit.k8s.io/v1
    [ $((NB % 2)) = 1 ] && v=audit.k8s.io/v1beta1 # the older servers' batches
    jq -c -n --arg v "$v" '{kind: "EventList", apiVersion: $v, metadata: {}, items: [inputs]}' \
        "$part" >"$TMP/b/batch$NB.json"
    NB=$((NB + 1))
done

# --- tokens and the server --------------------------------------------------
T_READ=$("$CTRAIL" token-hash --new | head -n 1)
T_INGEST=$("$CTRAIL" token-hash --new | head -n 1)
T_ADMIN=$("$CTRAIL" token-hash --new | head -n 1)
{
    echo "reader read $("$CTRAIL" token-hash "$T_READ")"
    echo "apiserver ingest $("$CTRAIL" token-hash "$T_INGEST")"
    echo "ops admin $("$CTRAIL" token-hash "$T_ADMIN")"
} >"$TMP/tokens"
serve_start serve "$DATA" --tokens "$TMP/tokens" --max-body 262144

# --- access control -----------------------------------------------------------
B0=$TMP/b/batch0.json
post "" "$B0"
[ "$STATUS" = 401 ] || fail "no token: $STATUS, want 401"
post "not-a-token-at-all" "$B0"
[ "$STATUS" = 401 ] || fail "unknown token: $STATUS, want 401"
post "$T_READ" "$B0"
[ "$STATUS" = 403 ] || fail "read token: $STATUS, want 403"
[ "$(stored | wc -l)" = 0 ] || fail "refused callers stored something"

# --- every batch, then one again ------------------------------------------------
acc=0
for ((i = 0; i < NB; i++)); do
    tok=$T_INGEST
    [ $i = 1 ] && tok=$T_ADMIN
    post "$tok" "$TMP/b/batch$i.json"
    [ "$STATUS" = 200 ] || fail "batch $i: $STATUS $(head -c 300 "$TMP/body")"
    acc=$((acc + $(jq '.accepted' "$TMP/body")))
done
want=$(wc -l <"$TMP/want_keys")
[ "$acc" = "$want" ] || fail "the batches' replies accepted $acc events, jq counts $want distinct"
stored_keys >"$TMP/got_keys"
cmp -s "$TMP/want_keys" "$TMP/got_keys" || fail "stored $(wc -l <"$TMP/got_keys") keys, want $want: $(diff "$TMP/want_keys" "$TMP/got_keys" | head -5)"
[ "$(stored | wc -l)" = "$want" ] || fail "stored $(stored | wc -l) events, want $want"

post "$T_INGEST" "$TMP/b/batch3.json"
[ "$STATUS" = 200 ] && jq -e '.accepted == 0 and .duplicates == 10' "$TMP/body" >/dev/null ||
    fail "batch 3 again: $STATUS $(cat "$TMP/body"), want 200 with 10 duplicates"
[ "$(stored | wc -l)" = "$want" ] || fail "a batch posted twice was stored twice"
BEFORE=$(stored | md5sum)

# --- too large -----------------------------------------------------------------------
# 300 new events (about 330 KiB) in one EventList: over --max-body 262144
jq -c -n '{kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {},
           items: ([inputs | select(.auditID != null)] | .[0:1] as $e |
                   [range(300) as $i | $e[0] + {auditID: "big-\($i)", requestObject: {pad: ("x" * 1000)}}])}' \
    "$TMP/all.jsonl" >"$TMP/big.json"
[ "$(wc -c <"$TMP/big.json")" -gt 262144 ] || fail "the big batch is not over the limit"
# Expect: 100-continue, so the 413 comes before the body is sent: without
# it libevent answers and closes while curl is still uploading, and under
# load the reset can reach curl before the answer does
STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_INGEST" \
    -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" \
    "$URL/v1/k8s/audit")
[ "$STATUS" = 413 ] || fail "oversized body: $STATUS, want 413"
wait_until 5 grep -q "413 request body too large" "$TMP/serve.log" || fail "no log line for the 413"
curl -sf "$URL/healthz" >/dev/null || fail "serve is not answering after a 413"
kill -0 "$SPID" 2>/dev/null || die "serve died after an oversized body"

# --- malformed ---------------------------------------------------------------------------
head -c 2000 "$TMP/b/batch2.json" >"$TMP/cut.json"
post "$T_INGEST" "$TMP/cut.json"
{ [ "$STATUS" = 400 ] && is_error bad_input; } || fail "cut JSON: $STATUS $(cat "$TMP/body")"
# good new events around one bad item: none of them may be stored
jq -c -n '{kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {},
           items: ([inputs | select(.auditID != null)] | .[0:1] as $e |
                   [range(5) as $i | $e[0] + {auditID: "new-\($i)"}] + [{kind: 0}] +
                   [range(5; 10) as $i | $e[0] + {auditID: "new-\($i)"}])}' \
    "$TMP/all.jsonl" >"$TMP/mixed.json"
post "$T_INGEST" "$TMP/mixed.json"
{ [ "$STATUS" = 400 ] && is_error bad_input && jq -e '.line >= 1' "$TMP/body" >/dev/null; } ||
    fail "one bad item: $STATUS $(cat "$TMP/body")"
jq -c -n '{kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {},
           items: [{kind: "Event", auditID: "no-verb", stage: "ResponseComplete"}]}' >"$TMP/noverb.json"
post "$T_INGEST" "$TMP/noverb.json"
{ [ "$STATUS" = 400 ] && is_error bad_input; } || fail "an event without verb: $STATUS $(cat "$TMP/body")"
: >"$TMP/empty"
post "$T_INGEST" "$TMP/empty"
{ [ "$STATUS" = 400 ] && is_error bad_input; } || fail "empty body: $STATUS $(cat "$TMP/body")"
post "$T_INGEST" "$B0" text/plain
{ [ "$STATUS" = 415 ] && is_error unsupported_media_type; } || fail "text/plain: $STATUS $(cat "$TMP/body")"
grep -q "audit batch refused, nothing stored" "$TMP/serve.log" || fail "no log line for a refused batch"
[ "$(stored | md5sum)" = "$BEFORE" ] || fail "a refused body changed what is stored"
stored | jq -r '.raw.auditID' | grep -q '^new-\|^big-\|^no-verb$' && fail "events of a refused batch were stored"

# an EventList without items is a no-op, not an error
echo '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}' >"$TMP/none.json"
post "$T_INGEST" "$TMP/none.json"
[ "$STATUS" = 200 ] || fail "empty EventList: $STATUS $(cat "$TMP/body")"

# --- the kubeconfig of docs/kubernetes.md, read by kubectl, reaches ctrail ----------------
DOC=${CTRAIL_SOURCE_DIR:-}/docs/kubernetes.md
if command -v kubectl >/dev/null && [ -f "$DOC" ]; then
    awk '/^### Webhook configuration/ {on = 1} on && /^```yaml/ {grab = 1; next}
         grab && /^```/ {exit} grab' "$DOC" |
        sed -e "s|http://127.0.0.1:8780|$URL|" -e "s|PASTE-THE-INGEST-TOKEN-HERE|$T_INGEST|" \
            >"$TMP/webhook.kubeconfig"
    server=$(kubectl config view --kubeconfig "$TMP/webhook.kubeconfig" --raw \
        -o 'jsonpath={.clusters[0].cluster.server}' 2>/dev/null)
    token=$(kubectl config view --kubeconfig "$TMP/webhook.kubeconfig" --raw \
        -o 'jsonpath={.users[0].user.token}' 2>/dev/null)
    [ "$server" = "$URL/v1/k8s/audit" ] && [ "$token" = "$T_INGEST" ] ||
        fail "docs/kubernetes.md's webhook kubeconfig: kubectl reads server '$server'"
    STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data-binary @"$TMP/none.json" "$server")
    [ "$STATUS" = 200 ] || fail "POST to the documented server with its token: $STATUS"
else
    echo "k8s_webhook: kubectl or the docs not found; the documented kubeconfig is not checked"
fi

# --- the data survives a restart ------------------------------------------------------------
serve_stop
[ "$(stored | md5sum)" = "$BEFORE" ] || fail "what serve acknowledged differs after it stopped"
serve_start serve "$DATA" --tokens "$TMP/tokens" --max-body 262144
post "$T_INGEST" "$TMP/b/batch0.json"
[ "$STATUS" = 200 ] && jq -e '.accepted == 0' "$TMP/body" >/dev/null ||
    fail "batch 0 after a restart: $STATUS $(cat "$TMP/body"), want only duplicates"
serve_stop

if [ "$FAILS" -ne 0 ]; then
    echo "k8s_webhook: $FAILS failure(s)"
    exit 1
fi
echo "k8s_webhook: $NB batches of $TOTAL events ($want distinct) posted, refusals and tokens: ok"
