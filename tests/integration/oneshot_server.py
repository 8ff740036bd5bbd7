#!/usr/bin/python3
"""oneshot_server.py — answers one request per connection, then closes at once.

    oneshot_server.py PORT LOGFILE

Listens on 127.0.0.1:PORT.  Every accepted connection is numbered (1, 2, ...);
the server reads one line, answers "ok:LINE\\n" and closes the connection
immediately (no idle wait).  Every connection and every byte received is
logged (LOGFILE, line-buffered), so a test can tell on which connection, if
any, a request arrived:
    conn N accepted
    conn N recv LINE      conn N replied ok:LINE
    conn N extra BYTES    (anything received after the first line, repr)
    conn N EOF            conn N error EXC
    conn N closed
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testserver import log_recv, say, serve, setup  # noqa: E402

port = setup(sys.argv)


def handle(conn, cid):
    buf = b""
    try:
        while b"\n" not in buf:
            data = conn.recv(4096)
            if not data:
                say(f"conn {cid} EOF")
                break
            buf += data
        if b"\n" in buf:
            line, rest = buf.split(b"\n", 1)
            text = log_recv(cid, line)
            if rest:
                say(f"conn {cid} extra {rest!r}")
            conn.sendall(b"ok:" + line + b"\n")
            say(f"conn {cid} replied ok:{text}")
    except OSError as exc:
        say(f"conn {cid} error {exc}")
    conn.close()
    say(f"conn {cid} closed")


serve(port, handle)
