#!/usr/bin/python3
"""reqresp.py — the Python twin of reqresp.c (plain `socket` module).

    reqresp.py HOST PORT ROUNDS GAP_MS [INITIAL_MS]

Connects once, optionally sleeps INITIAL_MS, then ROUNDS times: sends
"req N\\n" with one sendall(), reads until a full line came back, compares,
and sleeps GAP_MS between rounds (not after the last one).

stdout: "round N: ok" per round and "ok" at the end; exit 0.
On failure one line on stderr "reqresp.py: round N: OP: REASON" with REASON
EOF, an errno name (EPIPE, ECONNRESET, ...) or "mismatch"; exit 1.
Usage and connect errors exit 2.  Python ignores SIGPIPE itself, so a write
into a dead connection shows up as EPIPE (BrokenPipeError).
"""
import errno
import socket
import sys
import time


def reason(exc):
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def fail(rnd, op, why):
    print(f"reqresp.py: round {rnd}: {op}: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    if len(sys.argv) not in (5, 6):
        print("usage: reqresp.py HOST PORT ROUNDS GAP_MS [INITIAL_MS]", file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    rounds, gap_ms = int(sys.argv[3]), int(sys.argv[4])
    initial_ms = int(sys.argv[5]) if len(sys.argv) == 6 else 0
    try:
        sock = socket.create_connection((host, port))
    except OSError as exc:
        print(f"reqresp.py: connect {host}:{port}: {reason(exc)}", file=sys.stderr)
        return 2
    time.sleep(initial_ms / 1000)

    for rnd in range(1, rounds + 1):
        if rnd > 1:
            time.sleep(gap_ms / 1000)
        req = f"req {rnd}\n".encode()
        try:
            sock.sendall(req)
        except OSError as exc:
            fail(rnd, "write", reason(exc))
        resp = b""
        while not resp.endswith(b"\n"):
            try:
                data = sock.recv(256)
            except OSError as exc:
                fail(rnd, "read", reason(exc))
            if not data:
                fail(rnd, "read", "EOF")
            resp += data
            if len(resp) > 255:
                break
        if resp != req:
            fail(rnd, "read", f"mismatch (sent {req!r}, got {resp!r})")
        print(f"round {rnd}: ok", flush=True)
    sock.close()
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
