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
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientlib import args, connect, errname, exchange  # noqa: E402


def fail(rnd, op, why):
    print(f"reqresp.py: round {rnd}: {op}: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    argv = args("reqresp.py HOST PORT ROUNDS GAP_MS [INITIAL_MS]", 5, 6)
    host, port = argv[0], int(argv[1])
    rounds, gap_ms = int(argv[2]), int(argv[3])
    initial_ms = int(argv[4]) if len(argv) == 5 else 0
    sock = connect("reqresp.py", host, port)
    time.sleep(initial_ms / 1000)

    for rnd in range(1, rounds + 1):
        if rnd > 1:
            time.sleep(gap_ms / 1000)
        req = f"req {rnd}\n".encode()
        resp = exchange(sock, req, lambda op, why: fail(rnd, op, why), errname)
        if resp != req:
            fail(rnd, "read", f"mismatch (sent {req!r}, got {resp!r})")
        print(f"round {rnd}: ok", flush=True)
    sock.close()
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
