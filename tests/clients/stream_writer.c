/*
 * stream_writer — a write-only stream client (syslog over TCP style).
 *
 *   stream_writer HOST PORT LINES GAP_MS
 *
 * Connects once and writes "line N\n" (N = 1..LINES), one write() per line,
 * sleeping GAP_MS between lines.  It never reads from the socket.
 *
 * stdout: "wrote line N" per line, flushed.  On a write error: one line on
 * stderr "stream_writer: line N: write: ERRNO_NAME" and exit 1.  SIGPIPE is
 * ignored so that the error is reported as EPIPE rather than a silent death.
 * Usage and connect errors exit 2.
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

static long parse_num(const char *s, const char *what)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "stream_writer: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct addrinfo hints, *res, *ai;
    long lines, gap_ms, i;
    int fd = -1, rc, e = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT LINES GAP_MS\n", argv[0]);
        return 2;
    }
    lines = parse_num(argv[3], "LINES");
    gap_ms = parse_num(argv[4], "GAP_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "stream_writer: resolve: %s\n", gai_strerror(rc));
        return 2;
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
    if (fd < 0) {
        fprintf(stderr, "stream_writer: connect: %s\n", errname(e));
        return 2;
    }

    for (i = 1; i <= lines; i++) {
        char buf[64];
        size_t len;
        ssize_t n;

        if (i > 1)
            sleep_ms(gap_ms);
        len = (size_t)snprintf(buf, sizeof buf, "line %ld\n", i);
        do
            n = write(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            fprintf(stderr, "stream_writer: line %ld: write: %s\n", i, errname(errno));
            return 1;
        }
        if ((size_t)n != len) {
            fprintf(stderr, "stream_writer: line %ld: write: short write (%zd of %zu)\n", i, n, len);
            return 1;
        }
        printf("wrote line %ld\n", i);
    }
    close(fd);
    return 0;
}
