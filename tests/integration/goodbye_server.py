#!/usr/bin/python3
"""goodbye_server.py — a server that says something before it closes.

    goodbye_server.py PORT LOGFILE [BYE_AFTER_S]

Listens on 127.0.0.1:PORT.  Every accepted connection is numbered (1, 2, ...).
If a full line arrives within BYE_AFTER_S (default 1) seconds of the accept,
the server answers "echo:LINE\\n" and closes; otherwise it sends "BYE\\n" and
closes (a goodbye, like a database's FATAL message or an HTTP 408).
Log lines (LOGFILE, line-buffered):
    conn N accepted
    conn N recv LINE      conn N replied echo:LINE
    conn N sent BYE
    conn N EOF            conn N error EXC
    conn N closed
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testserver import log_recv, say, serve, setup  # noqa: E402

port = setup(sys.argv)
bye_after = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0


def handle(conn, cid):
    deadline = time.monotonic() + bye_after
    buf = b""
    eof = False
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.settimeout(left)
            try:
                data = conn.recv(4096)
            except TimeoutError:
                break
            if not data:
                say(f"conn {cid} EOF")
                eof = True
                break
            buf += data
        conn.settimeout(None)
        if b"\n" in buf:
            line = buf.split(b"\n", 1)[0]
            text = log_recv(cid, line)
            conn.sendall(b"echo:" + line + b"\n")
            say(f"conn {cid} replied echo:{text}")
        elif not eof:
            conn.sendall(b"BYE\n")
            say(f"conn {cid} sent BYE")
    except OSError as exc:
        say(f"conn {cid} error {exc}")
    conn.close()
    say(f"conn {cid} closed")


serve(port, handle)
