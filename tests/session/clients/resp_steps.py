"""resp_steps.py — a raw RESP client (plain socket, no library) on one connection,
driven by steps on the command line, for the redis session tests.

    resp_steps.py HOST PORT STEP...

Steps, in order:
  send:CMD ARG...[;CMD ARG...]   the commands, each a multibulk (`*N\\r\\n$`),
                                 all in ONE write (a pipeline), then one reply
                                 read per command
  sleep:MS                       idle that long (nothing read, nothing written)
  other:CMD ARG...[;CMD ARG...]  the same on a fresh connection of its own,
                                 closed afterwards (say CLIENT LIST from
                                 outside); its replies are printed as
                                 "other< REPLY"
Arguments are split on spaces; there is no quoting.

stdout: for every command "> CMD ARG..." and then its reply "< REPLY", where
REPLY is +STATUS, -ERROR, :INT, "BULK", (nil), [ITEM, ...] for an array,
map{KEY: VALUE, ...} for a RESP3 map, set{...}, push[...], #t/#f, ,DOUBLE
(so a RESP3 reply can be told from a RESP2 one).  Errors from the server are
replies, not failures.

On failure two lines on stderr:
  "resp_steps: step N (CMD...): connection lost"    (EOF, ECONNRESET, EPIPE)
  "resp_steps: how: OP: REASON"                     (OP write or read; REASON
                                                     EOF, ECONNRESET, EPIPE, ...)
so that tests can compare the class (first line) and show the detail; exit 1.
A read waits at most 5 s: "...: timeout", exit 3.  A reply that is no RESP:
"...: protocol error: ...", exit 4.  Usage and connect errors exit 2.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients"))
from clientlib import connect, errname  # noqa: E402

PROG = "resp_steps"


class Lost(Exception):
    def __init__(self, op, reason):
        super().__init__(f"{op}: {reason}")
        self.op, self.reason = op, reason


class Garbled(Exception):
    pass


def encode(cmd):
    words = cmd.split()
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        b = w.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise
        except OSError as exc:
            raise Lost("read", errname(exc))
        if not data:
            raise Lost("read", "EOF")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode(errors="replace")

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data.decode(errors="replace")

    def reply(self):
        ln = self.line()
        if not ln:
            raise Garbled("empty line")
        t, rest = ln[0], ln[1:]
        if t in "+-:":
            return ln
        if t in "#,(":
            return ln
        if t == "_":
            return "(nil)"
        if t in "$=":
            n = int(rest)
            return "(nil)" if n < 0 else '"' + self.exact(n) + '"'
        if t in "*~>":
            n = int(rest)
            if n < 0:
                return "(nil)"
            items = [self.reply() for _ in range(n)]
            name = {"*": "", "~": "set", ">": "push"}[t]
            return name + "[" + ", ".join(items) + "]"
        if t == "%":
            n = int(rest)
            pairs = [f"{self.reply()}: {self.reply()}" for _ in range(n)]
            return "map{" + ", ".join(pairs) + "}"
        if t == "|":  # an attribute precedes the real reply
            for _ in range(2 * int(rest)):
                self.reply()
            return self.reply()
        raise Garbled(f"unexpected reply type {ln[:40]!r}")


def exchange(sock, reader, cmds, prefix=""):
    for c in cmds:
        print(f"{prefix}> {c}")
    try:
        sock.sendall(b"".join(encode(c) for c in cmds))
    except OSError as exc:
        raise Lost("write", errname(exc))
    for _ in cmds:
        print(f"{prefix}< {reader.reply()}", flush=True)


def main():
    if len(sys.argv) < 4:
        print("usage: resp_steps.py HOST PORT STEP...", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    sock = connect(PROG, host, port)
    sock.settimeout(5)
    reader = Reader(sock)
    for n, step in enumerate(sys.argv[3:], 1):
        kind, _, arg = step.partition(":")
        try:
            if kind == "sleep":
                time.sleep(int(arg) / 1000)
            elif kind == "send":
                exchange(sock, reader, arg.split(";"))
            elif kind == "other":
                o = connect(PROG, host, port)
                o.settimeout(5)
                exchange(o, Reader(o), arg.split(";"), "other")
                o.close()
            else:
                print(f"{PROG}: bad step {step!r}", file=sys.stderr)
                sys.exit(2)
        except Lost as exc:
            print(f"{PROG}: step {n} ({arg}): connection lost", file=sys.stderr)
            print(f"{PROG}: how: {exc}", file=sys.stderr)
            sys.exit(1)
        except socket.timeout:
            print(f"{PROG}: step {n} ({arg}): timeout", file=sys.stderr)
            sys.exit(3)
        except (Garbled, ValueError) as exc:
            print(f"{PROG}: step {n} ({arg}): protocol error: {exc}", file=sys.stderr)
            sys.exit(4)
    sock.close()
    print("ok")


if __name__ == "__main__":
    main()
