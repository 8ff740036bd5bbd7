#!/usr/bin/python3
"""pyclient.py — Python clients of the real-server matrix, one pooled connection each.

    pyclient.py KIND HOST PORT ROUNDS GAP_MS
    pyclient.py --version KIND

KIND names the client and what it asks:
    socket-redis      the `socket` module, inline "PING"        -> "+PONG"
    socket-memcached  the `socket` module, "version"            -> "VERSION ..."
    http.client       http.client.HTTPConnection, GET /         -> 200
    urllib3           urllib3.PoolManager, GET /                -> 200
    redis-py          redis.Redis, PING                         -> True
    pymemcache        pymemcache Client, set once, get each round -> the value

Makes ROUNDS requests on one client object (so on one pooled connection, as
far as the library is concerned), GAP_MS apart.  stdout: "round N: ok RESULT"
per round, then "ok"; exit 0.  On the first failure one line on stderr,
"pyclient KIND: round N: REASON" (REASON: "EOF", an errno name, or the
library's exception as "Name: message"), exit 1.  Usage errors exit 2.
--version names the client and its version ("urllib3 1.26.12",
"python 3.11.2 socket").
"""
import http.client
import socket
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../clients"))
from clientlib import errname, exchange  # noqa: E402

USAGE = "pyclient.py KIND HOST PORT ROUNDS GAP_MS | --version KIND"


class Failed(Exception):
    """A request failed; the argument is the reason to print."""


def raise_failed(op, why):
    """exchange()'s failure callback: never returns."""
    raise Failed(f"{op}: {why}")


def socket_kind(request, check):
    """A factory for a raw-socket client: one connection, request(n) -> bytes, check(n, line).
    (An echo client is tests/clients/reqresp.py.)"""
    def factory(host, port):
        sock = socket.create_connection((host, port))

        def ask(n):
            line = exchange(sock, request(n), raise_failed, errname)
            if not check(n, line):
                raise Failed(f"read: unexpected reply {line!r}")
            return line.decode().strip()
        return ask
    return factory


def http_client(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=10)

    def ask(_n):
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise Failed(f"status {resp.status}")
        return f"{resp.status} {len(body)} bytes"
    return ask


def urllib3_client(host, port):
    import urllib3
    pool = urllib3.PoolManager(timeout=10)
    url = f"http://{host}:{port}/"

    def ask(_n):
        resp = pool.request("GET", url)
        if resp.status != 200:
            raise Failed(f"status {resp.status}")
        return f"{resp.status} {len(resp.data)} bytes"
    return ask


def redis_py(host, port):
    import redis
    client = redis.Redis(host=host, port=port, socket_timeout=10)

    def ask(_n):
        return str(client.ping())
    return ask


def pymemcache_client(host, port):
    from pymemcache.client.base import Client
    client = Client((host, port), timeout=10)
    client.set("halfclose", "pooled")

    def ask(_n):
        value = client.get("halfclose")
        if value != b"pooled":
            raise Failed(f"get: unexpected value {value!r}")
        return value.decode()
    return ask


KINDS = {
    "socket-redis": (socket_kind(lambda n: b"PING\r\n",
                                 lambda n, line: line == b"+PONG\r\n"), None),
    "socket-memcached": (socket_kind(lambda n: b"version\r\n",
                                     lambda n, line: line.startswith(b"VERSION ")), None),
    "http.client": (http_client, None),
    "urllib3": (urllib3_client, "urllib3"),
    "redis-py": (redis_py, "redis"),
    "pymemcache": (pymemcache_client, "pymemcache"),
}


def reason(exc):
    """How a failure is reported: Failed's text, an errno name, or "Name: message"."""
    if isinstance(exc, Failed):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return errname(exc)
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def version(kind):
    """KIND's client and its version: the library's, or Python's for the standard library."""
    module = KINDS[kind][1]
    if module is None:
        return f"python {sys.version.split()[0]} {kind.split('-')[0]}"
    return f"{kind} {__import__(module).__version__}"


def main():
    argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] == "--version" and argv[1] in KINDS:
        print(version(argv[1]))
        return 0
    if len(argv) != 5 or argv[0] not in KINDS:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    kind, host, port = argv[0], argv[1], int(argv[2])
    rounds, gap_ms = int(argv[3]), int(argv[4])
    rnd = 0
    try:
        ask = KINDS[kind][0](host, port)
        for rnd in range(1, rounds + 1):
            if rnd > 1:
                time.sleep(gap_ms / 1000)
            print(f"round {rnd}: ok {ask(rnd)}", flush=True)
    except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
        print(f"pyclient {kind}: round {rnd}: {reason(exc)}", file=sys.stderr, flush=True)
        return 1
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
