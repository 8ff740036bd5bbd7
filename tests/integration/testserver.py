"""testserver.py — what the Python test servers (tests/integration/*_server.py)
share: the PORT LOGFILE arguments, the log and the accept loop.

A server imports it by its own directory, so that it works from any cwd:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from testserver import log_recv, say, serve, setup
and supplies handle(conn, cid), the per-connection part.
"""
import socket
import threading

_log = None
_log_lock = threading.Lock()


def setup(argv):
    """Takes the PORT LOGFILE arguments every test server starts with: opens LOGFILE
    (argv[2]) for appending, line-buffered, as the file say() writes to; returns PORT."""
    global _log
    port = int(argv[1])
    _log = open(argv[2], "a", buffering=1)
    return port


def say(msg):
    """Appends the line msg to the log; safe from any thread."""
    with _log_lock:
        _log.write(msg + "\n")


def log_recv(cid, line):
    """Logs "conn CID recv TEXT" for line (bytes, no newline) and returns TEXT, decoded leniently."""
    text = line.decode(errors="replace")
    say(f"conn {cid} recv {text}")
    return text


def serve(port, handle):
    """Listens on 127.0.0.1:port for ever; numbers each accepted connection (1, 2, ...),
    logs "conn N accepted" and runs handle(conn, N) in a daemon thread."""
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
