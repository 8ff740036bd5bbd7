"""smtp_client.py — smtplib, unmodified: EHLO, IDLE_MS idle on the same
connection, then MAIL FROM (and RCPT TO, QUIT if that worked).

    smtp_client.py HOST PORT IDLE_MS

stdout: "greeting+ehlo: CODE", then "mail: CODE TEXT", "rcpt: CODE TEXT",
"ok"; exit 0.  A reply other than 250 to MAIL FROM (say the 220 greeting of
another connection) is printed as "mail: CODE TEXT" and exits 4.  On an
exception one line on stderr, "smtp_client: STEP: CLASS: MESSAGE"
(smtplib's: SMTPServerDisconnected "Connection unexpectedly closed", ...),
exit 1.
"""
import smtplib
import sys
import time


def main():
    if len(sys.argv) != 4:
        print("usage: smtp_client.py HOST PORT IDLE_MS", file=sys.stderr)
        sys.exit(2)
    host, port, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    step = "connect"
    try:
        s = smtplib.SMTP(host, port, timeout=5)
        step = "ehlo"
        code, _ = s.ehlo("client.example.org")
        print(f"greeting+ehlo: {code}", flush=True)
        time.sleep(idle / 1000)
        step = "mail"
        code, text = s.mail("sender@example.org")
        print(f"mail: {code} {text.decode(errors='replace')}", flush=True)
        if code != 250:
            sys.exit(4)
        step = "rcpt"
        code, text = s.rcpt("rcpt@example.org")
        print(f"rcpt: {code} {text.decode(errors='replace')}", flush=True)
        step = "quit"
        s.quit()
    except (smtplib.SMTPException, OSError) as exc:
        print(f"smtp_client: {step}: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
