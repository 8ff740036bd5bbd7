/*
 * client.h — helpers shared by the C test clients (tests/clients/NAME.c).
 *
 * Include it first, before any system header: it defines _GNU_SOURCE (for
 * strerrorname_np) and includes the headers its helpers need.  Every helper
 * is `static inline`, so a client that does not use one gets no
 * -Wunused-function warning.  Only parse_num() and dial() print (on stderr,
 * as their contracts say); every other message is the client's own.
 */
#ifndef HC_TESTS_CLIENT_H
#define HC_TESTS_CLIENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Sleeps MS milliseconds (nothing if MS <= 0), resuming after a signal. */
static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* The symbolic name of errno value E ("EPIPE"), or "unknown-errno". */
static inline const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "unknown-errno";
}

/* Parses S as a decimal number >= 0; otherwise prints "PROG: bad WHAT: S" on stderr and exits 2. */
static inline long parse_num(const char *prog, const char *s, const char *what)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
        exit(2);
    }
    return v;
}

/* Fills SIN with numeric IPv4 HOST and PORT (atoi); 0, or -1 if HOST is not an IPv4 address. */
static inline int ipv4_addr(struct sockaddr_in *sin, const char *host, const char *port)
{
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)atoi(port));
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* Connects a TCP socket to the first of HOST:PORT's addresses that accepts; the fd, or -1 with
 * *GAI_ERR = getaddrinfo's error (not resolved) or *GAI_ERR = 0 and errno = the last attempt's. */
static inline int dial_tcp(const char *host, const char *port, int *gai_err)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, e = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    *gai_err = getaddrinfo(host, port, &hints, &res);
    if (*gai_err != 0)
        return -1;
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
        errno = e;
    return fd;
}

/* dial_tcp(), saying why on failure: "PROG: resolve HOST:PORT: GAI-ERROR" or
 * "PROG: connect HOST:PORT: ERRNAME" on stderr; the fd or -1. */
static inline int dial(const char *prog, const char *host, const char *port)
{
    int gai_err, fd = dial_tcp(host, port, &gai_err);

    if (fd < 0 && gai_err != 0)
        fprintf(stderr, "%s: resolve %s:%s: %s\n", prog, host, port, gai_strerror(gai_err));
    else if (fd < 0)
        fprintf(stderr, "%s: connect %s:%s: %s\n", prog, host, port, errname(errno));
    return fd;
}

/* One write() of LEN bytes, repeated if a signal interrupts it; what write() returned (errno set on -1). */
static inline ssize_t write_once(int fd, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* write_once(); NULL if all LEN bytes went, else why not: an errno name or "short write (N of LEN)". */
static inline const char *write_reason(int fd, const void *buf, size_t len)
{
    static char why[64];
    ssize_t n = write_once(fd, buf, len);

    if (n < 0)
        return errname(errno);
    if ((size_t)n != len) {
        snprintf(why, sizeof why, "short write (%zd of %zu)", n, len);
        return why;
    }
    return NULL;
}

/* Writes all of string S, as many write()s as it takes; 0, or -1 with errno set. */
static inline int write_all(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = write(fd, s + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Reads into BUF until it ends in '\n' or holds SIZE - 1 bytes, then NUL-terminates it; *GOT = bytes
 * read.  1 when done, 0 at EOF, -1 on a read error (errno set); interrupted reads are repeated. */
static inline int read_line(int fd, char *buf, size_t size, size_t *got)
{
    *got = 0;
    while (*got == 0 || buf[*got - 1] != '\n') {
        ssize_t n = read(fd, buf + *got, size - 1 - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            buf[*got] = '\0';
            return n < 0 ? -1 : 0;
        }
        *got += (size_t)n;
        if (*got == size - 1)
            break;
    }
    buf[*got] = '\0';
    return 1;
}

/* Open fds of this process, not counting the directory stream used to count; -1 on error. */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* The local port of IPv4 socket FD (a new one means a new connection), or -1. */
static inline int local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    return ntohs(sin.sin_port);
}

#endif /* HC_TESTS_CLIENT_H */
