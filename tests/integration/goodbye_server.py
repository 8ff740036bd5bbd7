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
import socket
import sys
import threading
import time

port = int(sys.argv[1])
log = open(sys.argv[2], "a", buffering=1)
bye_after = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
log_lock = threading.Lock()


def say(msg):
    with log_lock:
        log.write(msg + "\n")


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
            text = line.decode(errors="replace")
            say(f"conn {cid} recv {text}")
            conn.sendall(b"echo:" + line + b"\n")
            say(f"conn {cid} replied echo:{text}")
        elif not eof:
            conn.sendall(b"BYE\n")
            say(f"conn {cid} sent BYE")
    except OSError as exc:
        say(f"conn {cid} error {exc}")
    conn.close()
    say(f"conn {cid} closed")


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    cid = 0
    while True:
        conn, _ = srv.accept()
        cid += 1
        say(f"conn {cid} accepted")
        threading.Thread(target=handle, args=(conn, cid), daemon=True).start()


main()
