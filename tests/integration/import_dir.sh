#!/usr/bin/env bash
# tests/integration/import_dir.sh - `ctrail import DIR`.
#
# Builds a real directory tree from the fixtures - an audit log with its
# rotated .1 and .2.gz copies, Docker events two directories down, a
# .zst auditd log, a syslog file, a symlink to a file outside the tree -
# and around them what must not be read: a hidden file and a hidden
# directory, a file excluded by name (--exclude '*.tmp'), a directory
# excluded by its relative path (--exclude host/old), and what cannot be
# read: a fifo, a dangling symlink, a symlink to itself, a symlink back to
# an ancestor directory (and, when not run as root, a file without read
# permission).  Then:
#   - stdout has one summary line per file, in name order within each
#     directory ("docker/..." before "docker.jsonl"), as for FILE operands;
#   - stderr has one "ctrail: PATH: reason" line per path that cannot be
#     read, and the import goes on past each (exit status 1);
#   - `ctrail events -o json` holds exactly the records of the files that
#     were to be read (per source, counted with jq and grep; the docker,
#     audit and auditd raw payloads compared as sets), nothing of the
#     hidden or excluded ones;
#   - importing the tree again stores nothing; a directory with nothing to
#     import says so (exit 0).
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_fixtures
need_tools jq gzip zstd mkfifo

make_tmp import-dir
T=$TMP/tree
D=$TMP/data
mkdir -p "$T/audit" "$T/docker/2024/05" "$T/host/audit" "$T/host/old" "$T/links" \
    "$T/.snapshot" "$T/empty" "$TMP/outside"

AUDIT=$FX/k8s-audit/audit2rbac_demo.log
DOCKERD=$FX/docker-events/captured-dockerd-20.10_lifecycle.jsonl
PODMAN=$FX/docker-events/captured-podman-4.3_privileged-exec.jsonl
AUDITD=$FX/host-logs/auditd/go-libaudit_normal.log
EXECVE=$FX/host-logs/auditd/beats_execve-hex-arg.log
SYSLOG=$FX/host-logs/syslog-files/beats_auth-test.log

# what is read
sed -n '1,20p' "$AUDIT" >"$T/audit/audit.log"
sed -n '21,30p' "$AUDIT" >"$T/audit/audit.log.1"
sed -n '31,$p' "$AUDIT" | gzip -c >"$T/audit/audit.log.2.gz"
cp "$DOCKERD" "$T/docker/2024/05/dockerd.jsonl"
cp "$PODMAN" "$T/docker.jsonl"
zstd -q -c "$AUDITD" >"$T/host/audit/audit.log.zst"
cp "$SYSLOG" "$T/host/auth.log"
cp "$EXECVE" "$TMP/outside/execve.log"
ln -s ../../outside/execve.log "$T/links/execve.log"
# what is left out: hidden, excluded by name, excluded by relative path
cp "$FX/docker-events/moby-api-v1.21_events_example.jsonl" "$T/audit/.audit.log.swp"
cp "$FX/docker-events/moby-api-v1.19_events_example.jsonl" "$T/.snapshot/events.jsonl"
cp "$FX/docker-events/deck-chores_events_00.jsonl" "$T/docker/partial.tmp"
cp "$FX/host-logs/syslog-files/beats_tz-offset.log" "$T/host/old/syslog.1"
# what cannot be read
mkfifo "$T/host/pipe"
ln -s gone.log "$T/host/current"
ln -s self "$T/host/self"
ln -s ../.. "$T/docker/2024/05/loop"
problems=4
if [ "$(id -u)" != 0 ]; then
    cp "$SYSLOG" "$T/host/secret.log"
    chmod 000 "$T/host/secret.log"
    problems=5
fi

# ---- the import ----
"$CTRAIL" --data "$D" import --exclude '*.tmp' --exclude host/old "$T" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc, want 1 (some paths cannot be read): $(cat "$TMP/err")"

# the files, in name order within each directory
want_files="$T/audit/audit.log
$T/audit/audit.log.1
$T/audit/audit.log.2.gz
$T/docker/2024/05/dockerd.jsonl
$T/docker.jsonl
$T/host/audit/audit.log.zst
$T/host/auth.log
$T/links/execve.log"
got_files=$(sed -n 's/: [0-9]* records stored, [0-9]* duplicates, [0-9]* rejected$//p' "$TMP/out")
[ "$got_files" = "$want_files" ] || fail "files imported, in this order:
$got_files
want:
$want_files"
[ "$(wc -l <"$TMP/out")" -eq 8 ] || fail "stdout has $(wc -l <"$TMP/out") lines, want 8: $(cat "$TMP/out")"
grep -q "^$T/audit/audit.log.2.gz: 7 records stored, 0 duplicates, 0 rejected$" "$TMP/out" ||
    fail "the rotated .gz copy: $(grep 2.gz "$TMP/out")"

# one error line per path that cannot be read, naming it
expect_err() { # PATH WORDS
    grep -qF "ctrail: $1: $2" "$TMP/err" || fail "no error '$2' for $1: $(cat "$TMP/err")"
}
expect_err "$T/host/pipe" "a fifo, not a regular file"
expect_err "$T/host/current" "dangling symlink"
expect_err "$T/host/self" "symlink loop"
expect_err "$T/docker/2024/05/loop" "symlink loop (it is '$T/docker' again)"
[ "$problems" = 5 ] && expect_err "$T/host/secret.log" "Permission denied"
[ "$(wc -l <"$TMP/err")" -eq "$problems" ] ||
    fail "stderr has $(wc -l <"$TMP/err") lines, want $problems: $(cat "$TMP/err")"
grep -q "hidden\|\.swp\|\.snapshot\|partial.tmp\|host/old" "$TMP/out" "$TMP/err" &&
    fail "a hidden or excluded path is named: $(grep "hidden\|\.swp\|\.snapshot\|partial.tmp\|host/old" "$TMP/out" "$TMP/err")"

# ---- what is stored ----
"$CTRAIL" --data "$D" events -o json >"$TMP/events.json" || fail "events -o json failed"
count() { jq -r --arg s "$1" 'select(.source == $s) | .source' "$TMP/events.json" | wc -l; }
lines() { awk 1 "$@" | grep -c '[^[:space:]]'; }
[ "$(count k8s_audit)" -eq "$(lines "$AUDIT")" ] ||
    fail "k8s_audit: $(count k8s_audit) records, want $(lines "$AUDIT") (the log and its rotated copies)"
[ "$(count docker)" -eq "$(lines "$DOCKERD" "$PODMAN")" ] ||
    fail "docker: $(count docker) records, want $(lines "$DOCKERD" "$PODMAN")"
[ "$(count auditd)" -eq "$(lines "$AUDITD" "$EXECVE")" ] ||
    fail "auditd: $(count auditd) records, want $(lines "$AUDITD" "$EXECVE") (.zst and the symlinked file)"
[ "$(count syslog)" -eq "$(lines "$SYSLOG")" ] ||
    fail "syslog: $(count syslog) records, want $(lines "$SYSLOG") (host/old is excluded)"
[ "$(jq -s length "$TMP/events.json")" -eq $(($(lines "$AUDIT" "$DOCKERD" "$PODMAN" "$AUDITD" "$EXECVE" "$SYSLOG"))) ] ||
    fail "$(jq -s length "$TMP/events.json") records in all, more than the files to read hold"
# the same payloads, byte for byte: nothing of the hidden or excluded files
same_raw() { # SOURCE FILE...
    local s=$1
    shift
    cmp -s <("$CTRAIL" --data "$D" events --source "$s" -o raw | sort) <(awk 1 "$@" | grep '[^[:space:]]' | sort) ||
        fail "$s: the stored payloads are not the lines of $*"
}
same_raw docker "$DOCKERD" "$PODMAN"
same_raw k8s_audit "$AUDIT"
same_raw auditd "$AUDITD" "$EXECVE"
jq -r 'select(.source == "k8s_audit") | .raw.auditID' "$TMP/events.json" | sort >"$TMP/ids.got"
jq -r '.auditID' "$AUDIT" | sort >"$TMP/ids.want"
cmp -s "$TMP/ids.got" "$TMP/ids.want" || fail "the audit events stored are not the log's"

# ---- again: nothing new; the same problems ----
"$CTRAIL" --data "$D" import --exclude '*.tmp' --exclude host/old "$T" >"$TMP/out2" 2>"$TMP/err2"
rc=$?
[ "$rc" -eq 1 ] || fail "second import: exit status $rc, want 1"
[ "$(grep -c ': 0 records stored' "$TMP/out2")" -eq 8 ] || fail "second import stored records: $(cat "$TMP/out2")"
cmp -s "$TMP/err" "$TMP/err2" || fail "second import reports other problems: $(diff "$TMP/err" "$TMP/err2")"

# ---- nothing to import ----
"$CTRAIL" --data "$D" import "$T/empty" >"$TMP/out3" 2>"$TMP/err3"
rc=$?
[ "$rc" -eq 0 ] || fail "an empty directory: exit status $rc, want 0"
grep -qF "ctrail: $T/empty: no files to import" "$TMP/err3" || fail "an empty directory: $(cat "$TMP/err3")"
[ -s "$TMP/out3" ] && fail "an empty directory: stdout $(cat "$TMP/out3")"
"$CTRAIL" --data "$D" import --exclude 'audit*' "$T/audit" >"$TMP/out4" 2>"$TMP/err4"
grep -qF "ctrail: $T/audit: no files to import" "$TMP/err4" || fail "all excluded: $(cat "$TMP/err4")"
[ -s "$TMP/out4" ] && fail "all excluded: stdout $(cat "$TMP/out4")"

[ "$FAILS" -eq 0 ] || exit 1
note "ok: 8 files in name order, $problems unreadable paths reported, hidden and excluded left out"
