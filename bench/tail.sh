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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=1000000 OUT=
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) N=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--out DIR]" >&2; exit 2 ;;
    esac
done
bench_init tail.sh bench/out/tail python3 curl zstd du
mkdir -p "$OUT/logs"
syslog_lines "$N" "$OUT/lines.txt" file
BYTES=$(wc -c <"$OUT/lines.txt")
echo "tail.sh: $N lines, $BYTES bytes ($((BYTES / N)) per line)"

LOG=$OUT/logs/syslog
: >"$LOG"
serve_start "$OUT/data" "listening on" --tail "$LOG"

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
serve_stop
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
