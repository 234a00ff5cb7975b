#!/usr/bin/env bash
# bench/tail.sh - lines/s through `ctrail serve --tail` into durable storage,
# and bytes on disk per line against `zstd -3` of the same text.
#
# Lines: the real syslog file lines of tests/fixtures/host-logs/syslog-files
# (auth, darwin, tz-offset samples) in the shape rsyslog writes files
# ("2026-11-22T08:00:00.123+00:00 host07 sshd[1234]: ..."), with a running
# pid, one of 50 host names and, in one line of 10, a container id in a
# cgroup path (so postings and keying cost what they cost in real use).
# They are generated into OUT/lines.txt first; then a writer appends them to
# the followed file OUT/logs/syslog in 64 KiB writes as fast as it can, and
# rotates it by rename once, half way.  The clock runs from the first byte
# written until /metrics says every line is stored
# (ctrail_tail_lines_total: counted only after the append, fsync included,
# returned).  Then serve stops (sealing the journal) and the data directory
# is measured.
#
# usage: bench/tail.sh [--lines N (1000000)] [--out DIR (bench/out/tail)]
# env: CTRAIL_BIN (default build/ctrail)
set -eu
export LC_ALL=C

N=1000000 OUT=
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) N=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--out DIR]" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTRAIL=${CTRAIL_BIN:-$ROOT/build/ctrail}
OUT=${OUT:-$ROOT/bench/out/tail}
for t in python3 curl zstd du; do
    command -v "$t" >/dev/null || { echo "tail.sh: $t is missing (scripts/install-deps bench)" >&2; exit 1; }
done
[ -x "$CTRAIL" ] || { echo "tail.sh: no ctrail binary at $CTRAIL" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/logs"
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
        w.write("%s.%03d+00:00 host%02d %s\n" % (ts, i % 1000, i % 50, b))
EOF
BYTES=$(wc -c <"$OUT/lines.txt")
echo "tail.sh: $N lines, $BYTES bytes ($((BYTES / N)) per line)"

LOG=$OUT/logs/syslog
: >"$LOG"
"$CTRAIL" --data "$OUT/data" serve --no-docker --listen 127.0.0.1:0 --tail "$LOG" \
    >"$OUT/serve.out" 2>"$OUT/serve.log" &
SPID=$!
for _ in $(seq 100); do grep -qs "listening on" "$OUT/serve.out" && break; sleep 0.1; done
URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$OUT/serve.out")
[ -n "$URL" ] || { echo "tail.sh: serve did not start: $(cat "$OUT/serve.log")" >&2; exit 1; }

python3 - "$OUT/lines.txt" "$LOG" "$N" "$URL/metrics" <<'EOF'
import os, re, sys, time, urllib.request
src, log, n, murl = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(src, "rb").read()
half = data.index(b"\n", len(data) // 2) + 1

def stored():
    try:
        m = urllib.request.urlopen(murl, timeout=30).read().decode()
    except OSError:
        return 0  # a busy machine: ask again
    return sum(int(v) for v in re.findall(r'^ctrail_tail_lines_total\{[^}]*\} (\d+)$', m, re.M))

t0 = time.monotonic()
for part, rotate in ((data[:half], True), (data[half:], False)):
    with open(log, "ab") as w:
        for i in range(0, len(part), 65536):
            w.write(part[i:i + 65536])
            w.flush()
    if rotate:
        os.rename(log, log + ".1")
t_written = time.monotonic() - t0
while True:
    got = stored()
    if got >= n:
        break
    if time.monotonic() - t0 > 1800:
        sys.exit("tail.sh: only %d of %d lines stored after 30 min" % (got, n))
    time.sleep(0.05)
dt = time.monotonic() - t0
print("tail.sh: written in %.2f s; all %d lines durable after %.2f s: %.0f lines/s, %.1f MB/s"
      % (t_written, n, dt, n / dt, len(data) / dt / 1e6))
EOF
kill -TERM "$SPID"
wait "$SPID" || { echo "tail.sh: serve exited with status $?" >&2; exit 1; }
SPID=
STORED=$("$CTRAIL" --data "$OUT/data" stats 2>/dev/null | sed -n 's/^records *\([0-9]*\).*/\1/p' || true)
DISK=$(du -sb "$OUT/data" | cut -f1)
zstd -q -3 -T1 -f -o "$OUT/lines.txt.zst" "$OUT/lines.txt"
ZST=$(stat -c %s "$OUT/lines.txt.zst")
awk -v n="$N" -v b="$BYTES" -v d="$DISK" -v z="$ZST" 'BEGIN {
    printf "tail.sh: on disk %d bytes = %.1f bytes/line (text %.1f, zstd -3 %.1f bytes/line; ctrail/zstd = %.2f)\n",
        d, d / n, b / n, z / n, d / z }'
grep -q "rotated: finished" "$OUT/serve.log" || echo "tail.sh: warning: the rotation was not seen" >&2
[ -n "$STORED" ] && echo "tail.sh: store says $STORED records"
exit 0
