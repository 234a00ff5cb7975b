#!/usr/bin/env python3
"""tests/tools/fake_engine.py - a hostile Docker Engine API on a unix socket.

For what a real engine will not send (tests/integration/docker_hostile.sh).
Answers GET /version, /_ping, /containers/json (empty), /containers/ID/json
and /exec/ID/json (404, as for a container already removed), and GET
/events with a script, one step list per connection (the last one repeats):

  1: good event, a line that is not JSON, good, JSON that is no event,
     a 10 MiB event (valid), good, a 17 MiB line (dropped by the reader,
     which must resynchronise at its newline), good, then half an event
     and the connection is cut in the middle of a chunk
  2: the event that was cut (complete), good, then a never-ending line:
     bytes without a newline until the client goes away (or 64 MiB)
  3: good, then the stream stays open

Every good event is "container create" of its own container id, with
timeNano = now.  The ids of the good events are appended, one a line, to
SOCK.sent once written; request paths go to SOCK.requests.

usage: fake_engine.py SOCK
"""
import json
import os
import socket
import socketserver
import sys
import threading
import time

SOCK = sys.argv[1]
lock = threading.Lock()
conn_no = [0]
MIB = 1 << 20


def event(cid, extra=None):
    t = time.time_ns()
    attrs = {"image": "localhost/mini:1", "name": "fake-" + cid[:8]}
    if extra:
        attrs.update(extra)
    return json.dumps({
        "status": "create", "id": cid, "from": "localhost/mini:1",
        "Type": "container", "Action": "create",
        "Actor": {"ID": cid, "Attributes": attrs},
        "scope": "local", "time": t // 10**9, "timeNano": t,
    }, separators=(",", ":")).encode() + b"\n"


def cid_of(n):
    return ("%02x" % n) * 32


def note(path, line):
    with lock:
        with open(path, "a") as f:
            f.write(line + "\n")


class Handler(socketserver.StreamRequestHandler):
    def chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def good(self, n, extra=None):
        self.chunk(event(cid_of(n), extra))
        note(SOCK + ".sent", cid_of(n))

    def reply(self, status, body, ctype="application/json"):
        reason = {200: "OK", 404: "Not Found"}[status]
        self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                         % (status, reason.encode(), ctype.encode(), len(body)) + body)
        self.wfile.flush()

    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            parts = line.decode("latin-1").split()
            while True:  # headers
                h = self.rfile.readline()
                if not h or h in (b"\r\n", b"\n"):
                    break
            if len(parts) < 2:
                return
            path = parts[1]
            note(SOCK + ".requests", path)
            if path == "/_ping":
                self.reply(200, b"OK", "text/plain")
            elif path == "/version":
                self.reply(200, b'{"Version":"fake","ApiVersion":"1.41","MinAPIVersion":"1.24"}\n')
            elif "/containers/json" in path:
                self.reply(200, b"[]\n")
            elif "/events" in path:
                self.events()
                return
            else:
                self.reply(404, b'{"message":"No such container: fake"}\n')

    def events(self):
        with lock:
            conn_no[0] += 1
            n = conn_no[0]
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
        self.wfile.flush()
        try:
            if n == 1:
                self.good(1)
                self.chunk(b"this is not json {\n")
                self.good(2)
                self.chunk(b'{"Type":"container","Actor":{"ID":"x"}}\n')
                self.good(3, {"big": "b" * (10 * MIB)})
                self.good(4)
                for _ in range(17):  # one 17 MiB line, in 1 MiB chunks
                    self.chunk(b"y" * MIB)
                self.chunk(b"\n")
                self.good(5)
                half = event(cid_of(6))
                cut = half[: len(half) // 2]
                # a chunk announced longer than what is sent, then the cut
                self.wfile.write(b"%x\r\n" % len(half) + cut)
                self.wfile.flush()
                time.sleep(0.2)
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if n == 2:
                self.good(6)
                self.good(7)
                for _ in range(64):
                    self.chunk(b"z" * MIB)
                    time.sleep(0.01)
                return
            self.good(8 + n - 3)
            while True:
                time.sleep(1)
                self.chunk(b"\n")  # an empty line keeps the stream honest
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = Server(SOCK, Handler)
print("ready", flush=True)
srv.serve_forever()
