#!/usr/bin/env bash
# bench/syslog.sh - syslog lines/s over TCP into durable storage, and bytes
# on disk per line against `zstd -3` of the same text.
#
# Lines: the real syslog file lines of tests/fixtures/host-logs/syslog-files
# (auth, darwin, tz-offset samples), given a PRI and an RFC 3339 stamp as
# rsyslog forwards them, with a running pid, one of 50 host names and, in
# one line of 10, a container id in a cgroup path (so postings and keying
# cost what they cost in real use).  They are written to a file first, then
# sent as fast as the connections take them (LF framing) by python3 over
# --conns TCP connections to `ctrail serve --syslog-tcp 127.0.0.1:0`.  The
# clock runs from the first byte sent until /metrics says every line is
# stored (ctrail_records_ingested_total{source="syslog"}; durable: serve
# counts a record only after its append, fsync included, returned).  Then
# serve stops (sealing the journal) and the data directory is measured.
#
# usage: bench/syslog.sh [--lines N (1000000)] [--conns C (2)] [--out DIR (bench/out/syslog)]
# env: CTRAIL_BIN (default build/ctrail)
set -eu
export LC_ALL=C

N=1000000 CONNS=2 OUT=
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) N=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--conns C] [--out DIR]" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTRAIL=${CTRAIL_BIN:-$ROOT/build/ctrail}
OUT=${OUT:-$ROOT/bench/out/syslog}
for t in python3 curl zstd du; do
    command -v "$t" >/dev/null || { echo "syslog.sh: $t is missing (scripts/install-deps bench)" >&2; exit 1; }
done
[ -x "$CTRAIL" ] || { echo "syslog.sh: no ctrail binary at $CTRAIL" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
SPID=
trap '[ -n "$SPID" ] && kill -TERM $SPID 2>/dev/null; wait 2>/dev/null || true' EXIT

python3 - "$ROOT/tests/fixtures/host-logs/syslog-files" "$N" "$OUT/lines.txt" <<'EOF'
import os, random, re, sys, time
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = []
for f in sorted(os.listdir(src)):
    for line in open(os.path.join(src, f), encoding="utf-8", errors="surrogateescape"):
        m = re.match(r"^(?:\w{3} +\d+ [\d:]{8}|\S+T\S+) +\S+ +(.*)$", line.rstrip("\n"))
        if m and m.group(1).strip():
            body.append(m.group(1))
rnd = random.Random(42)
cids = ["%064x" % rnd.getrandbits(256) for _ in range(200)]
t0 = 1795500000.0
with open(out, "w", encoding="utf-8", errors="surrogateescape") as w:
    for i in range(n):
        b = body[i % len(body)]
        b = re.sub(r"\[\d+\]", "[%d]" % (1000 + i % 30000), b, count=1)
        if i % 10 == 0:
            b += " cgroup=/system.slice/docker-%s.scope" % cids[i % len(cids)]
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i / 1000.0))
        w.write("<%d>%s.%03dZ host%02d %s\n" % (rnd.choice((38, 86, 30, 13, 166)), ts, i % 1000, i % 50, b))
EOF
BYTES=$(wc -c <"$OUT/lines.txt")
echo "syslog.sh: $N lines, $BYTES bytes ($((BYTES / N)) per line), $CONNS TCP connections"

"$CTRAIL" --data "$OUT/data" serve --no-docker --listen 127.0.0.1:0 --syslog-tcp 127.0.0.1:0 \
    >"$OUT/serve.out" 2>"$OUT/serve.log" &
SPID=$!
for _ in $(seq 100); do grep -qs "syslog tcp on" "$OUT/serve.out" && break; sleep 0.1; done
URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$OUT/serve.out")
PORT=$(sed -n 's/^ctrail: syslog tcp on 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT/serve.out")
[ -n "$PORT" ] || { echo "syslog.sh: serve did not start: $(cat "$OUT/serve.log")" >&2; exit 1; }

python3 - "$OUT/lines.txt" "$PORT" "$CONNS" "$N" "$URL/metrics" <<'EOF'
import socket, sys, threading, time, urllib.request
path, port, conns, n, murl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
data = open(path, "rb").read()
lines = data.split(b"\n")[:-1]
parts = [b"\n".join(lines[i::conns]) + b"\n" for i in range(conns)]
def stored():
    for l in urllib.request.urlopen(murl).read().decode().splitlines():
        if l.startswith('ctrail_records_ingested_total{source="syslog"}'):
            return int(l.split()[1])
    return 0
def send(p):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(p)
    s.close()
t0 = time.monotonic()
ts = [threading.Thread(target=send, args=(p,)) for p in parts]
for t in ts: t.start()
for t in ts: t.join()
t_sent = time.monotonic() - t0
while True:
    got = stored()
    if got >= n: break
    time.sleep(0.05)
t_all = time.monotonic() - t0
print("syslog.sh: sent in %.2f s; all %d durable after %.2f s: %.0f lines/s, %.1f MB/s"
      % (t_sent, got, t_all, n / t_all, len(data) / t_all / 1e6))
EOF
kill -TERM $SPID
wait $SPID
SPID=
DISK=$(du -sb "$OUT/data" | cut -f1)
ZST=$(zstd -q -3 -c "$OUT/lines.txt" | wc -c)
echo "syslog.sh: data dir $DISK bytes = $(python3 -c "print('%.1f' % ($DISK / $N))") B/line (index included);" \
    "zstd -3 of the text $ZST bytes = $(python3 -c "print('%.1f' % ($ZST / $N))") B/line;" \
    "raw text $(python3 -c "print('%.1f' % ($BYTES / $N))") B/line"
"$CTRAIL" --data "$OUT/data" events --source syslog -o json | wc -l | sed 's/^/syslog.sh: records stored: /'
