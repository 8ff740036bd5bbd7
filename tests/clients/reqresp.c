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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "unknown-errno";
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc, e = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "reqresp: resolve %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "reqresp: connect %s:%s: %s\n", host, port, errname(e));
    return fd;
}

static long parse_num(const char *s, const char *what)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "reqresp: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long rounds, gap_ms, initial_ms = 0, r;
    int fd;

    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT ROUNDS GAP_MS [INITIAL_MS]\n", argv[0]);
        return 2;
    }
    rounds = parse_num(argv[3], "ROUNDS");
    gap_ms = parse_num(argv[4], "GAP_MS");
    if (argc == 6)
        initial_ms = parse_num(argv[5], "INITIAL_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial(argv[1], argv[2]);
    if (fd < 0)
        return 2;
    sleep_ms(initial_ms);

    for (r = 1; r <= rounds; r++) {
        char req[64], resp[256];
        size_t len, got = 0;
        ssize_t n;

        if (r > 1)
            sleep_ms(gap_ms);

        len = (size_t)snprintf(req, sizeof req, "req %ld\n", r);
        do
            n = write(fd, req, len);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            fprintf(stderr, "reqresp: round %ld: write: %s\n", r, errname(errno));
            return 1;
        }
        if ((size_t)n != len) {
            fprintf(stderr, "reqresp: round %ld: write: short write (%zd of %zu)\n", r, n, len);
            return 1;
        }

        /* read until a newline arrives (the echo of our line) */
        while (got == 0 || resp[got - 1] != '\n') {
            if (got == sizeof resp - 1) {
                fprintf(stderr, "reqresp: round %ld: read: mismatch (line too long)\n", r);
                return 1;
            }
            n = read(fd, resp + got, sizeof resp - 1 - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                fprintf(stderr, "reqresp: round %ld: read: %s\n", r, errname(errno));
                return 1;
            }
            if (n == 0) {
                fprintf(stderr, "reqresp: round %ld: read: EOF\n", r);
                return 1;
            }
            got += (size_t)n;
        }
        resp[got] = '\0';
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
