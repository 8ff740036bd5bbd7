"""clientlib.py — helpers shared by the Python test clients (tests/clients/*.py).

A client imports it by its own directory, so that it works from any cwd:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from clientlib import ...
Nothing here prints except on the failures each contract names.
"""
import errno
import socket
import sys


def errname(exc):
    """The errno name of an OSError ("EPIPE"), else the exception's class name."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def args(usage, *counts):
    """sys.argv[1:] if len(sys.argv) is one of counts; else "usage: USAGE" on stderr and exit 2."""
    if len(sys.argv) not in counts:
        print(f"usage: {usage}", file=sys.stderr)
        sys.exit(2)
    return sys.argv[1:]


def connect(prog, host, port, reason=errname):
    """A TCP connection to host:port; else "PROG: connect HOST:PORT: reason(exc)" on stderr and exit 2."""
    try:
        return socket.create_connection((host, port))
    except OSError as exc:
        print(f"{prog}: connect {host}:{port}: {reason(exc)}", file=sys.stderr)
        sys.exit(2)


def exchange(sock, req, fail, reason, ops=("write", "read")):
    """Sends req with one sendall() and returns what comes back up to a newline (at most 256
    bytes); on an error or EOF calls fail(op, reason(exc) or "EOF"), which must not return."""
    send_op, recv_op = ops
    try:
        sock.sendall(req)
    except OSError as exc:
        fail(send_op, reason(exc))
    resp = b""
    while not resp.endswith(b"\n") and len(resp) < 256:
        try:
            data = sock.recv(256)
        except OSError as exc:
            fail(recv_op, reason(exc))
        if not data:
            fail(recv_op, "EOF")
        resp += data
    return resp
