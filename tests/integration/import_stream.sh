#!/usr/bin/env bash
# tests/integration/import_stream.sh - inputs read part by part lose and
# repeat nothing at the parts' seams.
#
# `ctrail import` parses JSON lines and text lines in parts of a few MiB.
# Each input here is bigger than several parts and is built so that items
# sit across every seam:
#   1. a syslog file of ~12 MiB whose messages continue on TAB-led lines
#      (one in four has 1-3 of them): every message must come back as one
#      record whose raw is its lines joined by LF, none cut in two;
#   2. JSON lines of sizes from 100 B to 6 MiB (a record larger than a
#      part), no LF at the end of the last: every line is a record, byte
#      for byte;
#   3. the same inputs gzip'd (two members concatenated) and zstd'd, and
#      through standard input: the same records;
#   4. an import, then the compressed copies: nothing stored twice (a log
#      rotated and compressed keeps its identity);
#   5. a log that grew since it was imported: only the new lines stored.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_tools awk gzip zstd sort cmp head python3

make_tmp import-stream

# 1. syslog with continuation lines
python3 - "$TMP/sys.log" "$TMP/sys.expected" <<'EOF'
import random, sys
random.seed(5)
out = open(sys.argv[1], "w")
exp = open(sys.argv[2], "w")
size, n = 0, 0
while size < 12 << 20:
    n += 1
    msg = "Nov 18 11:%02d:%02d web%d sshd[%d]: message %d %s" % (
        (n // 60) % 60, n % 60, n % 7, 1000 + n % 5000, n, "x" * random.randint(20, 400))
    lines = [msg]
    if n % 4 == 0:
        lines += ["\tcontinued %d.%d %s" % (n, i, "y" * random.randint(0, 200))
                  for i in range(random.randint(1, 3))]
    text = "\n".join(lines)
    out.write(text + "\n")
    exp.write(text.replace("\n", "\\n") + "\n")
    size += len(text) + 1
print(n)
EOF
[ -s "$TMP/sys.log" ] || die "cannot write the syslog input"

# 2. JSON lines up to 6 MiB, the last without LF
python3 - "$TMP/big.jsonl" <<'EOF'
import json, random, sys
random.seed(9)
out = open(sys.argv[1], "w")
sizes = [random.choice([100, 1000, 5000, 300000]) for _ in range(2000)]
sizes[700] = 6 << 20
lines = []
for i, sz in enumerate(sizes):
    ev = {"status": "start", "id": "%064x" % (i + 1), "from": "img:%d" % i,
          "Type": "container", "Action": "start",
          "Actor": {"ID": "%064x" % (i + 1), "Attributes": {"pad": "p" * sz}},
          "time": 1700000000 + i, "timeNano": (1700000000 + i) * 10**9 + i}
    lines.append(json.dumps(ev, separators=(",", ":")))
out.write("\n".join(lines))
EOF

# raw_sorted DIR OUT [ARGS...]: the raw payloads stored, sorted; text
# payloads come from -o json with their LFs as \n, JSON ones from -o raw
# (byte for byte, one a line)
raw_sorted() {
    local dir=$1 out=$2
    shift 2
    if [ "$2" = docker ]; then
        "$CTRAIL" --data "$dir" events -n 0 -o raw "$@" > "$out.raw" || die "events failed on $dir"
        LC_ALL=C sort "$out.raw" > "$out"
        return
    fi
    "$CTRAIL" --data "$dir" events -n 0 -o json "$@" > "$out.json" || die "events failed on $dir"
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    if line.strip():
        print(json.loads(line)["raw"].replace("\n", "\\n"))
' "$out.json" | LC_ALL=C sort > "$out" || die "cannot read the records of $dir"
}

expect_sys=$TMP/sys.expected.sorted
LC_ALL=C sort "$TMP/sys.expected" > "$expect_sys"
expect_big=$TMP/big.expected.sorted
{ cat "$TMP/big.jsonl"; echo; } | LC_ALL=C sort > "$expect_big"

check() { # LABEL DIR
    raw_sorted "$2" "$TMP/$1.sys" --source syslog
    cmp -s "$expect_sys" "$TMP/$1.sys" ||
        die "$1: syslog records differ from the messages ($(wc -l < "$expect_sys") expected, $(wc -l < "$TMP/$1.sys") stored)"
    raw_sorted "$2" "$TMP/$1.big" --source docker
    cmp -s "$expect_big" "$TMP/$1.big" ||
        die "$1: JSON line records differ ($(wc -l < "$expect_big") expected, $(wc -l < "$TMP/$1.big") stored)"
    echo "$1: $(wc -l < "$expect_sys") syslog messages and $(wc -l < "$expect_big") JSON lines, byte for byte"
}

"$CTRAIL" --data "$TMP/plain" import "$TMP/sys.log" "$TMP/big.jsonl" > "$TMP/plain.out" ||
    die "plain import failed: $(cat "$TMP/plain.out")"
check plain "$TMP/plain"

# 3. compressed and piped
{ head -c 5000000 "$TMP/sys.log" | gzip -c; tail -c +5000001 "$TMP/sys.log" | gzip -c; } > "$TMP/sys.log.gz"
zstd -q -3 -c "$TMP/big.jsonl" > "$TMP/big.jsonl.zst"
"$CTRAIL" --data "$TMP/z" import "$TMP/sys.log.gz" "$TMP/big.jsonl.zst" > "$TMP/z.out" ||
    die "compressed import failed: $(cat "$TMP/z.out")"
check compressed "$TMP/z"
"$CTRAIL" --data "$TMP/pipe" import - < "$TMP/sys.log" > "$TMP/pipe.out" || die "stdin import failed"
zstd -q -dc "$TMP/big.jsonl.zst" | "$CTRAIL" --data "$TMP/pipe" import - >> "$TMP/pipe.out" || die "stdin import failed"
check stdin "$TMP/pipe"

# 4. the compressed copies of what is stored: nothing new
out=$("$CTRAIL" --data "$TMP/plain" import "$TMP/sys.log.gz" "$TMP/big.jsonl.zst") || die "re-import failed: $out"
[ "$(grep -c ' 0 records stored' <<<"$out")" = 2 ] || die "the compressed copies stored records again: $out"
check "compressed copies again" "$TMP/plain"

# 5. a log that grew
lines=$(wc -l < "$TMP/sys.log")
cut_at=$(awk -v half=$((lines / 2)) 'NR > half && /^[^\t]/ { print NR - 1; exit }' "$TMP/sys.log")
head -n "$cut_at" "$TMP/sys.log" > "$TMP/grow.log"
"$CTRAIL" --data "$TMP/grow" import "$TMP/grow.log" > /dev/null || die "import of the first half failed"
tail -n +$((cut_at + 1)) "$TMP/sys.log" >> "$TMP/grow.log"
"$CTRAIL" --data "$TMP/grow" import "$TMP/grow.log" > "$TMP/grow.out" || die "import of the grown log failed"
"$CTRAIL" --data "$TMP/grow" import "$TMP/big.jsonl" > /dev/null || die "import failed"
check grown "$TMP/grow"
echo "import_stream: pass"
