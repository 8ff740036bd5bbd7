#!/usr/bin/python3
"""alias_client.py — a pooled connection whose fd the program duplicated.

    alias_client.py HOW HOST PORT GAP_MS

HOW: dup (os.dup), dup2 (os.dup2 onto a fresh number), fdup
(fcntl F_DUPFD_CLOEXEC).  Connects, makes one request ("req 1\\n", echoed),
duplicates the fd HOW says and keeps the copy open, sleeps GAP_MS, then makes
the second request on the original fd.  Swapping one of two numbers would
leave the other on the dead connection, so halfclose leaves a duplicated
socket alone: the second request fails exactly as without it.

stdout: "round 1: ok", then "round 2: ok" or "round 2: EOF" / an errno name;
exit 0 either way (the test compares the output).  Usage errors exit 2.
"""
import fcntl
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientlib import args, connect, errname, exchange  # noqa: E402


class Failed(Exception):
    """A request failed; the argument is why (EOF or an errno name)."""


def raise_failed(_op, why):
    """exchange()'s failure callback."""
    raise Failed(why)


def duplicate(how, fd):
    """A second fd for the socket at fd, made the way how names."""
    if how == "dup":
        return os.dup(fd)
    if how == "dup2":
        spare = os.open("/dev/null", os.O_RDONLY)
        return os.dup2(fd, spare)
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0)


def main():
    how, host, port, gap_ms = args("alias_client.py dup|dup2|fdup HOST PORT GAP_MS", 5)
    if how not in ("dup", "dup2", "fdup"):
        print("usage: alias_client.py dup|dup2|fdup HOST PORT GAP_MS", file=sys.stderr)
        return 2
    sock = connect("alias_client.py", host, int(port))
    for rnd in (1, 2):
        if rnd == 2:
            copy = duplicate(how, sock.fileno())
            time.sleep(int(gap_ms) / 1000)
        req = f"req {rnd}\n".encode()
        try:
            resp = exchange(sock, req, raise_failed, errname)
            print(f"round {rnd}: {'ok' if resp == req else 'mismatch'}", flush=True)
        except Failed as exc:
            print(f"round {rnd}: {exc}", flush=True)
    os.close(copy)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
