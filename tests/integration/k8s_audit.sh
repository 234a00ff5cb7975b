#!/usr/bin/env bash
#
# tests/integration/k8s_audit.sh - Kubernetes audit events: queries and the
# pod <-> container join.
#
# 1. Every file under $CTRAIL_FIXTURES/k8s-audit is imported (one data
#    directory per file, then all into one).  jq, independently of ctrail,
#    turns each file into its Event objects (JSON lines, pretty documents
#    with a BOM, EventLists, AKS batches whose properties.log strings hold
#    the events) and says what must come back:
#      - the count per file, and the count of distinct auditID|stage over
#        all files (byte-identical fixtures share keys: stored once);
#      - for every user: `ctrail events --user U` returns exactly the
#        events jq selects by .user.username or .impersonatedUser.username
#        (compared as auditID|stage); likewise --verb, --resource (pods and
#        pods/exec), --namespace, --object, --ip, --code for every value jq
#        finds;
#      - for every pod: `ctrail events --pod NS/NAME` and `ctrail timeline
#        pod:NS/NAME` return the events on that pod (objectRef.resource
#        pods, name from objectRef or, for a create, the pod object);
#      - pods/exec events carry exec_command, the requestURI's command=
#        parameters decoded; the raw payload stays byte for byte.
# 2. The join.  No fixture pairs an audited pod with the container of a
#    captured Docker stream (no pod object in them carries a containerID,
#    no docker fixture has io.kubernetes.pod labels), so this test writes a
#    minimal consistent pair: Docker events of one container and audit
#    events of one pod (create, a kubelet pods/status patch whose request
#    lists containerStatuses[].containerID = docker://<that id>, pods/exec,
#    pods/attach, pods/ephemeralcontainers, delete) - and a second
#    container joined by Docker's io.kubernetes.pod.* labels.  Then
#    `ctrail timeline <container>` must show the pod's audit events and
#    `ctrail timeline pod:NS/NAME` the containers' events, in either import
#    order.
# 3. AKS archives.  jq turns the Event Hub fixture into the shapes a
#    storage account archive and people make of it (one record a line, with
#    and without a BOM; pretty-printed records; one record; the
#    kube-audit-admin category; two archive files joined with cat).  Each
#    must import with exit 0 and store exactly what the Event Hub batch
#    stores (-o json without ingest_ts, -o raw byte for byte); after the
#    batch, the archives store nothing new.  An archive with a record of
#    another category, a properties.log cut to no JSON and a cut last line
#    reports those three at their lines (exit 3) and keeps the others.
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES.  Exit 0 pass, 1 fail, 77 skip.
set -u
export LC_ALL=C

skip() { echo "SKIP: $*"; exit 77; }
[ -n "${CTRAIL_BIN:-}" ] && [ -x "$CTRAIL_BIN" ] || skip "CTRAIL_BIN is not an executable"
[ -n "${CTRAIL_FIXTURES:-}" ] && [ -d "$CTRAIL_FIXTURES/k8s-audit" ] || skip "no k8s-audit fixtures"
command -v jq >/dev/null 2>&1 || skip "jq is not installed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-k8s.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
FX=$CTRAIL_FIXTURES/k8s-audit

# events FILE: the file's audit Events, one compact object a line (what
# ctrail must accept; {"kind":0} and other non-events are left out)
events() {
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

# keys: auditID|stage of each event on stdin (sorted, distinct)
keys() { jq -r '"\(.auditID)|\(.stage)"' | sort -u; }
# stored_keys: the same from `ctrail ... -o json` on stdin
stored_keys() { jq -r 'select(.source == "k8s_audit") | .raw | "\(.auditID)|\(.stage)"' | sort -u; }

mapfile -t files < <(find "$FX" -type f | sort)
[ "${#files[@]}" -gt 40 ] || fail "expected the k8s-audit fixtures, found ${#files[@]} files"
: >"$TMP/all.jsonl"
n=0
for f in "${files[@]}"; do
    n=$((n + 1))
    events "$f" >"$TMP/ev.jsonl" || fail "jq cannot read $f"
    cat "$TMP/ev.jsonl" >>"$TMP/all.jsonl"
    want=$(wc -l <"$TMP/ev.jsonl")
    "$CTRAIL_BIN" --data "$TMP/d$n" import --source k8s_audit "$f" >/dev/null 2>&1
    got=$("$CTRAIL_BIN" --data "$TMP/d$n" events -o json 2>/dev/null | wc -l)
    [ "$got" = "$want" ] || fail "${f#"$FX"/}: stored $got events, jq counts $want"
done

ALL=$TMP/all
"$CTRAIL_BIN" --data "$ALL" import --source k8s_audit "${files[@]}" >/dev/null 2>&1
"$CTRAIL_BIN" --data "$ALL" events -o json >"$TMP/stored.jsonl"
want=$(keys <"$TMP/all.jsonl" | wc -l)
got=$(wc -l <"$TMP/stored.jsonl")
[ "$got" = "$want" ] || fail "all files: stored $got events, jq counts $want distinct auditID|stage"
[ "$want" -gt 90 ] || fail "only $want distinct events in the fixtures"

# --- per user -------------------------------------------------------------
mapfile -t users < <(jq -r '.user.username // empty' "$TMP/all.jsonl" | sort -u)
[ "${#users[@]}" -ge 8 ] || fail "expected many users, jq finds ${#users[@]}"
mapfile -t -O "${#users[@]}" users < <(jq -r '.impersonatedUser.username // empty' "$TMP/all.jsonl" | sort -u)
for u in "${users[@]}"; do
    # the user, or the user it impersonated
    jq -c --arg u "$u" 'select(.user.username == $u or .impersonatedUser.username == $u)' \
        "$TMP/all.jsonl" | keys >"$TMP/want"
    "$CTRAIL_BIN" --data "$ALL" events --user "$u" -o json | stored_keys >"$TMP/got"
    cmp -s "$TMP/want" "$TMP/got" ||
        fail "events --user '$u': $(wc -l <"$TMP/got") events, jq selects $(wc -l <"$TMP/want")"
done
# the impersonated user is shown in the summary
"$CTRAIL_BIN" --data "$ALL" events --user system:admin | grep -q "as=bob" ||
    fail "the impersonated user (bob) is not in the table summary"

# --- by verb, resource, namespace, object, source ip, response code -----------
# filter NAME JQ-VALUES JQ-SELECT: every value jq lists, ctrail and jq agree
by() {
    local name=$1 values=$2 sel=$3 v nv=0
    while IFS= read -r v; do
        nv=$((nv + 1))
        jq -c --arg v "$v" "select($sel)" "$TMP/all.jsonl" | keys >"$TMP/want"
        "$CTRAIL_BIN" --data "$ALL" events "--$name" "$v" -o json | stored_keys >"$TMP/got"
        cmp -s "$TMP/want" "$TMP/got" ||
            fail "events --$name '$v': $(wc -l <"$TMP/got") events, jq selects $(wc -l <"$TMP/want")"
    done < <(jq -r "$values // empty" "$TMP/all.jsonl" | sort -u)
    [ "$nv" -ge 2 ] || fail "--$name: only $nv values in the fixtures"
}
by verb '.verb' '.verb == $v'
by resource '.objectRef.resource' '.objectRef.resource == $v'
by resource 'select(.objectRef.subresource) | "\(.objectRef.resource)/\(.objectRef.subresource)"' \
    '"\(.objectRef.resource)/\(.objectRef.subresource)" == $v'
by namespace '.objectRef.namespace' '.objectRef.namespace == $v'
by object 'select(.objectRef.name) | .objectRef.name' '.objectRef.name == $v or
    (.objectRef.name == null and .objectRef.subresource == null and
     ((.responseObject.metadata.name // .requestObject.metadata.name) == $v))'
by ip '.sourceIPs[]?' '(.sourceIPs // []) | index($v) != null'
by code '.responseStatus.code' '.responseStatus.code == ($v | tonumber)'
# two at once: both must hold
jq -c 'select(.verb == "create" and .objectRef.resource == "pods")' "$TMP/all.jsonl" | keys >"$TMP/want"
"$CTRAIL_BIN" --data "$ALL" events --verb create --resource pods -o json | stored_keys >"$TMP/got"
cmp -s "$TMP/want" "$TMP/got" || fail "--verb create --resource pods: $(wc -l <"$TMP/got"), want $(wc -l <"$TMP/want")"
[ -s "$TMP/want" ] || fail "no pod creates in the fixtures"
"$CTRAIL_BIN" --data "$ALL" events --code abc >/dev/null 2>&1 && fail "--code abc was taken"

# --- per pod ----------------------------------------------------------------
podsel='select(.objectRef.resource == "pods" and (.objectRef.namespace // "") != "")
        | . as $e | ($e.objectRef.name // $e.responseObject.metadata.name //
                     $e.requestObject.metadata.name // "") as $n | select($n != "")
        | {pod: "\($e.objectRef.namespace)/\($n)", e: $e}'
mapfile -t pods < <(jq -r "$podsel | .pod" "$TMP/all.jsonl" | sort -u)
[ "${#pods[@]}" -ge 5 ] || fail "expected several pods, jq finds ${#pods[@]}"
for p in "${pods[@]}"; do
    jq -c --arg p "$p" "$podsel | select(.pod == \$p) | .e" "$TMP/all.jsonl" | keys >"$TMP/want"
    "$CTRAIL_BIN" --data "$ALL" events --pod "$p" -o json | stored_keys >"$TMP/got"
    cmp -s "$TMP/want" "$TMP/got" ||
        fail "events --pod '$p': $(wc -l <"$TMP/got") events, jq selects $(wc -l <"$TMP/want")"
    "$CTRAIL_BIN" --data "$ALL" timeline "pod:$p" -o json | stored_keys >"$TMP/got"
    cmp -s "$TMP/want" "$TMP/got" ||
        fail "timeline pod:$p: $(wc -l <"$TMP/got") events, jq selects $(wc -l <"$TMP/want")"
done

# --- pods/exec ----------------------------------------------------------------
jq -r 'select(.kind == "create pods/exec") | "\(.raw.auditID) \(.exec_command // "-")"' \
    "$TMP/stored.jsonl" | sort >"$TMP/got"
jq -r 'select(.objectRef.subresource == "exec") | "\(.auditID) \(
        (.requestURI | capture("\\?(?<q>.*)").q // "") | split("&")
        | map(select(startswith("command=")) | .[8:] | gsub("\\+"; " ") | @text)
        | if length == 0 then "-" else join(" ") end)"' "$TMP/all.jsonl" | sort -u >"$TMP/want"
cmp -s "$TMP/want" "$TMP/got" || fail "exec_command: got $(cat "$TMP/got"), want $(cat "$TMP/want")"
grep -q ' bash$' "$TMP/got" || fail "the falco exec trace's command (bash) is not shown"
# raw stays byte for byte: the one-line fixture's bytes are in the JSON line
line=$(tr -d '\n' <"$FX/falco-k8s_audit/exec_pod.json")
grep -qF "\"raw\":$line}" "$TMP/stored.jsonl" || fail "the exec event's raw is not byte-exact"

# --- the join -------------------------------------------------------------------
C1=$(printf 'c1%.0s' $(seq 32))                            # 64 hex: joined by the audit pod
C2=$(printf 'e2%.0s' $(seq 32))                            # 64 hex: joined by Docker labels
NS=shop POD=web-7d4b9 UID_=8f1c2a1e-0000-4000-8000-00000000c0de
t0=1700000000
{
    printf '{"status":"create","id":"%s","from":"nginx:1.25","Type":"container","Action":"create","Actor":{"ID":"%s","Attributes":{"image":"nginx:1.25","name":"k8s_web_web-7d4b9"}},"scope":"local","time":%d,"timeNano":%d000000000}\n' \
        "$C1" "$C1" $((t0 + 2)) $((t0 + 2))
    printf '{"status":"start","id":"%s","from":"nginx:1.25","Type":"container","Action":"start","Actor":{"ID":"%s","Attributes":{"image":"nginx:1.25","name":"k8s_web_web-7d4b9"}},"scope":"local","time":%d,"timeNano":%d000000000}\n' \
        "$C1" "$C1" $((t0 + 3)) $((t0 + 3))
    printf '{"status":"die","id":"%s","from":"nginx:1.25","Type":"container","Action":"die","Actor":{"ID":"%s","Attributes":{"exitCode":"0","image":"nginx:1.25","name":"k8s_web_web-7d4b9"}},"scope":"local","time":%d,"timeNano":%d000000000}\n' \
        "$C1" "$C1" $((t0 + 60)) $((t0 + 60))
    printf '{"status":"start","id":"%s","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"%s","Attributes":{"image":"busybox","name":"k8s_debug_web-7d4b9","io.kubernetes.pod.namespace":"%s","io.kubernetes.pod.name":"%s","io.kubernetes.pod.uid":"%s"}},"scope":"local","time":%d,"timeNano":%d000000000}\n' \
        "$C2" "$C2" "$NS" "$POD" "$UID_" $((t0 + 30)) $((t0 + 30))
} >"$TMP/docker.jsonl"
ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000000Z; }
ev() { # ID VERB SUBRESOURCE SECONDS URI [EXTRA JSON MEMBERS]
    local sub=""
    [ -n "$3" ] && sub=",\"subresource\":\"$3\""
    printf '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"%s","stage":"ResponseComplete","requestURI":"%s","verb":"%s","user":{"username":"alice@example.com","groups":["dev"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.29.0","objectRef":{"resource":"pods","namespace":"%s","name":"%s","apiVersion":"v1"%s},"responseStatus":{"metadata":{},"code":%s},"requestReceivedTimestamp":"%s","stageTimestamp":"%s"%s}\n' \
        "$1" "$5" "$2" "$NS" "$POD" "$sub" "${7:-200}" "$(ts "$4")" "$(ts "$4")" "${6:-}"
}
{
    ev 11111111-0000-4000-8000-000000000001 create "" $((t0 + 1)) "/api/v1/namespaces/$NS/pods" \
        ",\"responseObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"$POD\",\"namespace\":\"$NS\",\"uid\":\"$UID_\"},\"status\":{\"phase\":\"Pending\"}}" 201
    ev 11111111-0000-4000-8000-000000000002 patch status $((t0 + 4)) "/api/v1/namespaces/$NS/pods/$POD/status" \
        ",\"requestObject\":{\"metadata\":{\"uid\":\"$UID_\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"containerID\":\"docker://$C1\",\"ready\":true}]}}"
    ev 11111111-0000-4000-8000-000000000003 create exec $((t0 + 10)) \
        "/api/v1/namespaces/$NS/pods/$POD/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=web&stdin=true&stdout=true&tty=true" "" 101
    ev 11111111-0000-4000-8000-000000000004 create attach $((t0 + 20)) \
        "/api/v1/namespaces/$NS/pods/$POD/attach?container=web&stdin=true&stdout=true" "" 101
    ev 11111111-0000-4000-8000-000000000005 patch ephemeralcontainers $((t0 + 25)) \
        "/api/v1/namespaces/$NS/pods/$POD/ephemeralcontainers"
    ev 11111111-0000-4000-8000-000000000006 delete "" $((t0 + 70)) "/api/v1/namespaces/$NS/pods/$POD"
} >"$TMP/audit.jsonl"
jq -e . "$TMP/audit.jsonl" >/dev/null || fail "the test's own audit events are not JSON"

for order in docker-first audit-first; do
    D=$TMP/join-$order
    if [ $order = docker-first ]; then
        "$CTRAIL_BIN" --data "$D" import "$TMP/docker.jsonl" "$TMP/audit.jsonl" >/dev/null 2>&1
    else
        "$CTRAIL_BIN" --data "$D" import "$TMP/audit.jsonl" "$TMP/docker.jsonl" >/dev/null 2>&1
    fi
    "$CTRAIL_BIN" --data "$D" containers -o json >"$TMP/cat.json"
    jq -s -e --arg id "$C1" --arg ns $NS --arg p $POD --arg u $UID_ \
        'any(.[]; .id == $id and .namespace == $ns and .pod == $p and .pod_uid == $u and
         .details.k8s.container == "web" and .details.k8s.runtime == "docker")' "$TMP/cat.json" \
        >/dev/null || fail "$order: catalog does not link $C1 to $NS/$POD: $(cat "$TMP/cat.json")"
    # the container's timeline: its 3 docker events and the 6 audit events of its pod
    "$CTRAIL_BIN" --data "$D" timeline "${C1:0:12}" -o json >"$TMP/tl.json"
    got=$(jq -r '[.source, .kind] | join(" ")' "$TMP/tl.json" | tr '\n' ',')
    want="k8s_audit create pods,docker container.create,docker container.start,k8s_audit patch pods/status,k8s_audit create pods/exec,k8s_audit create pods/attach,k8s_audit patch pods/ephemeralcontainers,docker container.die,k8s_audit delete pods,"
    [ "$got" = "$want" ] || fail "$order: timeline ${C1:0:12}: $got; want $want"
    jq -s -e 'any(.[]; .kind == "create pods/exec" and .exec_command == "sh -c '"'"'cat /etc/shadow'"'"'")' \
        "$TMP/tl.json" >/dev/null || fail "$order: exec_command of the pod's exec: $(grep exec "$TMP/tl.json")"
    # the second container's own timeline has the pod's audit events too
    n2=$("$CTRAIL_BIN" --data "$D" timeline "$C2" -o json | jq -s 'map(select(.source == "k8s_audit")) | length')
    [ "$n2" = 6 ] || fail "$order: timeline of the labelled container has $n2 audit events, want 6"
    # the pod's timeline: its audit events and both containers' events
    "$CTRAIL_BIN" --data "$D" timeline "pod:$NS/$POD" -o json >"$TMP/pt.json"
    got=$(jq -r '.source + " " + (.container // "-")[0:12]' "$TMP/pt.json" | sort | uniq -c | awk '{print $1, $2, $3}' | tr '\n' ',')
    want="3 docker ${C1:0:12},1 docker ${C2:0:12},6 k8s_audit -,"
    [ "$got" = "$want" ] || fail "$order: timeline pod:$NS/$POD: $got; want $want"
done

# --- 3. AKS archives ---------------------------------------------------------
# A storage account archives AKS kube-audit records one a line, without the
# Event Hub's {"records": [...]} and often behind a BOM.  Each shape is made
# with jq from the Event Hub fixture and must store what the fixture stores:
# the same records (-o json without ingest_ts) and the same raw bytes.
AKS=$FX/aks_eventhub_records.json
A=$TMP/aks
mkdir -p "$A"
BOM=$'\xef\xbb\xbf'
naks=$(jq '.records | length' "$AKS")
[ "$naks" -gt 10 ] || fail "aks fixture: jq counts $naks records"
jq -c '.records[]' "$AKS" >"$A/lines.json"
{ printf '%s' "$BOM"; cat "$A/lines.json"; } >"$A/PT1H.json"
{ printf '%s' "$BOM"; jq '.records[]' "$AKS"; } >"$A/pretty_bom.json"
jq '.records[]' "$AKS" >"$A/pretty.json"
{ printf '%s' "$BOM"; jq '.records[0]' "$AKS"; } >"$A/one_pretty_bom.json"
jq -c '.records[0]' "$AKS" >"$A/one.json"
{ printf '%s' "$BOM"; jq -c '.records[] | .category = "kube-audit-admin"' "$AKS"; } >"$A/admin.json"
cat "$A/PT1H.json" "$A/PT1H.json" >"$A/two_files_catted.json"
"$CTRAIL_BIN" --data "$A/hub" import "$AKS" >/dev/null 2>&1 || fail "aks: the event hub fixture does not import"
"$CTRAIL_BIN" --data "$A/hub" events -o json | jq -c 'del(.ingest_ts)' >"$A/hub.want"
"$CTRAIL_BIN" --data "$A/hub" events -o raw >"$A/hub.raw"
[ "$(wc -l <"$A/hub.want")" = "$naks" ] || fail "aks: the event hub batch stored $(wc -l <"$A/hub.want") of $naks"
for shape in lines PT1H pretty_bom pretty one_pretty_bom one admin two_files_catted; do
    f=$A/$shape.json
    want=$naks
    case $shape in one*) want=1 ;; esac
    out=$("$CTRAIL_BIN" --data "$A/d-$shape" import "$f" 2>"$A/err")
    rc=$?
    [ "$rc" = 0 ] || fail "aks $shape: import exit $rc: $(head -3 "$A/err")"
    case $shape in two_files_catted) dups=$naks ;; *) dups=0 ;; esac
    [ "$out" = "$f: $want records stored, $dups duplicates, 0 rejected" ] || fail "aks $shape: $out"
    "$CTRAIL_BIN" --data "$A/d-$shape" events -o json | jq -c 'del(.ingest_ts)' >"$A/got"
    "$CTRAIL_BIN" --data "$A/d-$shape" events -o raw >"$A/got.raw"
    if [ "$want" = 1 ]; then
        # the batch's first record, wherever it falls in time order
        [ "$(wc -l <"$A/got")" = 1 ] && grep -qxFf "$A/got" "$A/hub.want" ||
            fail "aks $shape: the stored record is not one the event hub path stores: $(cut -c1-200 "$A/got")"
        jq -r '.records[0].properties.log' "$AKS" | sed -e 's/^[[:space:]]*//' -e '/^$/d' |
            cmp -s - "$A/got.raw" || fail "aks $shape: raw is not the first record's log string"
    else
        cmp -s "$A/hub.want" "$A/got" ||
            fail "aks $shape: stored records differ from the event hub path's: $(diff "$A/hub.want" "$A/got" | head -3)"
        cmp -s "$A/hub.raw" "$A/got.raw" || fail "aks $shape: raw bytes differ from the event hub path's"
    fi
done
# the archive and the event hub batch are the same events: stored once
out=$("$CTRAIL_BIN" --data "$A/hub" import "$A/PT1H.json" "$A/pretty_bom.json")
[ "$out" = "$A/PT1H.json: 0 records stored, $naks duplicates, 0 rejected
$A/pretty_bom.json: 0 records stored, $naks duplicates, 0 rejected" ] ||
    fail "aks: the archive after the event hub batch: $out"
# bad lines: another category, a log that is no JSON, a cut last line; each
# reported at its line, every other record kept
jq -c --argjson n "$naks" '.records | to_entries[] | .key as $i | .value
    | if $i == 2 then .category = "kube-apiserver" | .properties.log = "I0505 16:16:37.6 1 trace.go:116] list\n"
      elif $i == 6 then .properties.log = (.properties.log | .[0:40])
      else . end' "$AKS" >"$A/bad.lines"
{ printf '%s' "$BOM"; head -n $((naks - 1)) "$A/bad.lines"; tail -n 1 "$A/bad.lines" | head -c 300; } >"$A/bad.json"
"$CTRAIL_BIN" --data "$A/d-bad" import "$A/bad.json" >"$A/out" 2>"$A/err"
rc=$?
[ "$rc" = 3 ] || fail "aks bad lines: exit $rc, want 3"
[ "$(cat "$A/out")" = "$A/bad.json: $((naks - 3)) records stored, 0 duplicates, 3 rejected" ] ||
    fail "aks bad lines: $(cat "$A/out")"
grep -q "^$A/bad.json:3: aks record of category 'kube-apiserver'" "$A/err" || fail "aks bad lines: line 3: $(cat "$A/err")"
grep -q "^$A/bad.json:7: aks record properties.log: " "$A/err" || fail "aks bad lines: line 7: $(cat "$A/err")"
grep -q "^$A/bad.json:$naks: " "$A/err" || fail "aks bad lines: the cut line $naks: $(cat "$A/err")"
[ "$(wc -l <"$A/err")" = 3 ] || fail "aks bad lines: $(wc -l <"$A/err") lines on stderr, want 3"
bad_ids=$(jq -c --argjson n "$naks" '[.records[2, 6, $n - 1].properties.log | fromjson | .auditID]' "$AKS")
jq -c --argjson ex "$bad_ids" 'select(.raw.auditID as $a | $ex | index($a) | not)' "$A/hub.want" >"$A/want"
[ "$(wc -l <"$A/want")" = $((naks - 3)) ] || fail "aks bad lines: jq keeps $(wc -l <"$A/want") records"
"$CTRAIL_BIN" --data "$A/d-bad" events -o json | jq -c 'del(.ingest_ts)' | cmp -s "$A/want" - ||
    fail "aks bad lines: the good records are not all stored as the event hub path stores them"
echo "k8s_audit: aks archives: $naks records in 8 shapes, bad lines rejected at their line"

if [ "$FAILS" -ne 0 ]; then
    echo "k8s_audit: $FAILS failure(s)"
    exit 1
fi
echo "k8s_audit: ${#files[@]} fixture files, ${#users[@]} users, ${#pods[@]} pods, the join: ok"
