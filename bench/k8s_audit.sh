#!/usr/bin/env bash
# bench/k8s_audit.sh - Kubernetes audit events/s into durable storage, through
# the webhook (POST /v1/k8s/audit, EventList batches) and through the file
# tail (serve --k8s-audit-log).
#
# Events: the real audit.k8s.io/v1 Events of tests/fixtures/k8s-audit (the
# audit2rbac JSON-lines log, the AKS batch's events, the falco pod creates
# with their full Pod objects), each copy with a new auditID, a running
# time, and one of 500 users, namespaces and pods, so postings cost what
# they cost in use.  They are generated into OUT/events.jsonl first (mean
# size printed).
#
# Webhook: kube-apiserver's batch backend sends EventLists of at most 400
# events (--audit-webhook-batch-max-size default) and waits for each answer;
# so does the client here (python3 http.client, one keep-alive connection
# per client), with --clients C of them at once (default 1; the API server's
# batch backend sends one batch at a time unless throttling is tuned).  A
# 200 means the batch is durable.  The clock runs from the first POST to
# the last answer.
#
# File tail: the same events are appended to OUT/logs/audit.log in 64 KiB
# writes as fast as possible, with a rename rotation half way, while
# `serve --k8s-audit-log` follows it; the clock runs from the first byte
# until /metrics counts every line stored (ctrail_tail_lines_total counts a
# line after its append, fsync included, returned).
#
# usage: bench/k8s_audit.sh [--events N (200000)] [--clients C (1)] [--out DIR]
# env: CTRAIL_BIN (default build/ctrail)
set -eu
export LC_ALL=C

N=200000 C=1 OUT=
while [ $# -gt 0 ]; do
    case "$1" in
    --events) N=$2; shift 2 ;;
    --clients) C=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--events N] [--clients C] [--out DIR]" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTRAIL=${CTRAIL_BIN:-$ROOT/build/ctrail}
OUT=${OUT:-$ROOT/bench/out/k8s_audit}
for t in python3 curl du; do
    command -v "$t" >/dev/null || { echo "k8s_audit.sh: $t is missing" >&2; exit 1; }
done
[ -x "$CTRAIL" ] || { echo "k8s_audit.sh: no ctrail binary at $CTRAIL" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/logs"
SPID=
trap '[ -n "$SPID" ] && kill -TERM $SPID 2>/dev/null; wait 2>/dev/null || true' EXIT

python3 - "$ROOT/tests/fixtures/k8s-audit" "$N" "$OUT/events.jsonl" <<'EOF'
import json, os, random, sys, time
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = [json.loads(l) for l in open(os.path.join(src, "audit2rbac_demo.log")) if l.strip()]
for r in json.load(open(os.path.join(src, "aks_eventhub_records.json")))["records"]:
    base.append(json.loads(r["properties"]["log"]))
fd = os.path.join(src, "falco-k8s_audit")
for f in sorted(os.listdir(fd)):
    if f.startswith("create_nginx_pod"):
        base.append(json.load(open(os.path.join(fd, f))))
rnd = random.Random(42)
t0 = 1795500000.0
with open(out, "w") as w:
    for i in range(n):
        e = dict(base[i % len(base)])
        e["kind"], e["apiVersion"] = "Event", "audit.k8s.io/v1"
        e["auditID"] = "%08x-0000-4000-8000-%012x" % (rnd.getrandbits(32), i)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i / 1000.0)) + ".%06dZ" % (i % 1000 * 1000)
        e["requestReceivedTimestamp"] = e["stageTimestamp"] = ts
        e.pop("timestamp", None)
        e["user"] = dict(e.get("user") or {}, username="user%03d@example.com" % (i % 500))
        ref = e.get("objectRef")
        if isinstance(ref, dict) and ref.get("namespace"):
            ref = dict(ref, namespace="ns%03d" % (i % 500))
            if ref.get("resource") == "pods":
                ref["name"] = "pod-%03d" % (i % 500)
            e["objectRef"] = ref
        w.write(json.dumps(e, separators=(",", ":")) + "\n")
EOF
BYTES=$(wc -c <"$OUT/events.jsonl")
echo "k8s_audit.sh: $N events, $BYTES bytes ($((BYTES / N)) per event)"

serve_start() { # DATA [ARGS...]
    local data=$1
    shift
    : >"$OUT/serve.out"
    "$CTRAIL" --data "$data" serve --no-docker --listen 127.0.0.1:0 "$@" \
        >"$OUT/serve.out" 2>>"$OUT/serve.log" &
    SPID=$!
    for _ in $(seq 100); do grep -qs "listening on" "$OUT/serve.out" && break; sleep 0.1; done
    URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$OUT/serve.out")
    [ -n "$URL" ] || { echo "k8s_audit.sh: serve did not start: $(tail -3 "$OUT/serve.log")" >&2; exit 1; }
}
serve_stop() {
    kill -TERM "$SPID"
    wait "$SPID" || { echo "k8s_audit.sh: serve exited with status $?" >&2; exit 1; }
    SPID=
}

# --- webhook ------------------------------------------------------------------
serve_start "$OUT/data-webhook" --max-body $((64 << 20))
python3 - "$OUT/events.jsonl" "$URL" "$C" <<'EOF'
import http.client, sys, threading, time, urllib.parse
src, url, clients = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(src, "rb").read().splitlines()
batches = []
for i in range(0, len(lines), 400):
    batches.append(b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":['
                   + b",".join(lines[i:i + 400]) + b"]}")
u = urllib.parse.urlparse(url)
lat, errors = [], []

def client(k):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    for j in range(k, len(batches), clients):
        t = time.monotonic()
        conn.request("POST", "/v1/k8s/audit", batches[j], {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        lat.append(time.monotonic() - t)
        if r.status != 200:
            errors.append((r.status, body[:200]))

t0 = time.monotonic()
th = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in th: t.start()
for t in th: t.join()
dt = time.monotonic() - t0
if errors:
    sys.exit("k8s_audit.sh: %d batches failed: %s" % (len(errors), errors[0]))
lat.sort()
print("webhook: %d events in %d batches of 400, %d client(s): %.2f s, %.0f events/s, "
      "%.1f MB/s; per batch p50 %.1f ms, p99 %.1f ms"
      % (len(lines), len(batches), clients, dt, len(lines) / dt,
         sum(map(len, batches)) / dt / 1e6, lat[len(lat) // 2] * 1e3,
         lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3))
EOF
serve_stop
echo "webhook: on disk $(du -sb "$OUT/data-webhook" | cut -f1) bytes"

# --- file tail ------------------------------------------------------------------
LOG=$OUT/logs/audit.log
: >"$LOG"
serve_start "$OUT/data-tail" --k8s-audit-log "$LOG"
python3 - "$OUT/events.jsonl" "$LOG" "$N" "$URL/metrics" <<'EOF'
import os, re, sys, time, urllib.request
src, log, n, murl = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(src, "rb").read()
half = data.index(b"\n", len(data) // 2) + 1

def stored():
    # the loop answers /metrics between appends: on a loaded machine that
    # can take a while
    try:
        m = urllib.request.urlopen(murl, timeout=120).read().decode()
    except OSError:
        return 0
    return sum(int(v) for v in re.findall(r'^ctrail_tail_lines_total\{[^}]*\} (\d+)$', m, re.M))

t0 = time.monotonic()
for part, rotate in ((data[:half], True), (data[half:], False)):
    with open(log, "ab") as w:
        for i in range(0, len(part), 65536):
            w.write(part[i:i + 65536])
            w.flush()
    if rotate:
        os.rename(log, log.replace("audit.log", "audit-2026-01-01T00-00-00.000.log"))
t_written = time.monotonic() - t0
while True:
    got = stored()
    if got >= n:
        break
    if time.monotonic() - t0 > 1800:
        sys.exit("k8s_audit.sh: only %d of %d lines stored after 30 min" % (got, n))
    time.sleep(0.05)
dt = time.monotonic() - t0
print("file tail: written in %.2f s; all %d events durable after %.2f s: %.0f events/s, %.1f MB/s"
      " (includes the 1 s rotate wait)" % (t_written, n, dt, n / dt, len(data) / dt / 1e6))
EOF
serve_stop
echo "file tail: on disk $(du -sb "$OUT/data-tail" | cut -f1) bytes"
for d in data-webhook data-tail; do
    got=$("$CTRAIL" --data "$OUT/$d" events --source k8s_audit -o raw 2>/dev/null | wc -l)
    [ "$got" = "$N" ] || { echo "k8s_audit.sh: $d holds $got events, want $N" >&2; exit 1; }
done
echo "k8s_audit.sh: both stores hold all $N events"
