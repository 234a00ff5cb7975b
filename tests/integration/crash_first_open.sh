#!/usr/bin/env bash
# tests/integration/crash_first_open.sh - a crash while a store is first
# created must not leave a directory that can never be opened again.
#
# The first writer open creates index.db (one migration transaction), the
# store id, then keys/store.key and keys/store.pub, each written and
# fsynced in turn (store/keys.c).  A SIGKILL between those steps leaves one
# of the states below; the crash trials of crash_safety.sh can land in them
# only by chance, so they are built here directly: a fresh store (no block,
# no record, so no checkpoint was ever signed) whose keys/ is then cut back
# to what the kill would have left.  For each state the next writer open
# must succeed, take records, seal them, and `ctrail verify` must then pass
# with every block's checkpoint signed by the key in keys/store.pub.
#
# Exit: 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_writer

make_tmp firstopen
N_STATES=0

# state NAME SETUP: SETUP runs in the keys/ directory of a fresh store.
state() {
    local name=$1 setup=$2 d=$TMP/state$((++N_STATES)) out
    "$WRITER" --data "$d" --count 0 > /dev/null 2> "$TMP/err" ||
        { fail "$name: creating the store: $(cat "$TMP/err")"; return; }
    [ -s "$d/keys/store.key" ] && [ -s "$d/keys/store.pub" ] ||
        { fail "$name: a fresh store has no key pair"; return; }
    (cd "$d/keys" && eval "$setup") || { fail "$name: setting up the state"; return; }
    if ! "$WRITER" --data "$d" --threads 2 --count 50 --run 1 > "$TMP/acks" 2> "$TMP/err"; then
        fail "$name: the store cannot be opened again after the crash: $(head -c 300 "$TMP/err")"
        return
    fi
    [ "$(grep -c '^ack .* end$' "$TMP/acks")" -eq 100 ] ||
        { fail "$name: the writer acknowledged $(grep -c '^ack' "$TMP/acks") of 100 records"; return; }
    out=$("$CTRAIL" --data "$d" verify 2>&1) ||
        { fail "$name: verify after reopening: $out"; return; }
    grep -Eq '^ok: [1-9][0-9]* blocks, 100 records \([1-9][0-9]* signed checkpoints' <<<"$out" ||
        { fail "$name: verify does not check 100 records under signed checkpoints: $out"; return; }
    echo "ok: $name"
}

state "killed after mkdir keys/" 'rm -f store.key store.pub'
state "killed after creating store.key, before writing it" 'rm -f store.pub && : > store.key'
state "killed after half of store.key was written" 'rm -f store.pub && truncate -s 32 store.key'
state "killed after store.key, before store.pub" 'rm -f store.pub'
state "killed after creating store.pub, before writing it" ': > store.pub'
state "killed after half of store.pub was written" 'truncate -s 16 store.pub'

# Once a checkpoint is signed, a lost secret key cannot be replaced by a
# new one silently: the old signatures could never be checked again.
d=$TMP/state1
if [ -s "$d/keys/store.key" ]; then
    rm -f "$d/keys/store.key"
    if "$WRITER" --data "$d" --count 1 --run 2 > /dev/null 2> "$TMP/err"; then
        fail "a store with signed checkpoints opened for writing without keys/store.key"
    elif ! grep -q 'checkpoints were signed' "$TMP/err"; then
        fail "a lost store.key after signing is not named clearly: $(head -c 300 "$TMP/err")"
    else
        echo "ok: a lost store.key after signing is refused: $(head -c 200 "$TMP/err")"
    fi
    out=$("$CTRAIL" --data "$d" verify 2>&1) ||
        fail "verify (a reader) fails once store.key is gone: $out"
fi

[ "$FAILS" -eq 0 ] || exit 1
echo "PASS"
exit 0
