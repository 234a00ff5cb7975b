#!/usr/bin/env bash
# tests/integration/syslog_recv.sh - the syslog receivers of `ctrail serve`
# with real senders.
#
# One `ctrail serve --syslog-udp --syslog-tcp --syslog-unix (datagram and
# stream:)` on loopback, on a data directory that already knows the
# containers of a docker events fixture (for short-id keying):
#   - logger(1) over UDP (RFC 5424 with structured data, RFC 3164), TCP
#     LF-framed and octet-counted, a unix datagram and a unix stream socket,
#     stdin lines; rsyslogd in the foreground (its own config and work dir,
#     no system socket) relaying logger's messages to ctrail over TCP with
#     octet counting; glibc's syslog(3) (tests/tools/syslog_client, in a
#     mount namespace where /dev/log is our unix stream socket, then our
#     datagram socket: NUL-terminated messages on one connection).  Every
#     message is stored exactly once, with its raw byte for byte and the
#     right host, kind (facility.severity) and container; `events --source
#     syslog --host H` finds it;
#   - bad input: invalid UTF-8 and a NUL in a counted frame (raw kept, -o
#     json still valid JSON, raw_base64 gives the bytes back), NULs between
#     LF-less lines (they end them), a 1 MiB line (kept cut,
#     kind *.cut) and a 512 KiB one (kept whole), a non-syslog line (kept as
#     syslog.unparsed), a half-open TCP peer (other senders unaffected; its
#     half frame is stored as *.partial at stop), a flood of 100k datagrams
#     from logger as fast as it sends (under 1 % lost, serve alive, received
#     == stored in /metrics, earlier lines there);
#   - SIGTERM right after a sender wrote 2000 lines on an open connection:
#     all of them are stored.
#
# Environment: CTRAIL_BIN, CTRAIL_FIXTURES, CTRAIL_SYSLOG_CLIENT (without it,
# or without unshare and mount, the syslog(3) part alone is skipped, and says
# so).  Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

need_ctrail
need_fixtures
need_tools -h "scripts/install-deps test" logger rsyslogd curl jq python3 base64

make_tmp syslog
cleanup_first() { exec 4>&- 2>/dev/null; }

DATA=$TMP/data
"$CTRAIL" --data "$DATA" import "$FX/docker-events/captured-dockerd-20.10_lifecycle.jsonl" \
    >/dev/null || die "import of the docker events fixture failed"
CID=$("$CTRAIL" --data "$DATA" containers -o json | jq -r '.id' | head -n 1)
[ ${#CID} = 64 ] || die "no container in the catalog after the import: '$CID'"
SHORT=${CID:0:12}

# the last line serve prints: every receiver is up
SERVE_READY="syslog unix (stream)" serve_start serve "$DATA" --syslog-udp 127.0.0.1:0 \
    --syslog-tcp 127.0.0.1:0 --syslog-unix "$TMP/log.sock" \
    --syslog-unix "stream:$TMP/stream.sock"
OUT=$TMP/serve.out
UDP=$(sed -n 's/^ctrail: syslog udp on 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT")
TCP=$(sed -n 's/^ctrail: syslog tcp on 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT")
[ -n "$URL" ] && [ -n "$UDP" ] && [ -n "$TCP" ] || die "cannot read the addresses: $(cat "$OUT")"
note "serve at $URL, udp $UDP, tcp $TCP"

events() { "$CTRAIL" --data "$DATA" events -o json --source syslog "$@"; }
# count_raw TOKEN: records whose raw holds TOKEN (jq sees raw as a string)
count_raw() { events | jq -r --arg t "$1" 'select(.raw | contains($t)) | .kind' | wc -l; }
expect_once() { # TOKEN WHAT
    local n
    n=$(count_raw "$1")
    [ "$n" = 1 ] || fail "$2: '$1' stored $n times, want once"
}
received() {
    echo $(($(metric 'ctrail_syslog_received_total{transport="udp"}') +
        $(metric 'ctrail_syslog_received_total{transport="tcp"}') +
        $(metric 'ctrail_syslog_received_total{transport="unix"}')))
}
stored() { metric 'ctrail_records_ingested_total{source="syslog"}'; }
settled() { # N: N messages received and all of them stored
    [ "$(received)" -ge "$1" ] && [ "$(stored)" = "$(received)" ]
}

# ---- logger, every transport ----
logger -n 127.0.0.1 -P "$UDP" -d --rfc5424 -t ctrailtest -p local3.warning --msgid MID1 \
    --sd-id 'ctrail@32473' --sd-param 'cid="abc123"' 'tok-udp5424 hello'
logger -n 127.0.0.1 -P "$UDP" -d --rfc3164 -t ctrailtest -p user.notice 'tok-udp3164 hello'
logger -n 127.0.0.1 -P "$TCP" -T --rfc5424 -t ctrailtest -p daemon.err 'tok-tcplf hello'
logger -n 127.0.0.1 -P "$TCP" -T --octet-count --rfc5424 -t ctrailtest 'tok-tcpoct5424 hello'
logger -n 127.0.0.1 -P "$TCP" -T --octet-count --rfc3164 -t ctrailtest 'tok-tcpoct3164 hello'
logger -u "$TMP/log.sock" --socket-errors=on -t ctrailtest 'tok-unixdgram hello' ||
    fail "logger -u to the datagram socket failed"
logger -u "$TMP/stream.sock" --socket-errors=on -i -t ctrailtest \
    'tok-unixstream hello' || fail "logger -u to the stream socket failed"
logger -u "$TMP/stream.sock" --socket-errors=on --octet-count -t ctrailtest \
    'tok-unixstreamoct hello' || fail "logger --octet-count to the stream socket failed"
printf 'tok-stdin-1\ntok-stdin-2\ntok-stdin-3\n' | logger -n 127.0.0.1 -P "$TCP" -T -t multi
# container keying: a cgroup path with a full id, and a short id the catalog knows
logger -n 127.0.0.1 -P "$TCP" -T -t kernel \
    "tok-cgroup oom-kill in /system.slice/docker-$CID.scope"
logger -n 127.0.0.1 -P "$UDP" -d -t dockerd "tok-short container $SHORT exited"
logger -n 127.0.0.1 -P "$UDP" -d -t app "tok-noshort container 0123456789ab is not known"
# a host name of our own, to filter on
exec 3<>"/dev/tcp/127.0.0.1/$TCP" || die "cannot connect to tcp $TCP"
printf '<30>1 2026-11-25T06:24:27.5Z testhost-a app 77 - - tok-host\n' >&3
exec 3>&-
wait_until 10 settled 15 || fail "logger: $(received) received, $(stored) stored, want 15"

for t in tok-udp5424 tok-udp3164 tok-tcplf tok-tcpoct5424 tok-tcpoct3164 tok-unixdgram \
    "tok-unixstream hello" tok-unixstreamoct tok-stdin-1 tok-stdin-2 tok-stdin-3 tok-cgroup tok-short \
    tok-noshort tok-host; do
    expect_once "$t" "logger"
done
j=$(events | jq -c 'select(.raw | contains("tok-udp5424"))')
[ "$(jq -r .kind <<<"$j")" = syslog.local3.warning ] || fail "udp 5424 kind: $j"
jq -e '.raw | test("^<156>1 .* ctrailtest - MID1 \\[timeQuality [^]]*\\]\\[ctrail@32473 cid=\"abc123\"\\] tok-udp5424 hello$")' \
    <<<"$j" >/dev/null || fail "udp 5424 raw (structured data) not kept: $j"
j=$(events | jq -c 'select(.raw | contains("tok-tcplf"))')
[ "$(jq -r .kind <<<"$j")" = syslog.daemon.err ] || fail "tcp lf kind: $j"
[ "$(jq -r .host <<<"$j")" = "$(hostname)" ] || fail "tcp lf host: $j"
j=$(events | jq -c 'select(.raw | contains("tok-tcpoct3164"))')
jq -e '.raw | test("^<13>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} [^ ]+ ctrailtest: tok-tcpoct3164 hello$")' \
    <<<"$j" >/dev/null || fail "octet-counted rfc3164 raw: $j"
j=$(events | jq -c 'select(.raw | contains("tok-unixdgram"))')
[ "$(jq -r .host <<<"$j")" = "$(hostname)" ] || fail "unix message without a host: $j"
[ "$(events | jq -r 'select(.raw | contains("tok-cgroup")) | .container')" = "$CID" ] ||
    fail "a cgroup path with a container id is not keyed to it"
[ "$(events | jq -r 'select(.raw | contains("tok-short")) | .container')" = "$CID" ] ||
    fail "a short id the catalog knows is not keyed to its container"
[ "$(events | jq -r 'select(.raw | contains("tok-noshort")) | .container')" = null ] ||
    fail "an unknown 12-hex token was keyed to a container"
"$CTRAIL" --data "$DATA" timeline "$SHORT" -o json | grep -q tok-short ||
    fail "the short-id line is not in its container's timeline"
n=$(events --host testhost-a | jq -r .raw)
[ "$n" = "<30>1 2026-11-25T06:24:27.5Z testhost-a app 77 - - tok-host" ] ||
    fail "events --source syslog --host testhost-a: '$n'"
[ "$(events --host testhost-a | jq -r .ts)" = 2026-11-25T06:24:27.500000000Z ] ||
    fail "the message's own time is not its ts"
# facility, severity, app, pid and msgid: fields of -o json, and filters
j=$(events --facility local3 --severity warning --app ctrailtest | jq -c 'select(.raw | contains("tok-udp5424"))')
[ "$(jq -r '[.facility, .severity, .app, .msgid] | join(" ")' <<<"$j")" = "local3 warning ctrailtest MID1" ] ||
    fail "--facility local3 --severity warning --app ctrailtest: the 5424 message's fields: $j"
[ "$(events --severity err | jq -r 'select(.raw | contains("tok-")) | .raw' | grep -c tok-tcplf)" = 1 ] ||
    fail "--severity err does not find the daemon.err message"
[ "$(events --severity 3 --facility daemon | jq -r '.severity + "." + .facility' | sort -u)" = "err.daemon" ] ||
    fail "--severity 3 --facility daemon selects other messages"
[ "$(events --host testhost-a | jq -r '.app + " " + .pid')" = "app 77" ] ||
    fail "app and pid of the testhost-a message"
[ -z "$(events --facility local3 --app no-such-app)" ] || fail "--app no-such-app matches messages"
"$CTRAIL" --data "$DATA" events --severity loud > /dev/null 2> "$TMP/sev.err" &&
    fail "--severity loud is accepted"
grep -q "severity: unknown 'loud'" "$TMP/sev.err" || fail "--severity loud: $(cat "$TMP/sev.err")"

# ---- glibc's syslog(3): it writes to /dev/log only ----
# In a private mount namespace (unshare -m: nothing is seen outside, and it
# goes with the process) /dev is a small tmpfs whose only entry is a log
# symlink to our socket.  On a stream socket glibc ends each message with a
# NUL and sends the next ones on the same connection.
glibc_log() { # SOCKET MESSAGE...
    local sock=$1
    shift
    unshare -m sh -c 'mount -t tmpfs -o size=64k,mode=755 ctrail-dev /dev &&
        ln -s "$1" /dev/log && shift && exec "$@"' sh "$sock" \
        "$CTRAIL_SYSLOG_CLIENT" ctrailtest "$@"
}
CTRAIL_SYSLOG_CLIENT=${CTRAIL_SYSLOG_CLIENT:-}
if [ -z "$CTRAIL_SYSLOG_CLIENT" ] || [ ! -x "$CTRAIL_SYSLOG_CLIENT" ]; then
    note "SKIP (part): syslog(3): CTRAIL_SYSLOG_CLIENT is not set to tests/tools/syslog_client"
elif ! unshare -m sh -c 'mount -t tmpfs ctrail-dev /dev' 2>"$TMP/unshare.err"; then
    note "SKIP (part): syslog(3): cannot mount over /dev in a mount namespace: $(cat "$TMP/unshare.err")"
else
    before=$(received) fails_before=$FAILS
    glibc_log "$TMP/stream.sock" tok-glibc-s1 tok-glibc-s2 "tok-glibc-s3 last" ||
        fail "syslog(3) to the stream socket failed"
    glibc_log "$TMP/log.sock" tok-glibc-d1 || fail "syslog(3) to the datagram socket failed"
    wait_until 10 settled $((before + 4)) ||
        fail "syslog(3): $(received) received, $(stored) stored, want $((before + 4))"
    for t in tok-glibc-s1 tok-glibc-s2 "tok-glibc-s3 last" tok-glibc-d1; do
        expect_once "$t" "syslog(3)"
        j=$(events | jq -c --arg t "$t" 'select(.raw | endswith($t))')
        jq -e --arg t "$t" '.kind == "syslog.local2.warning" and (.raw | test("^<148>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} ctrailtest\\[[0-9]+\\]: " + $t + "$"))' \
            <<<"$j" >/dev/null || fail "syslog(3) message '$t': $j"
    done
    [ "$FAILS" = "$fails_before" ] &&
        note "syslog(3): 3 messages on one stream connection and a datagram, each stored once"
fi

# ---- rsyslog relaying to ctrail (octet-counted, over TCP) ----
RS=$TMP/rsyslog
mkdir -p "$RS"
cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS" processInternalMessages="on")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$RS/in.sock" CreatePath="on")
action(type="omfwd" target="127.0.0.1" port="$TCP" protocol="tcp"
       template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted"
       action.resumeRetryCount="-1" queue.type="LinkedList" queue.size="10000")
EOF
rsyslogd -N1 -f "$RS/rsyslog.conf" >"$RS/check.log" 2>&1 || die "rsyslog config: $(cat "$RS/check.log")"
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >"$RS/out.log" 2>&1 &
RPID=$!
track "$RPID"
wait_until 10 test -S "$RS/in.sock" || die "rsyslogd did not start: $(cat "$RS/out.log")"
before=$(received)
for i in $(seq 1 50); do
    logger -u "$RS/in.sock" --socket-errors=on -t relayed -p local1.info "tok-rsyslog-$i via rsyslog"
done
relayed() { [ "$(count_raw tok-rsyslog-50)" = 1 ]; }
wait_until 15 relayed || fail "rsyslog: the last line did not arrive"
kill -TERM "$RPID"
wait "$RPID" 2>/dev/null
untrack "$RPID"
for i in $(seq 1 50); do
    expect_once "tok-rsyslog-$i " "rsyslog"
done
j=$(events | jq -c 'select(.raw | contains("tok-rsyslog-7 "))')
[ "$(jq -r .kind <<<"$j")" = syslog.local1.info ] || fail "rsyslog kind: $j"
jq -e '.raw | test("^<142>1 [^ ]+ [^ ]+ relayed - - -  ?tok-rsyslog-7 via rsyslog$")' <<<"$j" \
    >/dev/null || fail "rsyslog raw (its LF taken off, nothing else): $j"
note "rsyslog relayed 50 lines, $(($(received) - before)) messages with its own"

# ---- bad input ----
tcp_send() { # PRINTF-FORMAT [ARGS]: one connection, closed after
    exec 3<>"/dev/tcp/127.0.0.1/$TCP" || return 1
    # shellcheck disable=SC2059
    printf "$@" >&3
    exec 3>&-
}
before=$(received)
tcp_send '<13>Nov 25 06:24:27 vm bad: \xff\xfe\xc3 tok-utf8\n'
tcp_send '39 <13>Nov 25 06:24:27 vm nul: a\0b tok-nul'
tcp_send '<13>Nov 25 06:24:27 vm nul: tok-nul1\0<13>Nov 25 06:24:27 vm nul: tok-nul2\0'
tcp_send 'not syslog at all tok-garbage\n'
# a half-open peer: half an octet-counted frame, connection left open
exec 4<>"/dev/tcp/127.0.0.1/$TCP" || die "cannot connect"
printf '500 <13>Nov 25 06:24:27 vm half: tok-half only this much' >&4
python3 - "$TCP" "$UDP" <<'EOF' || fail "python sender failed"
import socket, sys
tcp, udp = int(sys.argv[1]), int(sys.argv[2])
hdr = b"<13>Nov 25 06:24:27 vm big: "
s = socket.create_connection(("127.0.0.1", tcp))
s.sendall(hdr + b"tok-1mib " + b"x" * (1 << 20) + b"\n")      # over the 1 MiB limit
s.sendall(hdr + b"tok-512k " + b"y" * (512 << 10) + b"\n")    # kept whole
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(hdr + b"tok-60k " + b"z" * 60000, ("127.0.0.1", udp))
EOF
wait_until 10 settled $((before + 8)) || fail "bad input: $(received) received, $(stored) stored"
kill -0 "$SPID" || die "serve died on bad input: $(tail -5 "$SLOG")"
events | jq -e . >/dev/null || fail "-o json is not valid JSON with bad bytes stored"
j=$(events | jq -c 'select(.raw | contains("tok-utf8"))')
[ "$(jq -r .raw_base64 <<<"$j" | base64 -d | od -An -tx1 | tr -d ' \n')" = \
    "$(printf '<13>Nov 25 06:24:27 vm bad: \xff\xfe\xc3 tok-utf8' | od -An -tx1 | tr -d ' \n')" ] ||
    fail "invalid UTF-8: raw_base64 is not the bytes sent: $j"
j=$(events | jq -c 'select(.raw | test("tok-nul$"))') # jq 1.6's contains stops at a NUL
[ "$(jq -r .raw <<<"$j" | od -An -tx1 | tr -d ' \n')" = \
    "$(printf '<13>Nov 25 06:24:27 vm nul: a\0b tok-nul\n' | od -An -tx1 | tr -d ' \n')" ] ||
    fail "a NUL inside a counted frame is not kept: $j"
for t in tok-nul1 tok-nul2; do
    j=$(events | jq -c --arg t "$t" 'select(.raw | endswith($t))')
    [ "$(jq -r .raw <<<"$j")" = "<13>Nov 25 06:24:27 vm nul: $t" ] ||
        fail "NUL-terminated lines are not split at the NUL: $t: $j"
done
[ "$(events | jq -r 'select(.raw | contains("tok-garbage")) | .kind')" = syslog.unparsed ] ||
    fail "a line that is not syslog is not kept as syslog.unparsed"
j=$(events | jq -c 'select(.raw | contains("tok-1mib")) | {kind, n: (.raw | length)}')
[ "$j" = '{"kind":"syslog.user.notice.cut","n":1048576}' ] || fail "1 MiB line: $j"
j=$(events | jq -c 'select(.raw | contains("tok-512k")) | {kind, n: (.raw | length)}')
[ "$j" = '{"kind":"syslog.user.notice","n":'$((28 + 9 + (512 << 10)))'}' ] || fail "512 KiB line: $j"
j=$(events | jq -c 'select(.raw | contains("tok-60k")) | {kind, n: (.raw | length)}')
[ "$j" = '{"kind":"syslog.user.notice","n":60036}' ] || fail "60 KB datagram: $j"
grep -q "cut to 1048576" "$SLOG" || fail "no log line says a message was cut"
grep -q "kept as syslog.unparsed" "$SLOG" || fail "no log line for the unparsed message"
[ "$(metric 'ctrail_syslog_cut_total{transport="tcp"}')" = 1 ] || fail "cut metric"
[ "$(metric 'ctrail_syslog_connections')" = 1 ] || fail "the half-open peer is not open"
expect_once tok-udp5424 "after bad input"

# a flood of 100k datagrams from logger, as fast as it sends (about 250k/s):
# under 1 % may be lost (dropped by the kernel, counted), nothing received is
# lost, serve lives on
before=$(received)
t0=${EPOCHREALTIME/[.,]/}
seq -f 'tok-flood-%.0f' 0 99999 | logger -n 127.0.0.1 -P "$UDP" -d -p user.info -t flood ||
    fail "flood: logger failed"
t1=${EPOCHREALTIME/[.,]/}
flood_done() { # nothing more arrives, all of it stored
    local r
    r=$(received)
    sleep 0.5
    [ "$r" = "$(received)" ] && [ "$(stored)" = "$r" ]
}
wait_until 60 flood_done || fail "flood: $(received) received, $(stored) stored"
got=$(($(received) - before))
lost=$((100000 - got))
dropped=$(metric 'ctrail_syslog_dropped_total{reason="socket_buffer"}')
note "flood: 100000 sent in $(((t1 - t0) / 1000)) ms ($((100000000000 / (t1 - t0 + 1)))/s)," \
    "$got received, $dropped dropped by the kernel (counted), $((lost / 1000)).$((lost % 1000 / 100)) % lost"
[ "$(stored)" = "$(received)" ] || fail "flood: $(received) received but $(stored) stored"
[ "$got" -ge 99000 ] || fail "flood: $got of 100000 datagrams received, over 1 % lost"
[ "$(events --kind 'syslog.user.info' | grep -c tok-flood-)" = "$got" ] ||
    fail "flood: stored flood lines differ from the received count"
curl -sf "$URL/healthz" >/dev/null || fail "serve does not answer after the flood"
expect_once tok-udp5424 "after the flood"
expect_once tok-utf8 "after the flood"

# ---- SIGTERM with lines in flight: all stored; the half frame too ----
SPID=$SPID python3 - "$TCP" <<'EOF' || fail "sender failed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(b"<13>Nov 25 06:24:27 vm stop: tok-stop-%d\n" % i for i in range(2000)))
# not closed: serve stops with this connection open
import os
os.kill(int(os.environ["SPID"]), 15)
s.recv(1)  # until serve closes it
EOF
wait "$SPID"
rc=$?
untrack "$SPID"
[ $rc = 0 ] || fail "serve exited with $rc: $(tail -3 "$SLOG")"
exec 4>&-
n=$(events | grep -c 'tok-stop-')
[ "$n" = 2000 ] || fail "stop: $n of 2000 lines sent before SIGTERM were stored"
j=$(events | jq -c 'select(.raw | contains("tok-half")) | {kind, raw}')
[ "$j" = '{"kind":"syslog.user.notice.partial","raw":"<13>Nov 25 06:24:27 vm half: tok-half only this much"}' ] ||
    fail "half-open peer's frame at stop: $j"
test ! -e "$TMP/log.sock" || fail "the unix socket was left behind"
"$CTRAIL" --data "$DATA" verify >/dev/null || fail "verify after the run"

if [ "$FAILS" -gt 0 ]; then
    echo "syslog_recv: $FAILS failures (serve log: $SLOG)"
    exit 1
fi
echo "syslog_recv: all checks passed"
