/*
 * unseen_io.c — reads and writes a preloaded library sees only if it wraps
 * them (recvmmsg, splice, sendfile), and buffers the kernel refuses.
 *
 *   unseen_io MODE HOST PORT IDLE_MS
 *
 * Connects to an echo server that closes idle connections (socat -T), sends
 * "hi\n" and reads its echo, then, by MODE:
 *   efault    writes from bad buffers at a request boundary: write() from
 *             (void *)16, writev() with a bad iovec array, sendmsg() with a bad
 *             msghdr; prints each result ("write: -1 EFAULT"); then sends
 *             "ok\n" and reads its echo
 *   recvmmsg  sleeps IDLE_MS (the server closes), reads with recvmmsg: EOF;
 *             then writes "again\n" (what a program does with a connection it
 *             knows is half-closed is its own business) and prints the result
 *   splice    the same, the EOF read with splice() into a pipe
 *   sendfile  sleeps IDLE_MS, sends "hi\n" again with sendfile() from a
 *             temporary file, and reads the echo
 * stdout: one line per step; exit 0, or 1 if the last echo did not come.
 */
#include "client.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

static const char *result(ssize_t r)
{
    static char buf[64];
    if (r < 0)
        snprintf(buf, sizeof buf, "-1 %s", errname(errno));
    else
        snprintf(buf, sizeof buf, "%zd", r);
    return buf;
}

/* Reads one echoed line; prints it; 0 if it came. */
static int echo(int fd, const char *what)
{
    char buf[64];
    size_t got = 0;
    int r = read_line(fd, buf, sizeof buf, &got);
    if (r == 1)
        buf[strcspn(buf, "\n")] = '\0';
    printf("%s: %s\n", what, r == 1 ? buf : "no echo");
    return r == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    char buf[64];
    int fd, p[2];
    long idle;

    if (argc != 5) {
        fprintf(stderr, "usage: unseen_io efault|recvmmsg|splice|sendfile HOST PORT IDLE_MS\n");
        return 2;
    }
    idle = parse_num("unseen_io", argv[4], "IDLE_MS");
    fd = dial("unseen_io", argv[2], argv[3]);
    if (fd < 0 || write_all(fd, "hi\n") != 0 || echo(fd, "first") != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "efault") == 0) {
        /* volatile: the compiler must not see (and refuse) the bad pointers. */
        const void *volatile bad = (const void *)16;
        printf("write: %s\n", result(write(fd, bad, 4)));
        printf("writev: %s\n", result(writev(fd, (const struct iovec *)bad, 1)));
        printf("sendmsg: %s\n", result(sendmsg(fd, (const struct msghdr *)bad, 0)));
        if (write_all(fd, "ok\n") != 0)
            return 1;
        return echo(fd, "then") == 0 ? 0 : 1;
    }
    sleep_ms(idle);
    if (strcmp(argv[1], "recvmmsg") == 0) {
        struct iovec v = { buf, sizeof buf };
        struct mmsghdr m = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
        int n = recvmmsg(fd, &m, 1, 0, NULL);
        printf("recvmmsg: %s, %u bytes\n", result(n), n > 0 ? m.msg_len : 0);
    } else if (strcmp(argv[1], "splice") == 0) {
        if (pipe(p) != 0)
            return 2;
        printf("splice: %s\n", result(splice(fd, NULL, p[1], NULL, sizeof buf, 0)));
    } else if (strcmp(argv[1], "sendfile") == 0) {
        char path[] = "/tmp/unseen_io.XXXXXX";
        int f = mkstemp(path);
        off_t off = 0;
        if (f < 0 || write(f, "hi\n", 3) != 3)
            return 2;
        unlink(path);
        printf("sendfile: %s\n", result(sendfile(fd, f, &off, 3)));
        return echo(fd, "echo") == 0 ? 0 : 1;
    } else {
        fprintf(stderr, "unseen_io: bad MODE: %s\n", argv[1]);
        return 2;
    }
    /* The program has seen the EOF: its next write is its own decision. */
    printf("again: %s\n", result(write(fd, "again\n", 6)));
    return 0;
}
