"""h2_client.py — an HTTP/2 prior-knowledge (h2c) client on one connection, built
on python3-h2: sends the connection preface and a GET, reads the response,
idles, sends a second GET on the same connection (stream 3), reads it.
Frames h2 owes the server (SETTINGS ACK, WINDOW_UPDATE) go out with the next
request, in the same write.

    h2_client.py HOST PORT PATH [ROUNDS [IDLE_MS]]

ROUNDS (default 2) requests, IDLE_MS (default 3500) apart, every one on the
same connection (streams 1, 3, 5, ...).  stdout: "round N: stream S: STATUS
BODY" per round, then "ok"; exit 0.  On failure one line on stderr,
"h2_client: round N: WHAT", where WHAT is "connection lost (EOF)",
"connection lost (ECONNRESET)", "connection lost (EPIPE)", "GOAWAY
error_code=CODE" (the server refused what it got), "stream S reset
error_code=CODE" or "protocol error: ..." (bytes that are no HTTP/2);
exit 1.  A read waits at most 5 s ("timeout", exit 3).  Usage or connect
errors exit 2.
"""
import os
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients"))
from clientlib import args, connect, errname  # noqa: E402

PROG = "h2_client"


def main():
    argv = args("h2_client.py HOST PORT PATH [ROUNDS [IDLE_MS]]", 4, 5, 6)
    host, port, path = argv[0], int(argv[1]), argv[2]
    rounds = int(argv[3]) if len(argv) > 3 else 2
    idle = int(argv[4]) if len(argv) > 4 else 3500
    sock = connect(PROG, host, port)
    sock.settimeout(5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    pending = conn.data_to_send()  # the preface goes out with the first request
    rnd = 0

    def fail(what, rc=1):
        print(f"{PROG}: round {rnd}: {what}", file=sys.stderr)
        sys.exit(rc)

    for rnd in range(1, rounds + 1):
        if rnd > 1:
            time.sleep(idle / 1000)
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                   (":authority", f"{host}:{port}")], end_stream=True)
        try:
            sock.sendall(pending + conn.data_to_send())
        except OSError as exc:
            fail(f"connection lost ({errname(exc)})")
        pending = b""
        status, body, done = None, b"", False
        while not done:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                fail("timeout", 3)
            except OSError as exc:
                fail(f"connection lost ({errname(exc)})")
            if not data:
                fail("connection lost (EOF)")
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                fail(f"protocol error: {type(exc).__name__}: {exc}")
            for ev in events:
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == stream:
                    status = dict(ev.headers).get(b":status", b"?").decode()
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == stream:
                    body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, stream)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == stream:
                    done = True
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == stream:
                    fail(f"stream {stream} reset error_code={int(ev.error_code)}")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    fail(f"GOAWAY error_code={int(ev.error_code)}")
            # What h2 owes the server (SETTINGS ACK, WINDOW_UPDATE) goes out
            # with the next request, in one write, as clients that batch
            # their writes do: so that request is the first write after a read.
            pending += conn.data_to_send()
        print(f"round {rnd}: stream {stream}: {status} {body.decode(errors='replace').strip()}", flush=True)
    print("ok")


if __name__ == "__main__":
    main()
