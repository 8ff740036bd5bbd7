#!/usr/bin/python3
"""shutwr_server.py — the seed's second server (server.go), made observable.

    shutwr_server.py PORT LOGFILE [SHUT_AFTER_S]

Listens on 127.0.0.1:PORT.  Every accepted connection is numbered (1, 2, ...)
and SHUT_AFTER_S (default 1) seconds after the accept the server calls
shutdown(SHUT_WR) on it but keeps reading.  Each line received is logged;
it is echoed back only on a connection whose write side is still open, so a
request that arrives on a shut-down connection is received but never
answered.  Log lines (LOGFILE, line-buffered):
    conn N accepted
    conn N shutdown(SHUT_WR)
    conn N recv LINE
    conn N replied LINE  |  conn N no reply (write side shut) LINE
    conn N EOF           |  conn N recv error ERRNO
"""
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testserver import log_recv, say, serve, setup  # noqa: E402

port = setup(sys.argv)
shut_after = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0


def handle(conn, cid):
    lock = threading.Lock()
    state = {"shut": False, "closed": False}

    def shut_later():
        time.sleep(shut_after)
        with lock:
            if state["closed"]:
                return
            try:
                conn.shutdown(socket.SHUT_WR)
                state["shut"] = True
                say(f"conn {cid} shutdown(SHUT_WR)")
            except OSError as exc:
                say(f"conn {cid} shutdown failed {exc}")

    threading.Thread(target=shut_later, daemon=True).start()
    buf = b""
    while True:
        try:
            data = conn.recv(4096)
        except OSError as exc:
            say(f"conn {cid} recv error {exc}")
            break
        if not data:
            say(f"conn {cid} EOF")
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = log_recv(cid, line)
            with lock:
                if state["shut"]:
                    say(f"conn {cid} no reply (write side shut) {text}")
                    continue
                try:
                    conn.sendall(line + b"\n")
                    say(f"conn {cid} replied {text}")
                except OSError as exc:
                    say(f"conn {cid} reply failed {exc}")
    with lock:
        state["closed"] = True
        conn.close()


serve(port, handle)
