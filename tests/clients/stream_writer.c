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
#include "client.h"

#include <signal.h>

int main(int argc, char **argv)
{
    long lines, gap_ms, i;
    int fd, gai_err;

    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT LINES GAP_MS\n", argv[0]);
        return 2;
    }
    lines = parse_num("stream_writer", argv[3], "LINES");
    gap_ms = parse_num("stream_writer", argv[4], "GAP_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial_tcp(argv[1], argv[2], &gai_err);
    if (fd < 0 && gai_err != 0) {
        fprintf(stderr, "stream_writer: resolve: %s\n", gai_strerror(gai_err));
        return 2;
    }
    if (fd < 0) {
        fprintf(stderr, "stream_writer: connect: %s\n", errname(errno));
        return 2;
    }

    for (i = 1; i <= lines; i++) {
        char buf[64];
        const char *why;
        size_t len;

        if (i > 1)
            sleep_ms(gap_ms);
        len = (size_t)snprintf(buf, sizeof buf, "line %ld\n", i);
        why = write_reason(fd, buf, len);
        if (why) {
            fprintf(stderr, "stream_writer: line %ld: write: %s\n", i, why);
            return 1;
        }
        printf("wrote line %ld\n", i);
    }
    close(fd);
    return 0;
}
