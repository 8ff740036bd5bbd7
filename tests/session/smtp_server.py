"""smtp_server.py — an aiosmtpd (python3-aiosmtpd) SMTP server on HOST:PORT that
closes a connection idle for TIMEOUT seconds (aiosmtpd's own `timeout`: it
closes the transport, FIN, nothing said first), for tests/session/t_smtp.sh.

    smtp_server.py HOST PORT TIMEOUT

stdout, one line per event, flushed: "conn N: connected from PORT",
"conn N: EHLO NAME", "conn N: MAIL FROM ADDR", "conn N: RCPT TO ADDR",
"conn N: closed"; "listening" once the socket listens.  Mail is accepted
and dropped.  Runs until killed.
"""
import asyncio
import itertools
import sys

from aiosmtpd.smtp import SMTP

COUNTER = itertools.count(1)


def say(line):
    print(line, flush=True)


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        say(f"conn {server.conn_no}: EHLO {hostname}")
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        say(f"conn {server.conn_no}: MAIL FROM {address}")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        say(f"conn {server.conn_no}: RCPT TO {address}")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted for delivery"


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        self.conn_no = next(COUNTER)
        say(f"conn {self.conn_no}: connected from {transport.get_extra_info('peername')[1]}")
        super().connection_made(transport)

    def connection_lost(self, exc):
        say(f"conn {self.conn_no}: closed")
        super().connection_lost(exc)


async def main(host, port, timeout):
    handler = Handler()
    server = await asyncio.get_running_loop().create_server(
        lambda: CountingSMTP(handler, hostname="hc-test", timeout=timeout), host, port)
    say("listening")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: smtp_server.py HOST PORT TIMEOUT", file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
