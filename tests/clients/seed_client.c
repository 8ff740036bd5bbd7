/*
 * seed_client — the C twin of the seed document's client.go.
 *
 *   seed_client HOST PORT
 *
 * Connects, prints "connection established", sleeps 6 s (long enough for an
 * idle-closing server such as `ncat -l -i 2` to close the connection), writes
 * "Halo" (no newline), prints "writen to server = Halo", sleeps 3 s, writes
 * "Halo2", prints, closes and exits 0.  It never reads.
 *
 * SIGPIPE is explicitly reset to its default disposition (an ignored signal
 * would otherwise be inherited across exec from whatever started us), so
 * without halfclose the second write kills the process with SIGPIPE.  If a
 * write nevertheless fails with an error (SIGPIPE blocked by a parent, or a
 * reset), the error is printed and the exit status is 1, like client.go.
 *
 * Output is on stdout, flushed after every line, so that it survives a death
 * by signal.
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
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "seed_client: resolve %s:%s failed: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, "seed_client: dial %s:%s failed: %s\n", host, port, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static int write_all(int fd, const char *s)
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

static int send_word(int fd, const char *word)
{
    if (write_all(fd, word) < 0) {
        int e = errno;
        printf("Write to server failed: %s (%s)\n", strerror(e), strerrorname_np(e));
        fflush(stdout);
        return -1;
    }
    printf("writen to server = %s\n", word);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int fd;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_DFL);

    fd = dial(argv[1], argv[2]);
    if (fd < 0)
        return 1;
    printf("connection established\n");
    fflush(stdout);

    /* sleep until the server has closed the idle connection */
    sleep_ms(6000);
    if (send_word(fd, "Halo") < 0)
        return 1;

    sleep_ms(3000);
    if (send_word(fd, "Halo2") < 0)
        return 1;

    close(fd);
    return 0;
}
