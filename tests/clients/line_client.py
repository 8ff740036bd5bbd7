#!/usr/bin/python3
"""line_client.py — one request on a connection that sat idle first.

    line_client.py HOST PORT WAIT_MS LINE

Connects, sleeps WAIT_MS, sends "LINE\\n" with one sendall(), then reads
until EOF or an error and reports everything it got, so that two runs can be
compared byte for byte:
    sent: 'LINE\\n'                  (or "send: ERRNAME")
    got: b'...'                      (all bytes read, Python repr)
    end: EOF | ERRNAME               (how reading stopped)
Exit 0 when it ran through (whatever the server said); 2 on usage or connect
errors.  Python ignores SIGPIPE, so a failed send shows up as EPIPE.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientlib import args, connect, errname  # noqa: E402


def main():
    argv = args("line_client.py HOST PORT WAIT_MS LINE", 5)
    host, port, wait_ms, line = argv[0], int(argv[1]), int(argv[2]), argv[3]
    sock = connect("line_client.py", host, port)
    time.sleep(wait_ms / 1000)
    req = (line + "\n").encode()
    try:
        sock.sendall(req)
        print(f"sent: {req!r}", flush=True)
    except OSError as exc:
        print(f"send: {errname(exc)}", flush=True)
    got = b""
    while True:
        try:
            data = sock.recv(4096)
        except OSError as exc:
            end = errname(exc)
            break
        if not data:
            end = "EOF"
            break
        got += data
    print(f"got: {got!r}", flush=True)
    print(f"end: {end}", flush=True)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
