/*
 * errno_check — errno transparency: a successful call must leave errno alone.
 *
 *   errno_check HOST PORT IDLE_MS
 *
 * Before every call that is expected to succeed, errno is set to a sentinel
 * (12345); after it, errno must still be the sentinel (a successful libc
 * system-call wrapper leaves errno unchanged, so anything else was changed by
 * an interposer).  The calls:
 *   unmanaged fds: pipe, open /dev/null, write to /dev/null, write/read on the
 *                  pipe, dup/close of a pipe end, close of the pipe;
 *   a managed TCP socket: socket, setsockopt (TCP_NODELAY, SO_KEEPALIVE,
 *                  SO_RCVBUF), connect, fcntl F_GETFL/F_SETFL, round 1
 *                  (write "req 1", read), sleep IDLE_MS (the server closes
 *                  the idle connection), round 2 (the write that a library
 *                  heals, then read), round 3 at once (send, recv), close;
 *   and a last write to /dev/null.
 * stdout: one line per call, "ok   CALL = RET" or "BAD  CALL = RET: errno
 * changed to NAME", then "round N: ok|EOF|ERRNAME|mismatch" lines and a
 * summary "errno: N calls, M changed".
 * Exit 0: no errno changed and every echo matched; 1: errno changed by some
 * call; 3: errno always kept but an echo failed (round 2 without healing:
 * round 3 is then skipped); 2: a call that must succeed failed.
 * SIGPIPE is ignored.
 */
#include "client.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>

#define SENTINEL 12345

static int calls, changed;

/* Records one call: ret must be >= 0 and err (errno after it) the sentinel. */
static long note(const char *what, long ret, int err)
{
    calls++;
    if (ret < 0) {
        printf("FAIL %s = %ld: %s (this call must succeed)\n", what, ret, errname(err));
        exit(2);
    }
    if (err != SENTINEL) {
        changed++;
        printf("BAD  %s = %ld: errno changed to %d (%s)\n", what, ret, err, errname(err));
    } else {
        printf("ok   %s = %ld\n", what, ret);
    }
    return ret;
}

/* Evaluates EXPR with errno preset to the sentinel, then checks errno. */
#define CHECKED(what, expr)                     \
    ({                                          \
        errno = SENTINEL;                       \
        long ret_ = (long)(expr);               \
        int err_ = errno;                       \
        note(what, ret_, err_);                 \
    })

/* Reads a reply line; every read checked. Returns "ok", "EOF" or "mismatch". */
static const char *checked_read_line(int fd, const char *expect, int use_recv)
{
    char buf[256];
    size_t got = 0;

    while (got == 0 || buf[got - 1] != '\n') {
        long n = use_recv ? CHECKED("recv(sock)", recv(fd, buf + got, sizeof buf - 1 - got, 0))
                          : CHECKED("read(sock)", read(fd, buf + got, sizeof buf - 1 - got));
        if (n == 0)
            return "EOF";
        got += (size_t)n;
        if (got == sizeof buf - 1)
            break;
    }
    return got == strlen(expect) && memcmp(buf, expect, got) == 0 ? "ok" : "mismatch";
}

int main(int argc, char **argv)
{
    struct sockaddr_in sin;
    int p[2], devnull, sock, d, one = 1, rcvbuf = 65536, fl, echo_failed = 0;
    char c;
    const char *res;

    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT IDLE_MS\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (ipv4_addr(&sin, argv[1], argv[2]) != 0) {
        fprintf(stderr, "errno_check: bad address %s\n", argv[1]);
        return 2;
    }

    /* unmanaged fds */
    CHECKED("pipe", pipe(p));
    devnull = (int)CHECKED("open(/dev/null)", open("/dev/null", O_WRONLY));
    CHECKED("write(/dev/null)", write(devnull, "x", 1));
    CHECKED("write(pipe)", write(p[1], "x", 1));
    CHECKED("read(pipe)", read(p[0], &c, 1));
    d = (int)CHECKED("dup(pipe)", dup(p[0]));
    CHECKED("close(dup of pipe)", close(d));
    CHECKED("close(pipe read end)", close(p[0]));
    CHECKED("close(pipe write end)", close(p[1]));

    /* a managed socket */
    sock = (int)CHECKED("socket(AF_INET, SOCK_STREAM)", socket(AF_INET, SOCK_STREAM, 0));
    CHECKED("setsockopt(TCP_NODELAY)", setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    CHECKED("setsockopt(SO_KEEPALIVE)", setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
    CHECKED("setsockopt(SO_RCVBUF)", setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf));
    CHECKED("connect", connect(sock, (struct sockaddr *)&sin, sizeof sin));
    fl = (int)CHECKED("fcntl(F_GETFL)", fcntl(sock, F_GETFL));
    CHECKED("fcntl(F_SETFL, same flags)", fcntl(sock, F_SETFL, fl));

    CHECKED("write(sock, \"req 1\")", write(sock, "req 1\n", 6));
    res = checked_read_line(sock, "req 1\n", 0);
    printf("round 1: %s\n", res);
    echo_failed |= strcmp(res, "ok") != 0;

    sleep_ms(strtol(argv[3], NULL, 10));
    CHECKED("write(sock, \"req 2\") after the idle close", write(sock, "req 2\n", 6));
    res = checked_read_line(sock, "req 2\n", 0);
    printf("round 2: %s\n", res);
    if (strcmp(res, "ok") == 0) {
        CHECKED("send(sock, \"req 3\")", send(sock, "req 3\n", 6, 0));
        res = checked_read_line(sock, "req 3\n", 1);
        printf("round 3: %s\n", res);
        echo_failed |= strcmp(res, "ok") != 0;
    } else {
        echo_failed = 1;
        printf("round 3: skipped (round 2 failed)\n");
    }
    CHECKED("close(sock)", close(sock));
    CHECKED("write(/dev/null)", write(devnull, "x", 1));
    CHECKED("close(/dev/null)", close(devnull));

    printf("errno: %d calls, %d changed\n", calls, changed);
    if (changed)
        return 1;
    return echo_failed ? 3 : 0;
}
