#!/usr/bin/python3
"""closewatch.py — how a real server closes a connection it finds idle.

    closewatch.py PROTO HOST PORT CONNS STAGGER_MS TIMEOUT_S

PROTO is redis, memcached, http, echo, silent or postgres.  Opens CONNS
connections, the Nth at (N-1)*STAGGER_MS ms, one thread each.  Each does one
hello so the session is fully set up (redis PING -> +PONG, memcached version ->
VERSION, http GET / -> 200 with a Content-Length body, echo "hello" -> the same
line back, silent sends "hello" and expects nothing, postgres a v3 startup as
user "hc" -> ReadyForQuery), then stays idle and collects what the server sends
until it closes the connection or TIMEOUT_S passed since the hello.  Before
connecting it notes the pids holding a LISTEN socket on PORT, to tell whether
the listening process survived the close (ncat -i exits; the others keep on).

stdout, one logfmt line, exit 0:
    close=FIN message=none after_ms=1003..1987 listener=alive conns=6
close: the kinds of close seen (FIN, RST, another errno name, none = timed
out); message: what came before the close ("none", postgres errors as
"SEVERITY: MESSAGE", else the bytes escaped, cut at 60 characters), with
" (varies)" if connections disagree; after_ms: min..max from the end of the
hello to the close; listener: alive, exited or unknown.
A failed hello ("closewatch: conn N: hello: REASON" on stderr, N from 1) or a
connection still open after TIMEOUT_S: the line is printed all the same, exit 1.
Usage errors and "closewatch: connect HOST:PORT: ERRNAME" exit 2.
"""
import glob
import os
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../clients"))
from clientlib import args, connect, errname  # noqa: E402

USAGE = ("closewatch.py redis|memcached|http|echo|silent|postgres"
         " HOST PORT CONNS STAGGER_MS TIMEOUT_S")
PG_STARTUP = b"user\0hc\0database\0postgres\0\0"
MESSAGE_MAX = 60


class HelloFailed(Exception):
    """The hello did not complete; the argument is the reason to print."""


class Stream:
    """A socket with a receive buffer: the hello takes from it, what is left is the message."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        """Appends one recv() to the buffer; EOF or an error raise HelloFailed."""
        try:
            data = self.sock.recv(4096)
        except OSError as exc:
            raise HelloFailed(errname(exc) if exc.errno else "timeout") from None
        if not data:
            raise HelloFailed("EOF")
        self.buf += data

    def take(self, n):
        """Exactly n bytes, reading as needed."""
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until(self, marker):
        """The bytes up to and including marker, reading as needed."""
        while marker not in self.buf:
            self.fill()
        return self.take(self.buf.index(marker) + len(marker))


def hello_http(stream):
    """GET / -> status 200, then exactly Content-Length body bytes."""
    stream.sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, *lines = stream.until(b"\r\n\r\n").split(b"\r\n")
    if status.split(b" ")[1:2] != [b"200"]:
        raise HelloFailed(f"status {status.decode('latin-1')!r}")
    lengths = [ln.split(b":", 1)[1] for ln in lines if ln.lower().startswith(b"content-length:")]
    if not lengths:
        raise HelloFailed("no Content-Length")
    stream.take(int(lengths[0]))


def pg_error(body):
    """An ErrorResponse/NoticeResponse body as "SEVERITY: MESSAGE"."""
    fields = {f[:1]: f[1:].decode("utf-8", "replace") for f in body.split(b"\0") if f}
    return f"{fields.get(b'S', fields.get(b'V', '?'))}: {fields.get(b'M', '?')}"


def hello_postgres(stream):
    """A v3 startup message, trust auth, messages up to ReadyForQuery; 'E' fails."""
    stream.sock.sendall(struct.pack("!ii", 8 + len(PG_STARTUP), 196608) + PG_STARTUP)
    while True:
        kind = stream.take(1)
        body = stream.take(struct.unpack("!i", stream.take(4))[0] - 4)
        if kind == b"E":
            raise HelloFailed(pg_error(body))
        if kind == b"R" and body[:4] != b"\0\0\0\0":
            raise HelloFailed(f"authentication request {struct.unpack('!i', body[:4])[0]}")
        if kind == b"Z":
            return


def line_hello(req, check):
    """A hello that sends req and reads one line, which must pass check(line)."""
    def hello(stream):
        stream.sock.sendall(req)
        line = stream.until(b"\n")
        if not check(line):
            raise HelloFailed(f"unexpected reply {line[:MESSAGE_MAX]!r}")
    return hello


HELLOS = {
    "redis": line_hello(b"PING\r\n", lambda line: line == b"+PONG\r\n"),
    "memcached": line_hello(b"version\r\n", lambda line: line.startswith(b"VERSION ")),
    "http": hello_http,
    "echo": line_hello(b"hello\n", lambda line: line == b"hello\n"),
    "silent": lambda stream: stream.sock.sendall(b"hello\n"),
    "postgres": hello_postgres,
}


def describe(proto, data):
    """What the server sent before closing: "none", postgres errors as "SEVERITY: MESSAGE",
    else data decoded latin-1, non-printables escaped, cut at MESSAGE_MAX characters."""
    if not data:
        return "none"
    if proto == "postgres":
        texts, rest = [], data
        while len(rest) >= 5 and rest[:1] in (b"E", b"N"):
            end = 1 + struct.unpack("!i", rest[1:5])[0]
            if end < 5:
                break
            texts.append(pg_error(rest[5:end]))
            rest = rest[end:]
        if texts and not rest:
            return "; ".join(texts)
    text = data.decode("latin-1").encode("unicode_escape").decode("ascii")
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 3] + "..."


def watch(proto, sock, timeout, results, i):
    """Hello, then waits for the close; results[i] = (kind, ms or None, description) or an
    ("hello", reason) pair.  kind: FIN, RST, another errno name, or "none" (timed out)."""
    stream = Stream(sock)
    sock.settimeout(timeout)
    try:
        HELLOS[proto](stream)
    except (HelloFailed, OSError, ValueError) as exc:
        results[i] = ("hello", errname(exc) if isinstance(exc, OSError) else str(exc))
        return
    t0 = time.monotonic()
    data, chunk = stream.buf, b"-"
    try:
        while chunk and (left := t0 + timeout - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(4096)
            data += chunk
        kind = "none" if chunk else "FIN"
    except TimeoutError:
        kind = "none"
    except ConnectionResetError:
        kind = "RST"
    except OSError as exc:
        kind = errname(exc)
    ms = None if kind == "none" else int((time.monotonic() - t0) * 1000)
    sock.close()
    results[i] = (kind, ms, describe(proto, data))


def listeners(port):
    """The pids of every process holding a LISTEN socket on TCP port (v4 or v6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            rows = [line.split() for line in f.readlines()[1:]]
        inodes |= {f"socket:[{r[9]}]" for r in rows
                   if r[3] == "0A" and int(r[1].rsplit(":", 1)[1], 16) == port}
    pids = set()
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                pids.add(int(fd.split("/")[2]))
        except (PermissionError, FileNotFoundError):
            pass
    return pids


def logfmt(value):
    """value as a logfmt value: double-quoted (with \\ and " escaped) if it needs it."""
    if value and not any(c in value for c in ' "=\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def summary(results, pids, conns):
    """The stdout line for the results of all connections."""
    done = [r for r in results if r[0] != "hello"]
    kinds = sorted({r[0] for r in done}) or ["none"]
    texts = [r[2] for r in done]
    message = texts[0] if texts else "none"
    if any(t != message for t in texts):
        message += " (varies)"
    times = [r[1] for r in done if r[1] is not None]
    after = f"{min(times)}..{max(times)}" if times else "none"
    listener = "unknown" if not pids else \
        "alive" if all(os.path.exists(f"/proc/{pid}") for pid in pids) else "exited"
    return (f"close={','.join(kinds)} message={logfmt(message)} after_ms={after} "
            f"listener={listener} conns={conns}")


def main():
    argv = args(USAGE, 7)
    try:
        numbers = int(argv[2]), int(argv[3]), int(argv[4]), float(argv[5])
    except ValueError:
        numbers = None
    if argv[0] not in HELLOS or numbers is None:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    (proto, host), (port, conns, stagger_ms, timeout) = argv[:2], numbers
    pids = listeners(port)
    results, threads, start = [None] * conns, [], time.monotonic()
    for i in range(conns):
        time.sleep(max(start + i * stagger_ms / 1000 - time.monotonic(), 0))
        sock = connect("closewatch", host, port)
        threads.append(threading.Thread(target=watch, args=(proto, sock, timeout, results, i),
                                        daemon=True))
        threads[-1].start()
    for thread in threads:
        thread.join()
    print(summary(results, pids, conns), flush=True)
    for i, result in enumerate(results):
        if result[0] == "hello":
            print(f"closewatch: conn {i + 1}: hello: {result[1]}", file=sys.stderr)
    return 1 if any(result[0] in ("hello", "none") for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
