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
import errno
import socket
import sys
import time


def name(exc):
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def main():
    if len(sys.argv) != 5:
        print("usage: line_client.py HOST PORT WAIT_MS LINE", file=sys.stderr)
        return 2
    host, port, wait_ms, line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    try:
        sock = socket.create_connection((host, port))
    except OSError as exc:
        print(f"line_client.py: connect {host}:{port}: {name(exc)}", file=sys.stderr)
        return 2
    time.sleep(wait_ms / 1000)
    req = (line + "\n").encode()
    try:
        sock.sendall(req)
        print(f"sent: {req!r}", flush=True)
    except OSError as exc:
        print(f"send: {name(exc)}", flush=True)
    got = b""
    while True:
        try:
            data = sock.recv(4096)
        except OSError as exc:
            end = name(exc)
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
