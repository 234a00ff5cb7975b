#!/usr/bin/env bash
# tests/integration/web_page.sh - the web page in a real headless Chromium.
#
# Imports the demo data (the set scripts/demo imports), starts `ctrail
# serve --tokens FILE` on it, and drives Debian's chromium through
# chromedriver's WebDriver API with curl (no selenium):
#   - the page asks for the token; a wrong one is refused, the right one
#     kept in sessionStorage, so a reload does not ask again;
#   - the list shows dead containers; searching "miner" leaves one row;
#   - clicking it opens the timeline of that dead, privileged container:
#     the catalog facts (exit code 137, privileged yes), its records in
#     time order with the kinds coloured as the legend says (lifecycle,
#     inspect, exec), and a record's raw JSON, expanded, equal to what
#     `ctrail timeline -o raw` prints;
#   - the privileged, id prefix, pod, image, time window and dead-only
#     filters each leave the containers the CLI lists for them (a synthetic
#     create event with the kubelet's pod labels is imported for the pod);
#   - the server logged the page's requests under the token's name.
# A screenshot is saved next to the binary (BUILD/web_page.png).
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES.  Exit 0 pass, 1 fail, 77 skip
# (no chromium/chromedriver, or chromium cannot start here).
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# every failure stops the test, with the end of the serve log
fail() { echo "FAIL: $*" >&2; [ -n "${SERVE_ERR:-}" ] && tail -20 "$SERVE_ERR" >&2; exit 1; }

need_ctrail
need_fixtures
need_tools curl jq base64 od
CHROME=$(command -v chromium || true)
DRIVER=$(command -v chromedriver || true)
[ -n "$CHROME" ] || skip "chromium is not installed (scripts/install-deps test)"
[ -n "$DRIVER" ] || skip "chromedriver is not installed (Debian chromium-driver)"

make_tmp web
POLL=0.2
DRIVER_PID="" SID=""
cleanup_first() { [ -n "$SID" ] && curl -s -X DELETE "$WD/session/$SID" >/dev/null 2>&1; }

# --- data and server -------------------------------------------------------
DATA=$TMP/data
set -- "$FX"/docker-events/captured-*.jsonl "$FX"/docker-events/moby-api-*.json* \
    "$FX"/docker-inspect/*.json "$FX"/docker-exec/*.json \
    "$FX"/k8s-audit/audit2rbac_demo.log "$FX"/k8s-audit/aks_eventhub_records.json \
    "$FX"/k8s-audit/gke-bridge/*.json \
    "$FX"/host-logs/syslog-files/*.log "$FX"/host-logs/auditd/*.log
"$CTRAIL" --data "$DATA" import "$@" >/dev/null 2>"$TMP/import.err" || fail "import: $(tail -3 "$TMP/import.err")"
# the demo data has no container in a pod: one create event with the kubelet's labels
PODC=$(printf 'feed%060d' 1)
printf '{"status":"create","id":"%s","from":"registry.k8s.io/pause:3.9","Type":"container","Action":"create","Actor":{"ID":"%s","Attributes":{"image":"registry.k8s.io/pause:3.9","io.kubernetes.pod.name":"web-7f9","io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.uid":"0c0a8e3e-7b39-4d8e-9b6a-2f1d5a0e6c11","name":"k8s_POD_web-7f9_prod_0c0a8e3e-7b39-4d8e-9b6a-2f1d5a0e6c11_0"}},"scope":"local","time":1795588800,"timeNano":1795588800000000001}\n' \
    "$PODC" "$PODC" | "$CTRAIL" --data "$DATA" import --source docker - >/dev/null 2>>"$TMP/import.err" ||
    fail "import of the pod container: $(tail -3 "$TMP/import.err")"

TOKEN=$("$CTRAIL" token-hash --new investigator read | head -n 1)
printf '# web test\ninvestigator read %s\n' "$("$CTRAIL" token-hash "$TOKEN")" >"$TMP/tokens"
serve_start serve "$DATA" --tokens "$TMP/tokens"
SERVE_ERR=$SLOG

MINER=$("$CTRAIL" --data "$DATA" containers -o json | jq -r 'select(.name == "miner") | .id')
[ -n "$MINER" ] || fail "the demo data has no container named miner"
"$CTRAIL" --data "$DATA" timeline -o raw "$MINER" >"$TMP/miner.raw"
"$CTRAIL" --data "$DATA" timeline -o json "$MINER" >"$TMP/miner.json"
N_MINER=$(wc -l <"$TMP/miner.json")

# --- the browser ---------------------------------------------------------------
# chromedriver wants a port: try random ones until one is free
for try in 1 2 3 4 5 6 7 8; do
    WD_PORT=$((20000 + RANDOM % 40000))
    WD=http://127.0.0.1:$WD_PORT
    "$DRIVER" --port="$WD_PORT" >"$TMP/driver.log" 2>&1 &
    DRIVER_PID=$!
    track "$DRIVER_PID"
    wait_until 20 curl -sf "$WD/status" -o /dev/null && kill -0 "$DRIVER_PID" 2>/dev/null && break
    kill "$DRIVER_PID" 2>/dev/null
    wait "$DRIVER_PID" 2>/dev/null
    untrack "$DRIVER_PID"
    DRIVER_PID=""
done
[ -n "$DRIVER_PID" ] || skip "chromedriver did not start: $(tail -3 "$TMP/driver.log")"
caps=$(jq -n --arg bin "$CHROME" '{capabilities: {alwaysMatch: {browserName: "chrome",
    "goog:chromeOptions": {binary: $bin, args: ["--headless", "--no-sandbox", "--disable-gpu",
    "--window-size=1400,1300", "--disable-dev-shm-usage"]}}}}')
resp=$(curl -s -X POST "$WD/session" -H 'Content-Type: application/json' -d "$caps")
SID=$(jq -r '.value.sessionId // empty' <<<"$resp")
[ -n "$SID" ] || skip "chromium cannot start here: $(jq -c '.value.message // .' <<<"$resp" | head -c 400)"

wd() { # METHOD PATH [JSON] -> .value
    local out
    out=$(curl -s -X "$1" "$WD/session/$SID$2" -H 'Content-Type: application/json' -d "${3:-{\}}") ||
        fail "webdriver $1 $2: curl failed"
    if jq -e '.value.error? // empty' <<<"$out" >/dev/null 2>&1; then
        fail "webdriver $1 $2: $(jq -c '.value | {error, message}' <<<"$out" | head -c 400)"
    fi
    jq -c '.value' <<<"$out"
}
js() { # SCRIPT -> its JSON value
    wd POST /execute/sync "$(jq -n --arg s "$1" '{script: $s, args: []}')"
}
js_true() { [ "$(js "return Boolean($1);")" = true ]; }
find() { # CSS -> element id
    wd POST /element "$(jq -n --arg v "$1" '{using: "css selector", value: $v}')" | jq -r '.[]'
}
type_into() { wd POST "/element/$(find "$1")/value" "$(jq -n --arg t "$2" '{text: $t}')" >/dev/null; }
click() { wd POST "/element/$(find "$1")/click" >/dev/null; }
expect_js() { # DESCRIPTION EXPR [SECONDS]
    wait_until "${3:-10}" js_true "$2" || fail "$1 (${2}): page shows $(js "return document.body.innerText.slice(0, 600);")"
}

wd POST /url "$(jq -n --arg u "$URL/" '{url: $u}')" >/dev/null
expect_js "the page asks for a token" "!document.getElementById('token-form').hidden"
type_into '#token-input' 'not-the-token-at-all'
click '#token-form button'
expect_js "a wrong token is refused" "document.getElementById('token-error').textContent.includes('refused') && !document.getElementById('token-form').hidden"
type_into '#token-input' "$TOKEN"
click '#token-form button'
expect_js "the right token is taken" "document.getElementById('token-form').hidden"
expect_js "the container list loads" "document.querySelectorAll('#containers tbody tr').length > 10"
n_dead=$(js "return document.querySelectorAll('#containers tbody tr.dead').length;")
[ "$n_dead" -ge 5 ] || fail "the list shows $n_dead dead containers"
[ "$(js "return sessionStorage.getItem('ctrail.token');")" = "\"$TOKEN\"" ] || fail "the token is not in sessionStorage"

# asked once: a reload keeps the token
wd POST /refresh >/dev/null
expect_js "the list loads again after a reload" "document.querySelectorAll('#containers tbody tr').length > 10"
js_true "document.getElementById('token-form').hidden" || fail "a reload asked for the token again"

# search by name
type_into '#f-q' 'miner'
expect_js "searching 'miner' leaves one row" "document.querySelectorAll('#containers tbody tr').length === 1"
click '#containers tbody tr'
expect_js "the miner's timeline opens" "document.querySelectorAll('#timeline li').length === $N_MINER" 15
[ "$(js "return location.hash;")" = "\"#/c/$MINER\"" ] || fail "the URL does not name the container"

facts=$(js "return document.getElementById('d-facts').innerText;" | jq -r . | tr '\n\t' '  ')
title=$(js "return document.getElementById('d-title').textContent;" | jq -r .)
[ "$title" = "miner (dead)" ] || fail "title: $title"
grep -q 'exit code 137' <<<"$facts" || fail "no exit code 137 in the facts: $facts"
grep -q 'privileged yes' <<<"$facts" || fail "not shown as privileged: $facts"

# records in time order, coloured by kind as in the CLI's output
kinds=$(js "return Array.from(document.querySelectorAll('#timeline li')).map(li => li.dataset.kind + ' ' + li.className).join('\n');" | jq -r .)
want=$(jq -r '.kind + " " + (if (.kind | test("exec")) then "exec" elif .source == "inspect" then "inspect"
    elif .source == "k8s_audit" then "audit" elif .source == "docker" then "lifecycle" else "hostlog" end)' "$TMP/miner.json")
[ "$kinds" = "$want" ] || fail "timeline kinds differ from the CLI's:
page:
$kinds
cli:
$want"
for cat in lifecycle inspect exec; do
    js_true "document.querySelector('#timeline li.$cat')" || fail "no $cat record shown"
    colour=$(js "return getComputedStyle(document.querySelector('#timeline li.$cat'), '::before').backgroundColor;")
    legend=$(js "return getComputedStyle(document.querySelector('#legend .k.$cat')).color;")
    [ "$colour" = "$legend" ] || fail "$cat: dot $colour, legend $legend"
done
js_true "document.querySelector('#timeline li.lifecycle').innerText.includes('container.create')" ||
    fail "the first lifecycle record is not the create"
js_true "Array.from(document.querySelectorAll('#timeline li')).some(li => li.innerText.includes('exitCode=137'))" ||
    fail "the die record does not show exitCode=137"

# a record's raw JSON (the one before last: the die), expanded, is the stored payload
last=$((N_MINER - 1))
click "#timeline li:nth-child($last) details summary"
expect_js "the raw JSON expands" "document.querySelector('#timeline li:nth-child($last) details').open"
js "return document.querySelector('#timeline li:nth-child($last) details pre').textContent;" | jq -r . | jq -cS . >"$TMP/page.raw"
sed -n "${last}p" "$TMP/miner.raw" | jq -cS . >"$TMP/cli.raw"
cmp -s "$TMP/page.raw" "$TMP/cli.raw" || fail "raw JSON differs: $(cat "$TMP/page.raw") vs $(cat "$TMP/cli.raw")"

shot=$(dirname "$CTRAIL")/web_page.png
js "window.scrollTo(0, 0); return true;" >/dev/null
wd GET /screenshot | jq -r . | base64 -d >"$shot" || fail "screenshot"
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
echo "screenshot: $shot ($(wc -c <"$shot") bytes)"

# the privileged filter
wd POST "/element/$(find '#f-q')/clear" >/dev/null
js "const s = document.getElementById('f-priv'); s.value = 'true'; s.dispatchEvent(new Event('change')); return true;" >/dev/null
n_priv=$("$CTRAIL" --data "$DATA" containers -o json | jq -s '[.[] | select(.privileged == true)] | length')
expect_js "the privileged filter leaves $n_priv rows" "document.querySelectorAll('#containers tbody tr').length === $n_priv && Array.from(document.querySelectorAll('#containers tbody tr')).every(tr => tr.innerText.includes('priv'))"

# the other filters: each leaves what the CLI (or the catalog) says it should
setf() { # ID VALUE: as if typed (the page reloads the list on input/change)
    js "const e = document.getElementById('$1'); e.value = $(jq -n --arg v "$2" '$v');
        e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); return true;" >/dev/null
}
rows_are() { # N IDS-JSON-OR-EMPTY: the list holds N rows (and exactly these ids)
    local cond="document.querySelectorAll('#containers tbody tr').length === $1"
    [ -n "${2:-}" ] && cond="$cond && JSON.stringify(Array.from(document.querySelectorAll('#containers tbody tr')).map(tr => tr.dataset.id)) === '$2'"
    echo "$cond"
}
cli_count() { "$CTRAIL" --data "$DATA" containers -o json "$@" | wc -l; }
setf f-priv ''
expect_js "all rows again without the privileged filter" "$(rows_are "$(cli_count)")"
setf f-q "${MINER:0:8}"
expect_js "an id prefix finds the miner" "$(rows_are 1 "[\"$MINER\"]")"
setf f-q 'prod/web'
expect_js "a pod's name finds its container" "$(rows_are 1 "[\"$PODC\"]")"
setf f-q ''
setf f-pod 'prod/web-7f9'
expect_js "the pod filter" "$(rows_are 1 "[\"$PODC\"]")"
js_true "document.querySelector('#containers tbody tr').innerText.includes('prod/web-7f9')" ||
    fail "the row does not show its pod"
setf f-pod ''
n_img=$(cli_count --image 'localhost/*')
[ "$n_img" -ge 5 ] || fail "the demo data has $n_img localhost/ containers"
setf f-image 'localhost/*'
expect_js "the image filter leaves $n_img rows" "$(rows_are "$n_img") && Array.from(document.querySelectorAll('#containers tbody tr')).every(tr => tr.innerText.includes('localhost/'))"
setf f-image ''
n_win=$(cli_count --since 2026-11-25T06:38:10Z --until 2026-11-25T06:38:20Z)
[ "$n_win" -ge 2 ] && [ "$n_win" -lt "$(cli_count)" ] || fail "the time window holds $n_win containers"
setf f-since 2026-11-25T06:38:10Z
setf f-until 2026-11-25T06:38:20Z
expect_js "the time window leaves $n_win rows" "$(rows_are "$n_win")"
setf f-since ''
setf f-until ''
js "const c = document.getElementById('f-dead'); c.checked = true; c.dispatchEvent(new Event('change')); return true;" >/dev/null
expect_js "dead only" "document.querySelectorAll('#containers tbody tr').length >= 5 && Array.from(document.querySelectorAll('#containers tbody tr')).every(tr => tr.classList.contains('dead')) && document.querySelectorAll('#containers tbody tr').length < $(cli_count)"

grep -q "investigator GET /v1/containers/{ref}/timeline 200" "$SERVE_ERR" ||
    fail "the server did not log the page's timeline request with the token's name"
echo "web_page: ok ($N_MINER records in the miner's timeline)"
