#!/usr/bin/env bash
# bench/http.sh - timeline queries over HTTP under concurrent clients, against the CLI.
#
# usage: bench/http.sh [--records N] [--clients C] [--duration S] [--ids K]
#                      [--bin build/ctrail] [--seed S]
#
# Generates N records (default 200000) with ctrail-gen, imports them into a fresh
# data directory, starts `ctrail serve --no-docker` on 127.0.0.1 (no token file:
# loopback only), and draws K container ids (default 200, seeded).  Then:
#
#   http   wrk with C connections (default 32) for S seconds (default 20) asking
#          GET /v1/containers/{id}/timeline (NDJSON) for the K ids in turn:
#          requests/s, latency p50/p90/p99 (wrk's own, from every request), and
#          the server's CPU time and peak RSS;
#   cli    the same question as `ctrail timeline -o json ID`: one at a time
#          (ctrail-bench-latency: p50/p99 per query), then C at a time with
#          xargs -P C for the same K ids (queries/s).
#
# The load of the machine (1-minute load average) is printed before each phase:
# on a shared machine the figures are only comparable with one another.
# Needs wrk (Debian wrk), jq, shuf; ctrail-gen and ctrail-bench-latency next to the
# binary.
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$PWD

N=200000
C=32
DUR=20
K=200
BIN=""
SEED=7
while [ $# -gt 0 ]; do
    case $1 in
    --records) N=$2; shift 2 ;;
    --clients) C=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --ids) K=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/http.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$BIN" ] || BIN=build/ctrail
[ -x "$BIN" ] || { echo "no ctrail binary at $BIN: ./scripts/build build, or --bin PATH" >&2; exit 2; }
CTRAIL=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
GEN=$(dirname "$CTRAIL")/ctrail-gen
LAT=$(dirname "$CTRAIL")/ctrail-bench-latency
for t in "$GEN" "$LAT"; do
    [ -x "$t" ] || { echo "$t is not built (cmake --build <dir> --target ctrail-gen ctrail-bench-latency)" >&2; exit 2; }
done
for t in wrk jq shuf xargs; do
    command -v "$t" >/dev/null || { echo "bench/http.sh needs $t" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrail-bench-http.XXXXXX")
SPID=""
cleanup() {
    if [ -n "$SPID" ]; then
        kill -TERM "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
now_ns() { date +%s%N; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
DATA=$TMP/data

echo "bench/http.sh: $N records, $C clients, ${DUR}s, $K container ids, $(nproc) cores"
"$GEN" --records "$N" --fixtures "$ROOT/tests/fixtures" --seed "$SEED" >"$TMP/events.jsonl" ||
    { echo "ctrail-gen failed" >&2; exit 1; }
"$CTRAIL" --data "$DATA" import "$TMP/events.jsonl" >/dev/null 2>"$TMP/import.err" ||
    { echo "import failed: $(tail -3 "$TMP/import.err")" >&2; exit 1; }
rm -f "$TMP/events.jsonl"
"$CTRAIL" --data "$DATA" containers -o json | jq -r .id >"$TMP/all-ids"
shuf -n "$K" --random-source=<(yes "$SEED") "$TMP/all-ids" >"$TMP/ids"
K=$(wc -l <"$TMP/ids")
[ "$K" -gt 0 ] || { echo "no containers in the generated data" >&2; exit 1; }

"$CTRAIL" --data "$DATA" serve --no-docker --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SPID=$!
for _ in $(seq 100); do
    grep -qs "listening on" "$TMP/serve.out" && break
    sleep 0.1
done
URL=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$TMP/serve.out")
[ -n "$URL" ] || { echo "serve did not start: $(tail -3 "$TMP/serve.err")" >&2; exit 1; }

# the paths, in turn, shared by wrk's threads through a counter per thread
{
    echo 'local paths = {'
    sed 's|.*|  "/v1/containers/&/timeline",|' "$TMP/ids"
    echo '}'
    cat <<'EOF'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept"] = "application/x-ndjson" })
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %.3f %.3f %.3f %.3f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.bytes, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
EOF
} >"$TMP/paths.lua"

# warm the page cache and the server a little, as a user's first query would not
curl -s -o /dev/null "$URL/v1/containers/$(head -n 1 "$TMP/ids")/timeline"

echo
echo "http (wrk -t2 -c$C -d${DUR}s, load $(load))"
cpu0=$(cpu_ticks "$SPID")
wrk -t2 -c"$C" -d"${DUR}s" --timeout 30s -s "$TMP/paths.lua" "$URL" >"$TMP/wrk.out" 2>&1 ||
    { echo "wrk failed: $(tail -3 "$TMP/wrk.out")" >&2; exit 1; }
cpu1=$(cpu_ticks "$SPID")
read -r _ reqs errs bytes dur_us p50 p90 p99 pmax < <(grep '^WRK ' "$TMP/wrk.out")
hz=$(getconf CLK_TCK)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$SPID/status")
printf '  %-36s %s (%s errors), %s MiB\n' "requests" "$reqs" "$errs" "$((bytes / 1048576))"
printf '  %-36s %.0f req/s\n' "throughput" "$(awk -v r="$reqs" -v d="$dur_us" 'BEGIN { print r / (d / 1e6) }')"
printf '  %-36s p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n' "latency" "$p50" "$p90" "$p99" "$pmax"
printf '  %-36s %.2f s, peak RSS %s MiB\n' "server CPU time" "$(awk -v a="$cpu0" -v b="$cpu1" -v h="$hz" 'BEGIN { print (b - a) / h }')" "$((hwm / 1024))"
kill -TERM "$SPID"
wait "$SPID" 2>/dev/null
SPID=""

echo
echo "cli, one at a time (ctrail-bench-latency, load $(load))"
"$LAT" --warmup 3 --ids "$TMP/ids" -- "$CTRAIL" --data "$DATA" timeline -o json {} | sed 's/^/  /'
echo
echo "cli, $C at a time (xargs -P $C over the $K ids, load $(load))"
t0=$(now_ns)
xargs -P "$C" -I{} "$CTRAIL" --data "$DATA" timeline -o json {} <"$TMP/ids" >/dev/null ||
    echo "  warning: some ctrail timeline runs failed"
t1=$(now_ns)
printf '  %-36s %s in %.2f s: %.0f queries/s\n' "queries" "$K" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" \
    "$(awk -v k="$K" -v a="$t0" -v b="$t1" 'BEGIN { print k / ((b - a) / 1e9) }')"
