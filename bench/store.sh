#!/usr/bin/env bash
# bench/store.sh - ctrail against the tools it replaces, on the same records.
#
#   bench/store.sh [--records N] [--out DIR] [--probes K] [--seed S] [--quick]
#                  [--no-zstd19] [--no-pin] [--clean]
#
# Generates a day of a Kubernetes cluster (ctrail-gen-prod, N records,
# default 1,000,000: Docker events, inspect snapshots, audit events, syslog
# lines in four files) and, in one run, measures on those files:
# ctrail import (one invocation, all four files), SQLite (.import of the
# same records with their key, one transaction, index on (container, ts)),
# journald (systemd-journal-remote fed the export format), zstd -3 and
# zstd -19 (-T1); bytes on disk; timeline latency for the container at the
# 90th percentile of activity and K (default 200) others, the same probes for
# every system, each answer's record count checked; ctrail verify, events
# and containers.  Prints a table with the targets met/MISSED and writes
# OUT/summary.json and OUT/report.txt.  --quick: 50,000 records, 20 probes.
# Exits non-zero only on errors (a tool missing, an import failing or
# rejecting records, a ctrail timeline missing an expected record).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RECORDS=1000000
OUT=$ROOT/bench/out/store
PROBES=200
SEED=42
Z19=1
PINNED=1
KEEP=1
RECORDS_SET=0 PROBES_SET=0

# targets
T_INGEST_X=2.5      # ctrail import rec/s / SQLite rec/s, at least
T_INGEST=100000     # ctrail import rec/s, at least
T_SIZE_Z3=1.0       # ctrail bytes / zstd -3 bytes, at most
T_SIZE_Z19=1.3      # ctrail bytes / zstd -19 bytes, at most (stretch)
T_P99_X=1.0         # ctrail timeline p99 / SQLite p99, at most
T_RSS_MIB=64        # ctrail import max RSS, at most
T_VERIFY=1000000    # ctrail verify rec/s, at least

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "store-bench: $*" >&2; exit 1; }
log() { echo "store-bench: $*" >&2; }
warn() { echo "store-bench: WARNING: $*" >&2; WARNINGS+=("$*"); }
WARNINGS=()
ERRORS=()
NOTES=()

while [ $# -gt 0 ]; do
    case "$1" in
    --records) RECORDS=${2:?}; RECORDS_SET=1; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --probes) PROBES=${2:?}; PROBES_SET=1; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --quick) [ $RECORDS_SET = 1 ] || RECORDS=50000; [ $PROBES_SET = 1 ] || PROBES=20; shift ;;
    --no-zstd19) Z19=0; shift ;;
    --no-pin) PINNED=0; shift ;;
    --clean) KEEP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
case "$RECORDS$PROBES$SEED" in *[!0-9]*) die "numbers only for --records, --probes, --seed" ;; esac
[ "$RECORDS" -ge 10000 ] || die "--records must be at least 10000"

abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CTRAIL=$(abs "${CTRAIL_BIN:-$ROOT/build/ctrail}")
GEN=$(abs "${CTRAIL_GEN_PROD:-$(dirname "$CTRAIL")/ctrail-gen-prod}")
LAT=$(abs "${CTRAIL_LATENCY:-$(dirname "$CTRAIL")/ctrail-bench-latency}")
FIXTURES=$(abs "${CTRAIL_FIXTURES:-$ROOT/tests/fixtures}")
JREMOTE=${JOURNAL_REMOTE:-/lib/systemd/systemd-journal-remote}
for b in "$CTRAIL" "$GEN" "$LAT"; do
    [ -x "$b" ] || die "$b is not built (cmake --build <dir> --target ctrail ctrail-gen-prod ctrail-bench-latency)"
done
missing=""
for t in sqlite3 journalctl zstd jq awk shuf du sort; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -x "$JREMOTE" ] || missing="$missing systemd-journal-remote($JREMOTE)"
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 || missing="$missing GNU-time(/usr/bin/time)"
[ -z "$missing" ] || die "missing tools:$missing (scripts/install-deps bench installs them)"
PIN=() PIN1=()
PIN_NOTE="not pinned"
if [ "$PINNED" = 1 ] && command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    PIN=(taskset -c 0)
    PIN_NOTE="taskset -c 0"
    taskset -c 1 true 2>/dev/null && PIN1=(taskset -c 1)
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=$OUT/data
DB=$OUT/sqlite.db
JDIR=$OUT/journal
rm -rf "$DATA" "$DB" "$DB"-* "$JDIR" "$OUT"/*.jsonl "$OUT"/syslog.log "$OUT"/records.tsv \
       "$OUT"/journal.export "$OUT"/summary.json "$OUT"/report.txt "$OUT"/*.time "$OUT"/*.log "$OUT"/probes
mkdir -p "$OUT/probes"
FILES=(audit.jsonl events.jsonl inspect.jsonl syslog.log) # name order, as `ctrail import DIR` reads them

S=$OUT/summary.json
echo '{}' > "$S"
jset() { # PATH JSON-VALUE
    jq --argjson v "$2" "$1 = \$v" "$S" > "$S.tmp" && mv "$S.tmp" "$S"
}
jsets() { # PATH STRING
    jq --arg v "$2" "$1 = \$v" "$S" > "$S.tmp" && mv "$S.tmp" "$S"
}
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
NCPU=$(nproc 2>/dev/null || echo 1)
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# phase accounting: CPU the rest of the machine used while a phase ran
PH_T0=0 PH_B0=0 PH_LOAD=0
phase_begin() { PH_LOAD=$(cut -d' ' -f1 /proc/loadavg); PH_B0=$(busy_ticks); PH_T0=$(now_ns); }
phase_end() { # NAME OWN_CPU_S: sets PH_WALL, PH_OTHERS (cpus kept busy by others, on average)
    local t1 b1
    t1=$(now_ns); b1=$(busy_ticks)
    PH_WALL=$(secs "$PH_T0" "$t1")
    PH_OTHERS=$(calc "%.2f" "(($b1 - $PH_B0) / $TCK - $2) / ($PH_WALL > 0 ? $PH_WALL : 1)")
    awk "BEGIN { exit !($PH_OTHERS < 0) }" && PH_OTHERS=0.00
    jset ".phases.\"$1\"" "{\"wall_s\": $PH_WALL, \"own_cpu_s\": $2, \"others_cpus\": $PH_OTHERS, \"loadavg_before\": $PH_LOAD}"
    if awk "BEGIN { exit !($PH_OTHERS > 0.25) }"; then
        warn "$1: other processes kept $PH_OTHERS of $NCPU cpus busy (load $PH_LOAD before): its figures are pessimistic"
    fi
}
# /usr/bin/time -v fields of FILE
tv() { awk -F': ' -v k="$2" '$1 ~ k { print $2; exit }' "$1"; }
tv_cpu() { calc "%.2f" "$(tv "$1" 'User time') + $(tv "$1" 'System time')"; }

# ---- machine and tree --------------------------------------------------------
GIT_HEAD=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$ROOT" status --porcelain -- . ':!bench' 2>/dev/null | wc -l)
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$CTRAIL")/CMakeCache.txt" 2>/dev/null || true)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
FS=$(df -PT "$OUT" | awk 'NR == 2 { print $2 }')
jsets .date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jsets .tree "$GIT_HEAD"
jset .uncommitted_files_outside_bench "$GIT_DIRTY"
jsets .build_type "${BUILD_TYPE:-?}"
jsets .cpu "$CPU"
jset .cpus "$NCPU"
jsets .filesystem "${FS:-?}"
jsets .pinning "$PIN_NOTE"
jsets .versions.sqlite3 "$(sqlite3 --version | cut -d' ' -f1)"
jsets .versions.journald "$(journalctl --version | head -1)"
jsets .versions.zstd "$(zstd -V | sed -n 's/.*v\([0-9.]*\).*/\1/p')"

# ---- 1. generate --------------------------------------------------------------
est=$((RECORDS * 1900 * 2))
avail=$(df -B1 --output=avail "$OUT" | tail -1)
[ "$avail" -gt "$est" ] || die "about $((est / 1000000000)) GB free needed in $OUT, $((avail / 1000000000)) GB there"
log "generating $RECORDS records (seed $SEED) into $OUT"
t0=$(now_ns)
"$GEN" --records "$RECORDS" --seed "$SEED" --fixtures "$FIXTURES" --out "$OUT" --emit raw ||
    die "ctrail-gen-prod failed"
GEN_S=$(secs "$t0" "$(now_ns)")
jset .input "$(jq -c . "$OUT/gen.json")"
jset .input.generate_s "$GEN_S"
IN_BYTES=0
for f in "${FILES[@]}"; do IN_BYTES=$((IN_BYTES + $(stat -c %s "$OUT/$f"))); done
lines=$(cat "${FILES[@]/#/$OUT/}" | wc -l)
[ "$lines" -eq "$RECORDS" ] || die "generator wrote $lines records, not $RECORDS"
jset .input.bytes "$IN_BYTES"
NCONT=$(wc -l < "$OUT/containers.tsv")
T0_NS=$(jq .t0_ns "$OUT/gen.json")

# probes: the container at the 90th percentile of activity (its expected
# timeline count), then K others drawn at random; the same for every system
sort -t$'\t' -k9,9n -k1,1 "$OUT/containers.tsv" > "$OUT/probes/by_activity.tsv"
P90_RANK=$(( (NCONT * 9 + 9) / 10 ))
sed -n "${P90_RANK}p" "$OUT/probes/by_activity.tsv" > "$OUT/probes/probes.tsv"
P90_ID=$(cut -f1 "$OUT/probes/probes.tsv")
grep -v "^$P90_ID" "$OUT/containers.tsv" |
    shuf -n "$PROBES" --random-source=<(yes "$SEED") >> "$OUT/probes/probes.tsv"
K=$(wc -l < "$OUT/probes/probes.tsv")
cut -f1 "$OUT/probes/probes.tsv" > "$OUT/probes/ctrail.ids"
awk -F'\t' '{ print ($3 == "-" ? $1 : $1 "\x27,\x27" $3) }' "$OUT/probes/probes.tsv" > "$OUT/probes/sqlite.ids"
awk -F'\t' '{ print ($3 == "-" ? "CONTAINER_ID=" $1 : "CONTAINER_ID=" $1 " + POD_UID=" $3) }' \
    "$OUT/probes/probes.tsv" > "$OUT/probes/journal.ids"
jset .probes "$(awk -F'\t' -v n="$NCONT" 'NR == 1 { printf "{\"p90_container\": {\"id\": \"%s\", \"kind\": \"%s\", \"pod\": \"%s\", \"expected\": %d, \"docker\": %d, \"inspect\": %d, \"audit\": %d, \"syslog\": %d, \"rank\": %d, \"of\": %d}", $1, $2, $4, $9, $5, $6, $7, $8, '"$P90_RANK"', n }
    { s += $9 } END { printf ", \"count\": %d, \"expected_mean\": %.1f}", NR, s / NR }' "$OUT/probes/probes.tsv")"

cat "${FILES[@]/#/$OUT/}" > /dev/null # page cache, as for every system below

# ---- 2. ctrail import ---------------------------------------------------------
log "ctrail import (${FILES[*]}; $PIN_NOTE)"
phase_begin
set +e
( cd "$OUT" && "${PIN[@]}" /usr/bin/time -v -o "$OUT/import.time" "$CTRAIL" --data "$DATA" import "${FILES[@]}" ) \
    > "$OUT/import.log" 2>&1
rc=$?
set -e
CT_CPU=$(tv_cpu "$OUT/import.time")
phase_end ctrail_import "$CT_CPU"
CT_WALL=$PH_WALL
[ "$rc" -eq 0 ] || { tail -20 "$OUT/import.log" >&2; ERRORS+=("ctrail import exited $rc (OUT/import.log)"); }
read -r STORED DUPS REJ < <(awk '/records stored/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "records" && $(i+2) == "stored,") s += $i; if ($(i+1) == "duplicates,") d += $i; if ($(i+1) == "rejected") r += $i } } END { print s + 0, d + 0, r + 0 }' "$OUT/import.log")
[ "$STORED" -eq "$RECORDS" ] || ERRORS+=("ctrail import stored $STORED of $RECORDS records ($DUPS duplicates, $REJ rejected)")
[ "$REJ" -eq 0 ] || ERRORS+=("ctrail import rejected $REJ records (OUT/import.log)")
CT_RPS=$(calc "%.0f" "$STORED / $CT_WALL")
CT_RSS=$(tv "$OUT/import.time" 'Maximum resident set size')
jset .ctrail.import "{\"files\": $(printf '%s\n' "${FILES[@]}" | jq -R . | jq -sc .), \"wall_s\": $CT_WALL, \"records_per_s\": $CT_RPS,
  \"cpu_user_s\": $(tv "$OUT/import.time" 'User time'), \"cpu_sys_s\": $(tv "$OUT/import.time" 'System time'),
  \"max_rss_kb\": $CT_RSS, \"fs_writes_512b\": $(tv "$OUT/import.time" 'File system outputs'),
  \"stored\": $STORED, \"duplicates\": $DUPS, \"rejected\": $REJ, \"exit\": $rc}"

CT_DISK=$(du -sb "$DATA" | cut -f1)
CT_SEG=$(du -sb "$DATA/segments" 2>/dev/null | cut -f1 || echo 0)
CT_IDX=0
for f in "$DATA"/index.db "$DATA"/index.db-wal "$DATA"/index.db-shm; do
    [ -e "$f" ] && CT_IDX=$((CT_IDX + $(stat -c %s "$f")))
done
TABLES=$(sqlite3 -readonly "file:$DATA/index.db?mode=ro" \
    "select name, sum(pgsize) from dbstat group by name order by 2 desc" 2>/dev/null || true)
jset .ctrail.disk "{\"bytes\": $CT_DISK, \"segments\": ${CT_SEG:-0}, \"index_db\": $CT_IDX, \"other\": $((CT_DISK - ${CT_SEG:-0} - CT_IDX)),
  \"index_tables\": $(printf '%s\n' "$TABLES" | jq -R 'select(. != "") | split("|") | {(.[0]): (.[1] | tonumber)}' | jq -sc 'add // {}')}"

log "ctrail verify"
phase_begin
set +e
"${PIN[@]}" /usr/bin/time -v -o "$OUT/verify.time" "$CTRAIL" --data "$DATA" verify > "$OUT/verify.log" 2>&1
rc=$?
set -e
phase_end ctrail_verify "$(tv_cpu "$OUT/verify.time")"
VERIFY_S=$PH_WALL
[ "$rc" -eq 0 ] || ERRORS+=("ctrail verify exited $rc: $(head -3 "$OUT/verify.log")")
VERIFY_RPS=$(calc "%.0f" "$STORED / $VERIFY_S")
jset .ctrail.verify "{\"wall_s\": $VERIFY_S, \"records_per_s\": $VERIFY_RPS, \"exit\": $rc, \"output\": $(head -1 "$OUT/verify.log" | jq -R .)}"

# ---- 3. timeline latency and completeness ------------------------------------
lat() { # NAME LATENCY-ARGS...: sets LJ to the JSON of ctrail-bench-latency; phase accounted
    local name=$1; shift
    phase_begin
    LJ=$("$LAT" --json --warmup 3 "$@") || LJ='{"n": 0, "failures": -1, "p50_ms": null, "p99_ms": null, "cpu_ms": 0}'
    phase_end "$name" "$(calc "%.3f" "$(jq '.cpu_ms // 0' <<< "$LJ") / 1000")"
}
log "timing ctrail timeline for $K containers"
lat ctrail_timeline --ids "$OUT/probes/ctrail.ids" -- "$CTRAIL" --data "$DATA" timeline -o json {}
LAT_CT=$LJ
jset .ctrail.timeline "$LAT_CT"
: > "$OUT/probes/ctrail.counts"
CT_BAD=0
while IFS=$'\t' read -r id _ _ _ _ _ _ _ exp; do
    got=$("$CTRAIL" --data "$DATA" timeline -o json "$id" 2>/dev/null | wc -l)
    echo "$id $exp $got" >> "$OUT/probes/ctrail.counts"
    [ "$got" -eq "$exp" ] || CT_BAD=$((CT_BAD + 1))
done < "$OUT/probes/probes.tsv"
jset .ctrail.timeline.count_mismatches "$CT_BAD"
if [ "$CT_BAD" -gt 0 ]; then
    ERRORS+=("ctrail timeline returned another count than expected for $CT_BAD of $K containers (OUT/probes/ctrail.counts: id expected got)")
fi

# other queries: an hour in the middle of the day
SINCE=$(date -u -d "@$((T0_NS / 1000000000 + 12 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
UNTIL=$(date -u -d "@$((T0_NS / 1000000000 + 13 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
seq 5 > "$OUT/probes/five.ids"
lat ctrail_events --ids "$OUT/probes/five.ids" -- "$CTRAIL" --data "$DATA" events --source k8s_audit --since "$SINCE" --until "$UNTIL" -o json
LAT_EV=$LJ
EV_N=$("$CTRAIL" --data "$DATA" events --source k8s_audit --since "$SINCE" --until "$UNTIL" -o json | wc -l)
lat ctrail_containers --ids "$OUT/probes/five.ids" -- "$CTRAIL" --data "$DATA" containers --since "$SINCE" --until "$UNTIL" -o json
LAT_CS=$LJ
CS_N=$("$CTRAIL" --data "$DATA" containers --since "$SINCE" --until "$UNTIL" -o json | wc -l)
jset .ctrail.events_k8s_audit_1h "$(jq -c --arg s "$SINCE" --arg u "$UNTIL" --argjson n "$EV_N" '. + {since: $s, until: $u, records: $n}' <<< "$LAT_EV")"
jset .ctrail.containers_1h "$(jq -c --arg s "$SINCE" --arg u "$UNTIL" --argjson n "$CS_N" '. + {since: $s, until: $u, lines: $n}' <<< "$LAT_CS")"

# ---- 4. zstd -3 and -19, single-threaded ------------------------------------
zsize() { # LEVEL CPU-PIN... -- FILE: prints "bytes seconds"
    local lvl=$1 f a b n; shift
    f=${*: -1}; set -- "${@:1:$#-1}"
    a=$(now_ns)
    n=$("$@" zstd -q "-$lvl" -T1 -c "$f" | wc -c)
    b=$(now_ns)
    echo "$n $(secs "$a" "$b")"
}
log "zstd -3 -T1"
phase_begin
Z3=0 Z3_S=0
for f in "${FILES[@]}"; do
    read -r n s < <(zsize 3 "${PIN[@]}" "$OUT/$f")
    Z3=$((Z3 + n)); Z3_S=$(calc "%.3f" "$Z3_S + $s")
    jset ".zstd3.files.\"$f\"" "{\"bytes\": $n, \"wall_s\": $s}"
done
phase_end zstd3 "$Z3_S"
jset .zstd3.bytes "$Z3"
jset .zstd3.wall_s "$Z3_S"
if [ "$Z19" = 1 ]; then
    log "zstd -19 -T1 (two files at a time, one per cpu; the rate is per cpu)"
    phase_begin
    zjob() { for f in "$@"; do echo "$f $(zsize 19 "${CPUPIN[@]}" "$OUT/$f")"; done; }
    CPUPIN=("${PIN[@]}"); zjob events.jsonl syslog.log > "$OUT/z19.a" &
    ja=$!
    CPUPIN=("${PIN1[@]}"); zjob inspect.jsonl audit.jsonl > "$OUT/z19.b" &
    jb=$!
    wait "$ja" || die "zstd -19 failed"
    wait "$jb" || die "zstd -19 failed"
    Z19B=$(cat "$OUT"/z19.a "$OUT"/z19.b | awk '{ s += $2 } END { print s }')
    Z19_S=$(cat "$OUT"/z19.a "$OUT"/z19.b | awk '{ s += $3 } END { printf "%.3f", s }')
    while read -r f n s; do jset ".zstd19.files.\"$f\"" "{\"bytes\": $n, \"wall_s\": $s}"; done < <(cat "$OUT"/z19.a "$OUT"/z19.b)
    rm -f "$OUT"/z19.a "$OUT"/z19.b
    phase_end zstd19 "$Z19_S"
    jset .zstd19.bytes "$Z19B"
    jset .zstd19.wall_s "$Z19_S"
fi

# ---- 5. SQLite ------------------------------------------------------------------
log "SQLite: writing the key-given TSV (not timed)"
"$GEN" --records "$RECORDS" --seed "$SEED" --fixtures "$FIXTURES" --out "$OUT" --emit tsv >/dev/null ||
    die "ctrail-gen-prod --emit tsv failed"
cat "$OUT/records.tsv" > /dev/null
cat > "$OUT/sqlite-import.sql" <<EOF
BEGIN;
CREATE TABLE records (ts INTEGER, container TEXT, source TEXT, raw TEXT);
.mode tabs
.import $OUT/records.tsv records
CREATE INDEX records_container_ts ON records (container, ts);
COMMIT;
EOF
log "SQLite: .import + index + commit ($PIN_NOTE)"
phase_begin
set +e
"${PIN[@]}" /usr/bin/time -v -o "$OUT/sqlite.time" sqlite3 -bail "$DB" < "$OUT/sqlite-import.sql" > "$OUT/sqlite.log" 2>&1
rc=$?
set -e
phase_end sqlite_import "$(tv_cpu "$OUT/sqlite.time")"
SQ_WALL=$PH_WALL
[ "$rc" -eq 0 ] || ERRORS+=("sqlite3 import exited $rc: $(head -3 "$OUT/sqlite.log")")
SQ_N=$(sqlite3 -readonly "$DB" "select count(*) from records" 2>/dev/null || echo 0)
[ "$SQ_N" -eq "$RECORDS" ] || NOTES+=("SQLite holds $SQ_N rows, not $RECORDS")
SQ_RPS=$(calc "%.0f" "$SQ_N / $SQ_WALL")
SQ_DISK=0
for f in "$DB" "$DB"-wal "$DB"-journal; do [ -e "$f" ] && SQ_DISK=$((SQ_DISK + $(stat -c %s "$f"))); done
SQ_TABLES=$(sqlite3 -readonly "$DB" "select name, sum(pgsize) from dbstat group by name" 2>/dev/null || true)
jset .sqlite.import "{\"wall_s\": $SQ_WALL, \"records_per_s\": $SQ_RPS, \"rows\": $SQ_N, \"max_rss_kb\": $(tv "$OUT/sqlite.time" 'Maximum resident set size'),
  \"cpu_user_s\": $(tv "$OUT/sqlite.time" 'User time'), \"cpu_sys_s\": $(tv "$OUT/sqlite.time" 'System time'), \"exit\": $rc}"
jset .sqlite.disk "{\"bytes\": $SQ_DISK, \"tables\": $(printf '%s\n' "$SQ_TABLES" | jq -R 'select(. != "") | split("|") | {(.[0]): (.[1] | tonumber)}' | jq -sc 'add // {}')}"
rm -f "$OUT/records.tsv"
log "timing SQLite timelines for $K containers"
SQL_Q="SELECT raw FROM records WHERE container IN ('{}') ORDER BY ts"
lat sqlite_timeline --ids "$OUT/probes/sqlite.ids" -- sqlite3 -readonly "$DB" "$SQL_Q"
LAT_SQ=$LJ
jset .sqlite.timeline "$LAT_SQ"
jsets .sqlite.timeline.query "$SQL_Q"
: > "$OUT/probes/sqlite.counts"
SQ_BAD=0
paste "$OUT/probes/sqlite.ids" "$OUT/probes/probes.tsv" | while IFS=$'\t' read -r key id _ _ _ _ _ _ _ exp; do
    got=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM records WHERE container IN ('$key')")
    echo "$id $exp $got" >> "$OUT/probes/sqlite.counts"
done
SQ_BAD=$(awk '$2 != $3' "$OUT/probes/sqlite.counts" | wc -l)
jset .sqlite.timeline.count_mismatches "$SQ_BAD"
[ "$SQ_BAD" -eq 0 ] || NOTES+=("SQLite returned another count than expected for $SQ_BAD of $K containers (OUT/probes/sqlite.counts)")
[ "$KEEP" = 1 ] && [ "$RECORDS" -le 2000000 ] || rm -f "$DB" "$DB"-*

# ---- 6. journald ------------------------------------------------------------------
log "journald: writing the export format (not timed)"
"$GEN" --records "$RECORDS" --seed "$SEED" --fixtures "$FIXTURES" --out "$OUT" --emit journal >/dev/null ||
    die "ctrail-gen-prod --emit journal failed"
cat "$OUT/journal.export" > /dev/null
mkdir -p "$JDIR"
log "journald: systemd-journal-remote ($PIN_NOTE)"
phase_begin
set +e
"${PIN[@]}" /usr/bin/time -v -o "$OUT/journal.time" "$JREMOTE" --output="$JDIR/all.journal" - \
    < "$OUT/journal.export" > "$OUT/journal.log" 2>&1
rc=$?
set -e
phase_end journald_import "$(tv_cpu "$OUT/journal.time")"
JN_WALL=$PH_WALL
[ "$rc" -eq 0 ] || ERRORS+=("systemd-journal-remote exited $rc: $(tail -3 "$OUT/journal.log")")
rm -f "$OUT/journal.export"
JN_DISK=$(du -sb "$JDIR" | cut -f1)
JN_FILES=$(find "$JDIR" -name '*.journal' | wc -l)
JN_N=$(journalctl -D "$JDIR" -o cat --no-pager 2>/dev/null | wc -l)
[ "$JN_N" -eq "$RECORDS" ] || NOTES+=("journalctl -D prints $JN_N entries, not $RECORDS")
JN_RPS=$(calc "%.0f" "$RECORDS / $JN_WALL")
jset .journald.import "{\"wall_s\": $JN_WALL, \"records_per_s\": $JN_RPS, \"entries\": $JN_N, \"files\": $JN_FILES,
  \"max_rss_kb\": $(tv "$OUT/journal.time" 'Maximum resident set size'), \"cpu_user_s\": $(tv "$OUT/journal.time" 'User time'),
  \"cpu_sys_s\": $(tv "$OUT/journal.time" 'System time'), \"exit\": $rc}"
jset .journald.disk "{\"bytes\": $JN_DISK}"
log "timing journalctl timelines for $K containers"
seq 20 > "$OUT/probes/twenty.ids"
SH_OVER=$("$LAT" --json --warmup 3 --shell --ids "$OUT/probes/twenty.ids" -- "exec true" | jq .p50_ms)
JQ_CMD="exec journalctl -D '$JDIR' {} -o cat --no-pager"
lat journald_timeline --shell --ids "$OUT/probes/journal.ids" -- "$JQ_CMD"
LAT_JN=$LJ
jset .journald.timeline "$LAT_JN"
jsets .journald.timeline.command "journalctl -D DIR CONTAINER_ID=ID + POD_UID=UID -o cat --no-pager (through sh -c)"
jset .journald.timeline.shell_p50_ms "$SH_OVER"
: > "$OUT/probes/journal.counts"
paste "$OUT/probes/journal.ids" "$OUT/probes/probes.tsv" | while IFS=$'\t' read -r match id _ _ _ _ _ _ _ exp; do
    # shellcheck disable=SC2086 # the match is several words on purpose
    got=$(journalctl -D "$JDIR" $match -o cat --no-pager | wc -l)
    echo "$id $exp $got" >> "$OUT/probes/journal.counts"
done
JN_BAD=$(awk '$2 != $3' "$OUT/probes/journal.counts" | wc -l)
jset .journald.timeline.count_mismatches "$JN_BAD"
[ "$JN_BAD" -eq 0 ] || NOTES+=("journalctl returned another count than expected for $JN_BAD of $K containers (OUT/probes/journal.counts)")
[ "$KEEP" = 1 ] && [ "$RECORDS" -le 2000000 ] || rm -rf "$JDIR"

# ---- 7. report -------------------------------------------------------------------
j() { jq -r "$1" "$S"; }
per() { calc "%.0f" "$1 / $RECORDS"; }
pm() { [ "$1" = null ] && echo "-" || calc "%.1f" "$1"; }
met() { awk "BEGIN { exit !($1) }" && echo met || echo MISSED; }
CT_P50=$(j .ctrail.timeline.p50_ms) CT_P99=$(j .ctrail.timeline.p99_ms)
SQ_P50=$(j .sqlite.timeline.p50_ms) SQ_P99=$(j .sqlite.timeline.p99_ms)
JN_P50=$(j .journald.timeline.p50_ms) JN_P99=$(j .journald.timeline.p99_ms)
Z3_RPS=$(calc "%.0f" "$RECORDS / $Z3_S")
R_INGEST=$(calc "%.2f" "$CT_RPS / $SQ_RPS")
R_Z3=$(calc "%.3f" "$CT_DISK / $Z3")
R_P99=$(calc "%.2f" "$CT_P99 / $SQ_P99")
RSS_MIB=$(calc "%.1f" "$CT_RSS / 1024")
M_INGEST_X=$(met "$R_INGEST >= $T_INGEST_X")
M_INGEST=$(met "$CT_RPS >= $T_INGEST")
M_Z3=$(met "$R_Z3 <= $T_SIZE_Z3")
M_P99=$(met "$R_P99 <= $T_P99_X")
M_RSS=$(met "$RSS_MIB <= $T_RSS_MIB")
M_VERIFY=$(met "$VERIFY_RPS >= $T_VERIFY")
if [ "$Z19" = 1 ]; then
    Z19_RPS=$(calc "%.0f" "$RECORDS / $Z19_S")
    R_Z19=$(calc "%.3f" "$CT_DISK / $Z19B")
    M_Z19=$(met "$R_Z19 <= $T_SIZE_Z19")
fi
{
echo "ctrail store benchmark, $(j .date): tree $GIT_HEAD, ${BUILD_TYPE:-?} build, $NCPU cpus ($CPU), $FS"
echo "  input: $RECORDS records, $(calc "%.1f" "$IN_BYTES / 1e6") MB ($(per "$IN_BYTES") B/record), $NCONT containers, $(j .input.pods) pods, $(j .input.nodes) nodes, 24 h; generated in $GEN_S s"
echo "         $(j '.input.by_source | to_entries | map("\(.key) \(.value.records) x \(.value.bytes / .value.records | floor) B") | join(", ")')"
echo "  probes: $K containers (the p90 one: $(j .probes.p90_container.expected) records = $(j .probes.p90_container.docker) docker + $(j .probes.p90_container.inspect) inspect + $(j .probes.p90_container.audit) audit + $(j .probes.p90_container.syslog) syslog; mean $(j .probes.expected_mean))"
echo
printf "| %-16s | %14s | %14s | %22s |\n" system "ingest rec/s" "bytes/record" "timeline p50 / p99 ms"
printf "|%s|%s|%s|%s|\n" ------------------ ---------------- ---------------- ------------------------
printf "| %-16s | %14s | %14s | %22s |\n" ctrail "$CT_RPS" "$(per "$CT_DISK")" "$(pm "$CT_P50") / $(pm "$CT_P99")"
printf "| %-16s | %14s | %14s | %22s |\n" SQLite "$SQ_RPS" "$(per "$SQ_DISK")" "$(pm "$SQ_P50") / $(pm "$SQ_P99")"
printf "| %-16s | %14s | %14s | %22s |\n" journald "$JN_RPS" "$(per "$JN_DISK")" "$(pm "$JN_P50") / $(pm "$JN_P99")"
printf "| %-16s | %14s | %14s | %22s |\n" "zstd -3 -T1" "$Z3_RPS" "$(per "$Z3")" "(no index)"
[ "$Z19" = 1 ] && printf "| %-16s | %14s | %14s | %22s |\n" "zstd -19 -T1" "$Z19_RPS" "$(per "$Z19B")" "(no index)"
echo
echo "ctrail import: $CT_WALL s wall, $(j .ctrail.import.cpu_user_s) s user + $(j .ctrail.import.cpu_sys_s) s sys, max RSS $RSS_MIB MiB; stored $STORED, duplicates $DUPS, rejected $REJ"
echo "  on disk $CT_DISK B: segments $CT_SEG, index.db $CT_IDX ($(j '.ctrail.disk.index_tables | to_entries | sort_by(-.value) | .[:4] | map("\(.key) \(.value)") | join(", ")')), other $((CT_DISK - ${CT_SEG:-0} - CT_IDX))"
echo "  verify $VERIFY_S s ($VERIFY_RPS rec/s); events --source k8s_audit (1 h, $EV_N records) p50 $(pm "$(jq .p50_ms <<< "$LAT_EV")") ms; containers (1 h, $CS_N lines) p50 $(pm "$(jq .p50_ms <<< "$LAT_CS")") ms"
echo "  timeline: $(j .ctrail.timeline.failures) failures, $CT_BAD count mismatches of $K"
echo "SQLite: $SQ_WALL s (import + index + commit), $SQ_N rows, $SQ_DISK B; query: $SQL_Q; $SQ_BAD count mismatches"
echo "journald: $JN_WALL s, $JN_N entries in $JN_FILES files, $JN_DISK B; journalctl -D DIR CONTAINER_ID=ID + POD_UID=UID (sh -c adds ~$(pm "$SH_OVER") ms); $JN_BAD count mismatches"
echo "zstd: -3 $Z3 B in $Z3_S s$([ "$Z19" = 1 ] && echo "; -19 $Z19B B in $Z19_S s of one cpu (two files at a time)")"
echo
echo "TARGETS"
printf "  %-46s %-7s %s\n" "ctrail ingest / SQLite ingest >= $T_INGEST_X" "$M_INGEST_X" "${R_INGEST}x"
printf "  %-46s %-7s %s\n" "ctrail ingest >= $T_INGEST rec/s" "$M_INGEST" "$CT_RPS"
printf "  %-46s %-7s %s\n" "ctrail bytes / zstd -3 bytes <= $T_SIZE_Z3" "$M_Z3" "${R_Z3}x"
[ "$Z19" = 1 ] && printf "  %-46s %-7s %s\n" "(stretch) ctrail bytes / zstd -19 <= $T_SIZE_Z19" "$M_Z19" "${R_Z19}x"
printf "  %-46s %-7s %s\n" "ctrail timeline p99 / SQLite p99 <= $T_P99_X" "$M_P99" "${R_P99}x"
printf "  %-46s %-7s %s\n" "ctrail import max RSS <= $T_RSS_MIB MiB" "$M_RSS" "$RSS_MIB MiB"
printf "  %-46s %-7s %s\n" "ctrail verify >= $T_VERIFY rec/s" "$M_VERIFY" "$VERIFY_RPS"
echo
echo "LOAD (other processes' cpus busy on average during each phase; load average before)"
j '.phases | to_entries | map("  \(.key): \(.value.others_cpus) (load \(.value.loadavg_before), \(.value.wall_s) s)") | .[]'
for w in "${WARNINGS[@]}"; do echo "  WARNING: $w"; done
for n in "${NOTES[@]}"; do echo "NOTE: $n"; done
for e in "${ERRORS[@]}"; do echo "ERROR: $e"; done
} | tee "$OUT/report.txt"

jset .ratios "{\"ingest_ctrail_vs_sqlite\": $R_INGEST, \"bytes_ctrail_vs_zstd3\": $R_Z3, \"bytes_ctrail_vs_zstd19\": ${R_Z19:-null}, \"timeline_p99_ctrail_vs_sqlite\": $R_P99}"
jset .targets "{
  \"ingest_vs_sqlite\": {\"target\": $T_INGEST_X, \"value\": $R_INGEST, \"met\": $( [ "$M_INGEST_X" = met ] && echo true || echo false)},
  \"ingest_records_per_s\": {\"target\": $T_INGEST, \"value\": $CT_RPS, \"met\": $( [ "$M_INGEST" = met ] && echo true || echo false)},
  \"bytes_vs_zstd3\": {\"target\": $T_SIZE_Z3, \"value\": $R_Z3, \"met\": $( [ "$M_Z3" = met ] && echo true || echo false)},
  \"bytes_vs_zstd19\": {\"target\": $T_SIZE_Z19, \"value\": ${R_Z19:-null}, \"met\": $( [ "${M_Z19:-}" = met ] && echo true || echo false)},
  \"timeline_p99_vs_sqlite\": {\"target\": $T_P99_X, \"value\": $R_P99, \"met\": $( [ "$M_P99" = met ] && echo true || echo false)},
  \"import_max_rss_mib\": {\"target\": $T_RSS_MIB, \"value\": $RSS_MIB, \"met\": $( [ "$M_RSS" = met ] && echo true || echo false)},
  \"verify_records_per_s\": {\"target\": $T_VERIFY, \"value\": $VERIFY_RPS, \"met\": $( [ "$M_VERIFY" = met ] && echo true || echo false)}}"
jset .warnings "$(printf '%s\n' "${WARNINGS[@]}" | jq -R 'select(. != "")' | jq -sc .)"
jset .notes "$(printf '%s\n' "${NOTES[@]}" | jq -R 'select(. != "")' | jq -sc .)"
jset .errors "$(printf '%s\n' "${ERRORS[@]}" | jq -R 'select(. != "")' | jq -sc .)"
log "wrote $S and $OUT/report.txt"

if [ "$KEEP" = 0 ]; then
    rm -rf "$DATA" "$DB" "$DB"-* "$JDIR" "${FILES[@]/#/$OUT/}"
fi
[ ${#ERRORS[@]} -eq 0 ] || exit 1
