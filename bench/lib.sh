# shellcheck shell=bash
# bench/lib.sh - what the bench scripts that drive `ctrail serve` share.
# Sourced (bash) after `set -eu` and the script's own options:
#
#   . "$(dirname "$0")/lib.sh"
#
#   bench_init NAME DEFAULT_OUT TOOL...  messages start with "NAME:"; sets ROOT
#                      (the source tree), CTRAIL (CTRAIL_BIN, default
#                      build/ctrail) and OUT (DEFAULT_OUT under ROOT unless
#                      --out gave one); exits 1 when a TOOL or the binary is
#                      missing; empties OUT; at exit stops serve (by pid)
#   bench_die MSG      print "NAME: MSG" on stderr and exit 1
#   syslog_lines N FILE wire|file  N syslog lines made from the real lines of
#                      tests/fixtures/host-logs/syslog-files (a running pid, one
#                      of 50 hosts, a container id in a cgroup path in one line
#                      of 10): "wire" as rsyslog forwards them (<PRI>RFC 3339
#                      stamp), "file" as rsyslog writes files
#   serve_start DATA READY [ARGS...]  `ctrail --data DATA serve` on 127.0.0.1
#                      port 0 with ARGS, stdout in OUT/serve.out, stderr in
#                      OUT/serve.log; waits (10 s) for READY on its stdout;
#                      sets SPID and URL (http://ADDR:PORT)
#   serve_stop         SIGTERM and wait; exit 1 unless serve exits 0

BENCH_NAME=bench
SPID=
URL=

bench_die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

bench_init() { # NAME DEFAULT_OUT TOOL...
    local t
    BENCH_NAME=$1
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    CTRAIL=${CTRAIL_BIN:-$ROOT/build/ctrail}
    OUT=${OUT:-$ROOT/$2}
    shift 2
    for t in "$@"; do
        command -v "$t" >/dev/null || bench_die "$t is missing (scripts/install-deps bench)"
    done
    [ -x "$CTRAIL" ] || bench_die "no ctrail binary at $CTRAIL"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    trap '[ -n "$SPID" ] && kill -TERM $SPID 2>/dev/null; wait 2>/dev/null || true' EXIT
}

syslog_lines() { # N FILE wire|file
    python3 - "$ROOT/tests/fixtures/host-logs/syslog-files" "$1" "$2" "$3" <<'EOF'
import os, random, re, sys, time
src, n, out, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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
        if shape == "wire":
            w.write("<%d>%s.%03dZ host%02d %s\n" % (rnd.choice((38, 86, 30, 13, 166)), ts, i % 1000, i % 50, b))
        else:
            w.write("%s.%03d+00:00 host%02d %s\n" % (ts, i % 1000, i % 50, b))
EOF
}

serve_start() { # DATA READY [ARGS...]
    local data=$1 ready=$2
    shift 2
    "$CTRAIL" --data "$data" serve --no-docker --listen 127.0.0.1:0 "$@" \
        >"$OUT/serve.out" 2>"$OUT/serve.log" &
    SPID=$!
    for _ in $(seq 100); do grep -qsF "$ready" "$OUT/serve.out" && break; sleep 0.1; done
    grep -qsF "$ready" "$OUT/serve.out" || bench_die "serve did not start: $(cat "$OUT/serve.log")"
    # shellcheck disable=SC2034 # for the caller
    URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$OUT/serve.out")
}

serve_stop() {
    kill -TERM "$SPID"
    wait "$SPID" || bench_die "serve exited with status $?"
    SPID=
}
