/*
 * quick_reuse — reuses a connection right after its reply: the connection
 * dies while in active use, not while pooled.
 *
 *   quick_reuse HOST PORT [PAUSE_MS]
 *
 * Connects, writes "a\n", reads the reply line, sleeps PAUSE_MS (default
 * 100), writes "b\n" in one write(), then reads until a full line, EOF or an
 * error.  It reports every step on stdout (line-buffered), so that a test can
 * assert what happened:
 *     write a: 2
 *     read a: 5 "ok:a"
 *     write b: 2              |  write b: -1 EPIPE
 *     read b: 5 "ok:b"        |  read b: EOF  |  read b: -1 ECONNRESET
 *     done
 * Exit 0 when it ran through, whatever the results; 2 on usage or connect
 * errors.
 *
 * SIGPIPE is deliberately left at its default disposition: a write that
 * raised it would kill the process (exit status 128+13), which the test
 * would see.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <netdb.h>
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
        fprintf(stderr, "quick_reuse: resolve %s:%s: %s\n", host, port, gai_strerror(rc));
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
        fprintf(stderr, "quick_reuse: connect %s:%s: %s\n", host, port, errname(e));
    return fd;
}

static void do_write(int fd, const char *what, const char *line)
{
    ssize_t n;
    do
        n = write(fd, line, strlen(line));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        printf("write %s: -1 %s\n", what, errname(errno));
    else
        printf("write %s: %zd\n", what, n);
}

/* Reads until a newline, EOF or an error; prints one line about it. */
static void do_read(int fd, const char *what)
{
    char buf[256];
    size_t got = 0;

    while (got == 0 || buf[got - 1] != '\n') {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            printf("read %s: -1 %s%s\n", what, errname(errno), got ? " (after partial data)" : "");
            return;
        }
        if (n == 0) {
            printf("read %s: EOF%s\n", what, got ? " (after partial data)" : "");
            return;
        }
        got += (size_t)n;
        if (got == sizeof buf - 1)
            break;
    }
    buf[got] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    printf("read %s: %zu \"%s\"\n", what, got, buf);
}

int main(int argc, char **argv)
{
    long pause_ms = 100;
    int fd;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT [PAUSE_MS]\n", argv[0]);
        return 2;
    }
    if (argc == 4)
        pause_ms = strtol(argv[3], NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial(argv[1], argv[2]);
    if (fd < 0)
        return 2;
    do_write(fd, "a", "a\n");
    do_read(fd, "a");
    sleep_ms(pause_ms);
    do_write(fd, "b", "b\n");
    do_read(fd, "b");
    close(fd);
    printf("done\n");
    return 0;
}
