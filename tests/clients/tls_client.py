#!/usr/bin/python3
"""tls_client.py — a TLS client (Python `ssl`, no certificate verification)
with a pooled connection, for the "TLS is left alone" test.

    tls_client.py HOST PORT [SLEEP_S]

Handshake, send "tls req 1\\n", read the echo, sleep SLEEP_S (default 3),
send "tls req 2\\n", read the echo.  Output on stdout:
    handshake ok TLSv1.3
    round 1: ok
    ok                                  (exit 0: both echoes came back)
or, at the first failure, a line
    result: FAIL round N OP REASON      (exit 1)
where OP is handshake/send/recv and REASON is EOF (recv returned b'', i.e.
the peer's close_notify or a clean TCP EOF), mismatch, or the exception
class plus its SSL reason / errno name, e.g. SSLEOFError(UNEXPECTED_EOF_WHILE_READING),
BrokenPipeError(EPIPE), ConnectionResetError(ECONNRESET).
The line is deterministic, so two runs can be compared verbatim.
"""
import errno
import os
import ssl
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientlib import args, connect, exchange  # noqa: E402


def reason(exc):
    name = type(exc).__name__
    if isinstance(exc, ssl.SSLError):
        return f"{name}({exc.reason})" if exc.reason else name
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name}({errno.errorcode.get(exc.errno, exc.errno)})"
    return name


def fail(rnd, op, why):
    print(f"result: FAIL round {rnd} {op} {why}", flush=True)
    sys.exit(1)


def main():
    argv = args("tls_client.py HOST PORT [SLEEP_S]", 3, 4)
    host, port = argv[0], int(argv[1])
    sleep_s = float(argv[2]) if len(argv) == 3 else 3.0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = connect("tls_client.py", host, port, reason)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError) as exc:
        fail(0, "handshake", reason(exc))
    print(f"handshake ok {tls.version()}", flush=True)

    for rnd in (1, 2):
        if rnd == 2:
            time.sleep(sleep_s)
        req = f"tls req {rnd}\n".encode()
        resp = exchange(tls, req, lambda op, why: fail(rnd, op, why), reason, ("send", "recv"))
        if resp != req:
            fail(rnd, "recv", "mismatch")
        print(f"round {rnd}: ok", flush=True)
    tls.close()
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
