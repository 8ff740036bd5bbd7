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
import socket
import sys
import threading

port = int(sys.argv[1])
log = open(sys.argv[2], "a", buffering=1)
log_lock = threading.Lock()


def say(msg):
    with log_lock:
        log.write(msg + "\n")


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
            text = line.decode(errors="replace")
            say(f"conn {cid} recv {text}")
            if rest:
                say(f"conn {cid} extra {rest!r}")
            conn.sendall(b"ok:" + line + b"\n")
            say(f"conn {cid} replied ok:{text}")
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
