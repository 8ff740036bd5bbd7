/*
 * reqresp — a request/response client on one pooled TCP connection.
 *
 *   reqresp HOST PORT ROUNDS GAP_MS [INITIAL_MS]
 *
 * Connects once, optionally sleeps INITIAL_MS, then ROUNDS times: writes the
 * line "req N\n" (N = 1..ROUNDS) in one write(), reads until a full line has
 * come back, compares it with what was sent, and sleeps GAP_MS between
 * rounds (not after the last one).
 *
 * stdout: one line per round ("round N: ok"), then "ok" when every echo
 * matched; exit 0.
 * On failure: one line on stderr "reqresp: round N: OP: REASON" where REASON
 * is EOF (read returned 0), an errno name (EPIPE, ECONNRESET, ...) or
 * "mismatch"; exit 1.  Usage and connect errors exit 2.
 *
 * SIGPIPE is ignored, so that a write into a dead connection is reported as
 * EPIPE (a reason the tests can assert) instead of killing the process
 * silently.  Nothing is printed on stderr on success.
 */
#include "client.h"

#include <signal.h>

int main(int argc, char **argv)
{
    long rounds, gap_ms, initial_ms = 0, r;
    int fd;

    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT ROUNDS GAP_MS [INITIAL_MS]\n", argv[0]);
        return 2;
    }
    rounds = parse_num("reqresp", argv[3], "ROUNDS");
    gap_ms = parse_num("reqresp", argv[4], "GAP_MS");
    if (argc == 6)
        initial_ms = parse_num("reqresp", argv[5], "INITIAL_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial("reqresp", argv[1], argv[2]);
    if (fd < 0)
        return 2;
    sleep_ms(initial_ms);

    for (r = 1; r <= rounds; r++) {
        char req[64], resp[256];
        const char *why;
        size_t len, got;
        int rc;

        if (r > 1)
            sleep_ms(gap_ms);

        len = (size_t)snprintf(req, sizeof req, "req %ld\n", r);
        why = write_reason(fd, req, len);
        if (why) {
            fprintf(stderr, "reqresp: round %ld: write: %s\n", r, why);
            return 1;
        }

        /* read until a newline arrives (the echo of our line) */
        rc = read_line(fd, resp, sizeof resp, &got);
        if (rc <= 0) {
            fprintf(stderr, "reqresp: round %ld: read: %s\n", r, rc < 0 ? errname(errno) : "EOF");
            return 1;
        }
        if (resp[got - 1] != '\n') {
            fprintf(stderr, "reqresp: round %ld: read: mismatch (line too long)\n", r);
            return 1;
        }
        if (got != len || memcmp(resp, req, len) != 0) {
            resp[strcspn(resp, "\n")] = '\0';
            fprintf(stderr, "reqresp: round %ld: read: mismatch (sent 'req %ld', got '%s')\n", r, r, resp);
            return 1;
        }
        printf("round %ld: ok\n", r);
    }
    close(fd);
    printf("ok\n");
    return 0;
}
