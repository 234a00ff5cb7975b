#!/usr/bin/env bash
# bench/run.sh - the store benchmark (issue 3).  See bench/README.md.
#
#   bench/run.sh [--records N] [--out DIR] [--probes K] [--grep-probes M]
#                [--seed S] [--no-long] [--clean]
#
# Builds nothing: takes CTRAIL_BIN, CTRAIL_GEN and CTRAIL_LATENCY (default
# build/ctrail, build/ctrail-gen, ctrail-bench-latency next to CTRAIL_BIN).
# In one run it generates N records (default 1,000,000), imports them pinned
# to one core, measures the data directory against zstd/gzip of the same
# JSONL, and times `ctrail timeline` for K random containers against
# `zstdgrep ID | jq` for M of them.  Prints a table, writes OUT/summary.json
# (and OUT/report.txt).  Exits non-zero only on errors, not on missed targets.
# OUT/data, OUT/events.jsonl and its .zst are kept for analysis unless --clean.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RECORDS=1000000
OUT=$ROOT/bench/out
PROBES=200
GREP_PROBES=10
SEED=42
LONG=1
KEEP=1

# targets (issue 3)
T_RPS=100000      # import records/s on one core, at least
T_SIZE=1.5        # on-disk bytes / zstd -19 bytes, at most
T_P99=20          # timeline p99 in ms, at most

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --records) RECORDS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --probes) PROBES=${2:?}; shift 2 ;;
    --grep-probes) GREP_PROBES=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --no-long) LONG=0; shift ;;
    --clean) KEEP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
case "$RECORDS$PROBES$GREP_PROBES$SEED" in *[!0-9]*) die "numbers only for --records, --probes, --grep-probes, --seed" ;; esac
[ "$RECORDS" -gt 0 ] || die "--records must be positive"

abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CTRAIL=$(abs "${CTRAIL_BIN:-$ROOT/build/ctrail}")
GEN=$(abs "${CTRAIL_GEN:-$ROOT/build/ctrail-gen}")
LAT=$(abs "${CTRAIL_LATENCY:-$(dirname "$CTRAIL")/ctrail-bench-latency}")
FIXTURES=$(abs "${CTRAIL_FIXTURES:-$ROOT/tests/fixtures}")
for b in "$CTRAIL" "$GEN" "$LAT"; do
    [ -x "$b" ] || die "$b is not built (cmake --build <dir> --target ctrail ctrail-gen ctrail-bench-latency)"
done
missing=""
for t in zstd gzip jq zstdgrep shuf du awk; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || die "missing tools:$missing (scripts/install-deps bench installs them)"

PIN=()
PIN_NOTE="not pinned (taskset missing)"
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    PIN=(taskset -c 0)
    PIN_NOTE="taskset -c 0"
fi
TIMEV=""
[ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null && TIMEV=/usr/bin/time
HAVE_SQLITE=0
command -v sqlite3 >/dev/null 2>&1 && HAVE_SQLITE=1

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=$OUT/data
JSONL=$OUT/events.jsonl
IDS=$OUT/ids.txt
rm -rf "$DATA" "$OUT"/events.jsonl* "$OUT"/summary.json "$OUT"/report.txt

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- what is measured ----------------------------------------------------
GIT_HEAD=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null |
            awk '{ sub(/\/.*/, "/", $2); print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//')
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$CTRAIL")/CMakeCache.txt" 2>/dev/null || true)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
NCPU=$(nproc 2>/dev/null || echo '?')
FS=$(df -PT "$OUT" 2>/dev/null | awk 'NR == 2 { print $2 }')
ZSTD_VER=$(zstd -V | sed -n 's/.*v\([0-9.]*\).*/\1/p')
BIN_TIME=$(date -u -r "$CTRAIL" +%Y-%m-%dT%H:%M:%SZ)
# the exact source the figures belong to, when the tree has local changes
git -C "$ROOT" diff HEAD -- . ':!bench' > "$OUT/tree.diff" 2>/dev/null || true
git -C "$ROOT" status --porcelain > "$OUT/tree.status" 2>/dev/null || true

# ---- 1. generate -----------------------------------------------------------
log "generating $RECORDS records (seed $SEED) into $JSONL"
t0=$(now_ns)
"$GEN" --records "$RECORDS" --fixtures "$FIXTURES" --seed "$SEED" --ids "$IDS" > "$JSONL"
t1=$(now_ns)
GEN_S=$(secs "$t0" "$t1")
IN_BYTES=$(stat -c %s "$JSONL")
IN_LINES=$(wc -l < "$JSONL")
N_IDS=$(wc -l < "$IDS")
[ "$IN_LINES" -eq "$RECORDS" ] || die "generator wrote $IN_LINES lines, not $RECORDS"
[ "$N_IDS" -gt 0 ] || die "generator wrote no container ids"
cat "$JSONL" > /dev/null # in the page cache, as for the compressors below

# ---- 2. import, pinned to one core ----------------------------------------
log "importing ($PIN_NOTE)"
# what else ran on the import's cpu meanwhile (ticks: busy idle iowait steal)
CPULINE=cpu
[ ${#PIN[@]} -gt 0 ] && CPULINE=cpu0
cpu_snap() { awk -v c="$CPULINE" '$1 == c { print $2 + $3 + $4 + $7 + $8, $5, $6, $9 }' /proc/stat; }
TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
read -r b0 _ w0 s0 <<< "$(cpu_snap)"
t0=$(now_ns)
set +e
if [ -n "$TIMEV" ]; then
    "${PIN[@]}" "$TIMEV" -v -o "$OUT/import.time" "$CTRAIL" --data "$DATA" import "$JSONL" \
        > "$OUT/import.log" 2>&1
    rc=$?
else
    TIMEFORMAT='%R %U %S'
    { time "${PIN[@]}" "$CTRAIL" --data "$DATA" import "$JSONL" > "$OUT/import.log" 2>&1; } \
        2> "$OUT/import.time"
    rc=$?
fi
set -e
t1=$(now_ns)
read -r b1 _ w1 s1 <<< "$(cpu_snap)"
[ "$rc" -eq 0 ] || { cat "$OUT/import.log" >&2; die "import failed (exit $rc)"; }
IMPORT_S=$(secs "$t0" "$t1")
if [ -n "$TIMEV" ]; then
    CPU_USER=$(awk -F': ' '/User time/ { print $2 }' "$OUT/import.time")
    CPU_SYS=$(awk -F': ' '/System time/ { print $2 }' "$OUT/import.time")
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/import.time")
    FS_OUT=$(awk -F': ' '/File system outputs/ { print $2 }' "$OUT/import.time")
    CSW=$(awk -F': ' '/Voluntary context switches/ { print $2 }' "$OUT/import.time")
else
    read -r _ CPU_USER CPU_SYS < "$OUT/import.time"
    RSS_KB=null FS_OUT=null CSW=null
fi
STORED=$(sed -n 's/.*: \([0-9]*\) records stored, \([0-9]*\) duplicates, \([0-9]*\) rejected.*/\1/p' "$OUT/import.log" | tail -1)
DUPS=$(sed -n 's/.*records stored, \([0-9]*\) duplicates.*/\1/p' "$OUT/import.log" | tail -1)
REJ=$(sed -n 's/.*duplicates, \([0-9]*\) rejected.*/\1/p' "$OUT/import.log" | tail -1)
[ -n "$STORED" ] || { cat "$OUT/import.log" >&2; die "cannot read the import summary"; }
[ "$STORED" -eq "$RECORDS" ] ||
    log "WARNING: $STORED of $RECORDS records stored ($DUPS duplicates, $REJ rejected)"
RPS=$(calc "%.0f" "$STORED / $IMPORT_S")
MBPS=$(calc "%.1f" "$IN_BYTES / 1e6 / $IMPORT_S")
CPU_PCT=$(calc "%.0f" "100 * ($CPU_USER + $CPU_SYS) / $IMPORT_S")
CPU_BUSY=$(calc "%.2f" "($b1 - $b0) / $TCK")
CPU_OTHERS=$(calc "%.2f" "$CPU_BUSY - $CPU_USER - $CPU_SYS")
CPU_IOWAIT=$(calc "%.2f" "($w1 - $w0) / $TCK")
CPU_STEAL=$(calc "%.2f" "($s1 - $s0) / $TCK")
if awk "BEGIN { exit !($CPU_OTHERS > 0.05 * $IMPORT_S) }"; then
    log "WARNING: other processes used $CPU_OTHERS s of $CPULINE during the $IMPORT_S s import: the figure is pessimistic"
fi

# ---- 3. bytes on disk ------------------------------------------------------
"$CTRAIL" --data "$DATA" stats > "$OUT/stats.txt" 2>&1 || die "ctrail stats failed"
DISK=$(du -sb "$DATA" | cut -f1)
DISK_ALLOC=$(du -sB1 "$DATA" | cut -f1)
SEG=$(du -sb "$DATA/segments" | cut -f1)
IDX=0
for f in "$DATA"/index.db "$DATA"/index.db-wal "$DATA"/index.db-shm; do
    [ -e "$f" ] && IDX=$((IDX + $(stat -c %s "$f")))
done
OTHER=$((DISK - SEG - IDX))
BLOCKS=$(sed -n 's/.*sealed in \([0-9]*\) blocks.*/\1/p' "$OUT/stats.txt")
RAW=$(sed -n 's/^bytes: \([0-9]*\) uncompressed.*/\1/p' "$OUT/stats.txt")
TABLES="" FREE_B=0 PAGE=0
if [ "$HAVE_SQLITE" = 1 ]; then
    q() { sqlite3 -readonly "file:$DATA/index.db?mode=ro" "$1" 2>/dev/null; }
    PAGE=$(q "pragma page_size" || echo 0)
    FREE_B=$(( $(q "pragma freelist_count" || echo 0) * PAGE ))
    TABLES=$(q "select name, sum(pgsize) from dbstat group by name order by 2 desc" || true)
fi

# ---- 4. timeline latency ---------------------------------------------------
shuf -n "$PROBES" --random-source=<(yes "$SEED") "$IDS" > "$OUT/probe-ids.txt"
K=$(wc -l < "$OUT/probe-ids.txt")
log "timing ctrail timeline for $K containers"
all_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
LOAD_LAT=$(cut -d' ' -f1 /proc/loadavg)
l0=$(all_busy)
LAT_CT=$("$LAT" --json --warmup 3 --ids "$OUT/probe-ids.txt" -- \
    "$CTRAIL" --data "$DATA" timeline -o json {}) || die "ctrail timeline failed for every id"
l1=$(all_busy)
# CPU others used meanwhile, as a share of the phase's wall time (1.0 = one busy cpu)
LAT_OTHERS=$(calc "%.2f" "(($l1 - $l0) / $TCK - $(jq .cpu_ms <<< "$LAT_CT") / 1000) / ($(jq .wall_ms <<< "$LAT_CT") / 1000)")
if awk "BEGIN { exit !($LAT_OTHERS > 0.1) }"; then
    log "WARNING: other processes kept $LAT_OTHERS cpus busy while timelines were timed"
fi
# how much each timeline returned
: > "$OUT/probe-counts.txt"
while read -r id; do
    echo "$id $("$CTRAIL" --data "$DATA" timeline -o raw "$id" | wc -l)" >> "$OUT/probe-counts.txt"
done < "$OUT/probe-ids.txt"
TL_MEAN=$(awk '{ s += $2 } END { printf "%.1f", s / NR }' "$OUT/probe-counts.txt")
TL_MAX=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$OUT/probe-counts.txt")
TL_ZERO=$(awk '$2 == 0 { z++ } END { print z + 0 }' "$OUT/probe-counts.txt")

# ---- 5. the same JSONL, compressed ------------------------------------------
log "zstd -3"
t0=$(now_ns)
zstd -q -3 -T1 -c "$JSONL" > "$JSONL.zst"
t1=$(now_ns)
Z3=$(stat -c %s "$JSONL.zst")
Z3_S=$(secs "$t0" "$t1")

head -n "$GREP_PROBES" "$OUT/probe-ids.txt" > "$OUT/grep-ids.txt"
M=$(wc -l < "$OUT/grep-ids.txt")
log "timing zstdgrep | jq for $M containers"
LAT_GREP=$("$LAT" --json --shell --ids "$OUT/grep-ids.txt" -- \
    "zstdgrep -- {} '$JSONL.zst' | jq -c . ") || die "zstdgrep | jq failed for every id"
GREP_N=$(while read -r id; do zstdgrep -c -- "$id" "$JSONL.zst"; done < "$OUT/grep-ids.txt" |
         awk '{ s += $1 } END { printf "%.1f", s / NR }')

log "gzip -6, zstd -19$([ "$LONG" = 1 ] && echo ', zstd -19 --long=27') (concurrently)"
timed_size() { # name cmd...: writes "bytes seconds" to $OUT/size.name
    local name=$1 a b; shift
    a=$(now_ns); "$@" < "$JSONL" | wc -c > "$OUT/size.$name.tmp"; b=$(now_ns)
    echo "$(cat "$OUT/size.$name.tmp") $(secs "$a" "$b")" > "$OUT/size.$name"
    rm -f "$OUT/size.$name.tmp"
}
timed_size gz6 gzip -6 -c &
p1=$!
timed_size z19 zstd -q -19 -T1 -c &
p2=$!
if [ "$LONG" = 1 ]; then timed_size z19l zstd -q -19 --long=27 -T1 -c & p3=$!; fi
wait "$p1" || die "gzip failed"
wait "$p2" || die "zstd -19 failed"
[ "$LONG" = 1 ] && { wait "$p3" || die "zstd -19 --long failed"; }
read -r GZ GZ_S < "$OUT/size.gz6"
read -r Z19 Z19_S < "$OUT/size.z19"
Z19L=null Z19L_S=null
[ "$LONG" = 1 ] && read -r Z19L Z19L_S < "$OUT/size.z19l"
rm -f "$OUT"/size.*

# ---- 6. report -------------------------------------------------------------
j() { jq -r "$2" <<< "$1"; }
CT_P50=$(j "$LAT_CT" .p50_ms) CT_P99=$(j "$LAT_CT" .p99_ms) CT_MAX=$(j "$LAT_CT" .max_ms)
CT_P90=$(j "$LAT_CT" .p90_ms) CT_MEAN=$(j "$LAT_CT" .mean_ms) CT_FAIL=$(j "$LAT_CT" .failures)
GR_P50=$(j "$LAT_GREP" .p50_ms) GR_P99=$(j "$LAT_GREP" .p99_ms) GR_MAX=$(j "$LAT_GREP" .max_ms)
GR_FAIL=$(j "$LAT_GREP" .failures)
SPEEDUP=$(calc "%.0f" "$GR_P50 / $CT_P50")
R_Z19=$(calc "%.2f" "$DISK / $Z19")
pf() { awk "BEGIN { exit !($1) }" && echo PASS || echo FAIL; }
P_RPS=$(pf "$RPS >= $T_RPS")
P_SIZE=$(pf "$DISK <= $T_SIZE * $Z19")
P_P99=$(pf "$CT_P99 <= $T_P99")
perrec() { calc "%.1f" "$1 / $STORED"; }
ratio() { calc "%.2f" "$DISK / $1"; }
mb() { calc "%.1f" "$1 / 1e6"; }

{
echo "ctrail store benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  tree $GIT_HEAD${GIT_DIRTY:+ + uncommitted changes in: $GIT_DIRTY (OUT/tree.diff)}"
echo "  binary $CTRAIL (${BUILD_TYPE:-?}, built $BIN_TIME)"
echo "  $CPU, $NCPU cpus; $OUT on ${FS:-?}; zstd $ZSTD_VER"
echo "  input: $RECORDS records ($N_IDS containers, seed $SEED), $(mb "$IN_BYTES") MB JSONL, $(perrec "$IN_BYTES") B/record; generated in ${GEN_S} s"
echo
echo "IMPORT  ($PIN_NOTE; ctrail import FILE)"
printf "  %-34s %14s\n" "wall time" "$IMPORT_S s"
printf "  %-34s %14s   target >= %d  %s\n" "records/s" "$RPS" "$T_RPS" "$P_RPS"
printf "  %-34s %14s\n" "MB/s (input JSONL)" "$MBPS"
printf "  %-34s %14s\n" "CPU user + sys" "$CPU_USER + $CPU_SYS s ($CPU_PCT% of wall)"
[ "$RSS_KB" != null ] && printf "  %-34s %14s\n" "peak RSS" "$(calc "%.1f" "$RSS_KB / 1024") MiB"
printf "  %-34s %14s\n" "$CPULINE: others / iowait / steal" "$CPU_OTHERS / $CPU_IOWAIT / $CPU_STEAL s (load $LOAD_BEFORE before)"
[ "$FS_OUT" != null ] && printf "  %-34s %14s\n" "fs writes (512 B blocks) / vol. csw" "$FS_OUT / $CSW"
printf "  %-34s %14s\n" "stored / duplicates / rejected" "$STORED / ${DUPS:-?} / ${REJ:-?}"
echo
echo "SIZE ON DISK  (bytes; B/record; ctrail data dir / that)"
printf "  %-34s %14s %9s\n" "ctrail data dir (du -b)" "$DISK" "$(perrec "$DISK")"
printf "  %-34s %14s %9s\n" "  segments/" "$SEG" "$(perrec "$SEG")"
printf "  %-34s %14s %9s\n" "  index.db (+ -wal, -shm)" "$IDX" "$(perrec "$IDX")"
if [ -n "$TABLES" ]; then
    while IFS='|' read -r name bytes; do
        [ "${bytes:-0}" -ge $((IDX / 100)) ] &&
            printf "  %-34s %14s %9s\n" "    $name" "$bytes" "$(perrec "$bytes")"
    done <<< "$TABLES"
    printf "  %-34s %14s %9s\n" "    (free pages)" "$FREE_B" "$(perrec "$FREE_B")"
fi
printf "  %-34s %14s %9s\n" "  keys/, lock, directories" "$OTHER" "$(perrec "$OTHER")"
printf "  %-34s %14s %9s\n" "  (allocated, du -B1)" "$DISK_ALLOC" "$(perrec "$DISK_ALLOC")"
printf "  %-34s %14s %9s\n" "  (block payload, uncompressed)" "${RAW:-?}" "$( [ -n "$RAW" ] && perrec "$RAW")"
printf "  %-34s %14s %9s   %5sx   %6.1f MB/s\n" "zstd -3 -T1" "$Z3" "$(perrec "$Z3")" "$(ratio "$Z3")" "$(calc "%.1f" "$IN_BYTES / 1e6 / $Z3_S")"
printf "  %-34s %14s %9s   %5sx   %6.1f MB/s\n" "gzip -6" "$GZ" "$(perrec "$GZ")" "$(ratio "$GZ")" "$(calc "%.1f" "$IN_BYTES / 1e6 / $GZ_S")"
printf "  %-34s %14s %9s   %5sx   %6.1f MB/s\n" "zstd -19 -T1" "$Z19" "$(perrec "$Z19")" "$R_Z19" "$(calc "%.1f" "$IN_BYTES / 1e6 / $Z19_S")"
[ "$LONG" = 1 ] &&
printf "  %-34s %14s %9s   %5sx   %6.1f MB/s\n" "zstd -19 --long=27 -T1" "$Z19L" "$(perrec "$Z19L")" "$(ratio "$Z19L")" "$(calc "%.1f" "$IN_BYTES / 1e6 / $Z19L_S")"
printf "  %-34s %14s   target <= %sx  %s\n" "ctrail / zstd -19 -T1" "${R_Z19}x" "$T_SIZE" "$P_SIZE"
echo "  (compressor MB/s: zstd -3 alone; gzip and the zstd -19 runs concurrently on $NCPU cpus)"
echo
echo "TIMELINE LATENCY  (ms wall per call, fork to exit, page cache warm)"
printf "  %-42s %8s %8s %8s %8s\n" "" p50 p90 p99 max
printf "  %-42s %8.1f %8.1f %8.1f %8.1f   target p99 <= %d  %s\n" "ctrail timeline -o json ID   ($K ids)" "$CT_P50" "$CT_P90" "$CT_P99" "$CT_MAX" "$T_P99" "$P_P99"
printf "  %-42s %8.1f %8s %8.1f %8.1f\n" "zstdgrep ID events.zst | jq -c .   ($M ids)" "$GR_P50" "" "$GR_P99" "$GR_MAX"
printf "  %-42s %8s\n" "zstdgrep p50 / ctrail p50" "${SPEEDUP}x"
echo "  ctrail: mean $CT_MEAN ms, $CT_FAIL failures; records per timeline mean $TL_MEAN, max $TL_MAX, empty $TL_ZERO"
echo "  other processes meanwhile: $LAT_OTHERS cpus busy on average (load $LOAD_LAT before; $NCPU cpus)"
echo "  zstdgrep: $GR_FAIL failures; lines per grep mean $GREP_N (no pod audit events: they do not name the id)"
echo
echo "TARGETS"
printf "  %-44s %s\n" "import >= $T_RPS records/s on one core" "$P_RPS ($RPS)"
printf "  %-44s %s\n" "on disk <= ${T_SIZE}x zstd -19 of the JSONL" "$P_SIZE (${R_Z19}x)"
printf "  %-44s %s\n" "timeline p99 <= $T_P99 ms" "$P_P99 ($CT_P99 ms)"
} | tee "$OUT/report.txt"

jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg tree "$GIT_HEAD" --arg dirty "$GIT_DIRTY" \
  --arg build "$BUILD_TYPE" --arg bin_time "$BIN_TIME" --arg cpu "$CPU" --arg pin "$PIN_NOTE" --arg fs "${FS:-}" \
  --argjson records "$RECORDS" --argjson seed "$SEED" --argjson containers "$N_IDS" \
  --argjson in_bytes "$IN_BYTES" --argjson gen_s "$GEN_S" \
  --argjson wall "$IMPORT_S" --argjson rps "$RPS" --argjson mbps "$MBPS" \
  --argjson user "$CPU_USER" --argjson sys "$CPU_SYS" --argjson rss "$RSS_KB" \
  --argjson others "$CPU_OTHERS" --argjson iowait "$CPU_IOWAIT" --argjson steal "$CPU_STEAL" \
  --argjson load "$LOAD_BEFORE" \
  --argjson stored "$STORED" --argjson dups "${DUPS:-null}" --argjson rej "${REJ:-null}" \
  --argjson disk "$DISK" --argjson alloc "$DISK_ALLOC" --argjson seg "$SEG" --argjson idx "$IDX" \
  --argjson other "$OTHER" --argjson free "$FREE_B" --argjson raw "${RAW:-null}" --argjson blocks "${BLOCKS:-null}" \
  --arg tables "$TABLES" \
  --argjson z3 "$Z3" --argjson gz "$GZ" --argjson z19 "$Z19" --argjson z19l "$Z19L" \
  --argjson lat_ct "$LAT_CT" --argjson lat_grep "$LAT_GREP" \
  --argjson lat_others "$LAT_OTHERS" --argjson lat_load "$LOAD_LAT" \
  --argjson tl_mean "$TL_MEAN" --argjson tl_max "$TL_MAX" --argjson tl_zero "$TL_ZERO" \
  --argjson t_rps "$T_RPS" --argjson t_size "$T_SIZE" --argjson t_p99 "$T_P99" \
  '{
    date: $date, tree: $tree, uncommitted: ($dirty | split(" ") | map(select(. != ""))),
    build_type: $build, binary_built: $bin_time, cpu: $cpu, filesystem: $fs,
    input: {records: $records, seed: $seed, containers: $containers, bytes: $in_bytes,
            bytes_per_record: ($in_bytes / $records), generate_s: $gen_s},
    import: {pinned: $pin, wall_s: $wall, records_per_s: $rps, mb_per_s: $mbps,
             cpu_user_s: $user, cpu_sys_s: $sys, peak_rss_kb: $rss,
             stored: $stored, duplicates: $dups, rejected: $rej,
             cpu_others_s: $others, cpu_iowait_s: $iowait, cpu_steal_s: $steal, loadavg_before: $load},
    disk: {bytes: $disk, allocated_bytes: $alloc, bytes_per_record: ($disk / $stored),
           segments: $seg, index_db: $idx, other: $other, index_free_pages: $free,
           blocks: $blocks, block_payload_raw: $raw,
           index_tables: ($tables | split("\n") | map(select(. != "") | split("|") | {(.[0]): (.[1] | tonumber)}) | add)},
    compressed: {"zstd-3": $z3, "gzip-6": $gz, "zstd-19": $z19, "zstd-19-long27": $z19l,
                 ratio_vs: {"zstd-3": ($disk / $z3), "gzip-6": ($disk / $gz), "zstd-19": ($disk / $z19),
                            "zstd-19-long27": (if $z19l == null then null else $disk / $z19l end)}},
    timeline: ($lat_ct + {records_mean: $tl_mean, records_max: $tl_max, empty: $tl_zero,
                          others_cpus_busy: $lat_others, loadavg_before: $lat_load}),
    zstdgrep_jq: $lat_grep,
    targets: {
      import_records_per_s: {target: $t_rps, value: $rps, pass: ($rps >= $t_rps)},
      disk_vs_zstd19: {target: $t_size, value: ($disk / $z19), pass: ($disk <= $t_size * $z19)},
      timeline_p99_ms: {target: $t_p99, value: $lat_ct.p99_ms, pass: ($lat_ct.p99_ms <= $t_p99)}
    }
  }' > "$OUT/summary.json"
log "wrote $OUT/summary.json and $OUT/report.txt"

if [ "$KEEP" = 0 ]; then
    rm -rf "$DATA" "$JSONL" "$JSONL.zst"
else
    log "kept $DATA, $JSONL and $JSONL.zst"
fi
