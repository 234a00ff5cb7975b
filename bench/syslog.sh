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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=1000000 CONNS=2 OUT=
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) N=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--conns C] [--out DIR]" >&2; exit 2 ;;
    esac
done
bench_init syslog.sh bench/out/syslog python3 curl zstd du
syslog_lines "$N" "$OUT/lines.txt" wire
BYTES=$(wc -c <"$OUT/lines.txt")
echo "syslog.sh: $N lines, $BYTES bytes ($((BYTES / N)) per line), $CONNS TCP connections"

serve_start "$OUT/data" "syslog tcp on" --syslog-tcp 127.0.0.1:0
PORT=$(sed -n 's/^ctrail: syslog tcp on 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT/serve.out")
[ -n "$PORT" ] || bench_die "no syslog tcp port in: $(cat "$OUT/serve.out")"

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
serve_stop
DISK=$(du -sb "$OUT/data" | cut -f1)
ZST=$(zstd -q -3 -c "$OUT/lines.txt" | wc -c)
echo "syslog.sh: data dir $DISK bytes = $(python3 -c "print('%.1f' % ($DISK / $N))") B/line (index included);" \
    "zstd -3 of the text $ZST bytes = $(python3 -c "print('%.1f' % ($ZST / $N))") B/line;" \
    "raw text $(python3 -c "print('%.1f' % ($BYTES / $N))") B/line"
"$CTRAIL" --data "$OUT/data" events --source syslog -o json | wc -l | sed 's/^/syslog.sh: records stored: /'
