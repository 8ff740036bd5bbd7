#!/usr/bin/python3
"""idle_server.py — a line server with an idle timer, for tests/race/run.sh.

    idle_server.py PORT LOGFILE MODE IDLE_MS

Listens on 127.0.0.1:PORT, any number of connections at once, one thread
(selectors), so that the idle timers fire on time whatever the load.  Every
line received is a request "REQ CLIENT SEQ"; it is logged and, while the
connection's write side is open, answered with "OK CLIENT SEQ".  A connection
on which no request arrived for IDLE_MS (counted from the accept or the last
request) is ended:
    MODE close      close(): a full close; whatever the client sends later is
                    answered with RST by the kernel and never read
    MODE halfclose  shutdown(SHUT_WR): the write side only; the server keeps
                    reading and logging requests (it can no longer answer)
                    until the client closes
Log lines (LOGFILE, line-buffered), each after the milliseconds since start:
    MS conn N accepted
    MS conn N recv REQ CLIENT SEQ      one per request received: a duplicate
                                       request shows as a second line
    MS conn N recv REQ CLIENT SEQ no-reply    the same, received after
                                       shutdown(SHUT_WR): not answered
    MS conn N idle-close | idle-shutdown
    MS conn N EOF | conn N recv-error ERRNO
"""
import errno
import os
import selectors
import socket
import sys
import time

port = int(sys.argv[1])
log = open(sys.argv[2], "a", buffering=1)
mode = sys.argv[3]
idle_s = int(sys.argv[4]) / 1000.0
if mode not in ("close", "halfclose"):
    sys.exit(f"idle_server.py: bad MODE {mode!r} (close or halfclose)")
t0 = time.monotonic()


def say(msg):
    log.write(f"{(time.monotonic() - t0) * 1000:.1f} {msg}\n")


class Conn:
    def __init__(self, sock, cid):
        self.sock, self.cid = sock, cid
        self.buf = b""
        self.deadline = time.monotonic() + idle_s  # None once shut down
        self.shut = False


sel = selectors.DefaultSelector()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(128)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ, None)
conns = {}
ncid = 0


def end(c):
    sel.unregister(c.sock)
    c.sock.close()
    del conns[c.cid]


def on_readable(c):
    try:
        data = c.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as exc:
        say(f"conn {c.cid} recv-error {errno.errorcode.get(exc.errno, exc.errno)}")
        end(c)
        return
    if not data:
        say(f"conn {c.cid} EOF")
        end(c)
        return
    c.buf += data
    while b"\n" in c.buf:
        line, c.buf = c.buf.split(b"\n", 1)
        text = line.decode(errors="replace")
        if c.shut:
            say(f"conn {c.cid} recv {text} no-reply")
            continue
        say(f"conn {c.cid} recv {text}")
        c.deadline = time.monotonic() + idle_s
        words = text.split()
        reply = ("OK " + " ".join(words[1:]) if words[:1] == ["REQ"] else "ERR " + text) + "\n"
        try:
            c.sock.sendall(reply.encode())  # a few bytes into an empty buffer: never blocks
        except OSError as exc:
            say(f"conn {c.cid} send-error {errno.errorcode.get(exc.errno, exc.errno)}")


def expire(now):
    for c in list(conns.values()):
        if c.deadline is None or c.deadline > now:
            continue
        if mode == "close":
            say(f"conn {c.cid} idle-close")
            end(c)
        else:
            c.sock.shutdown(socket.SHUT_WR)
            c.shut, c.deadline = True, None
            say(f"conn {c.cid} idle-shutdown")


while True:
    deadlines = [c.deadline for c in conns.values() if c.deadline is not None]
    timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
    for key, _ in sel.select(timeout):
        if key.data is None:
            try:
                sock, _ = srv.accept()
            except BlockingIOError:
                continue
            sock.setblocking(False)
            ncid += 1
            c = Conn(sock, ncid)
            conns[ncid] = c
            sel.register(sock, selectors.EVENT_READ, c)
            say(f"conn {ncid} accepted")
        elif key.data.cid in conns:
            on_readable(key.data)
    expire(time.monotonic())
