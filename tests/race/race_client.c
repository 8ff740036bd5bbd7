/*
 * race_client — request/response cycles that each race a server's idle close.
 *
 *   race_client [--epoll] HOST PORT NAME CYCLES GAP_MS [DIAG_MS]
 *
 * Connects, then CYCLES times (SEQ = 1..CYCLES): sleeps GAP_MS, writes
 * "REQ NAME SEQ\n" in one write(), reads one line and expects "OK NAME SEQ".
 * The sleep comes first, so every request, the first on a connection too,
 * follows GAP_MS of quiet: tests/race/run.sh picks GAP_MS after the server's
 * idle timer but before the FIN that timer sent gets through (fin_delay), so
 * each request races a FIN still on the wire.
 *
 * A cycle whose write fails, or whose read ends (EOF or an error) before the
 * reply, is LOST: the client does what an application with a retry policy
 * does, closes the socket, connects again and goes on with the next SEQ (it
 * does not resend: whether the server got the request is what the test asks
 * the server's log).
 *
 * --epoll: the same cycles from an event loop.  After each connect the socket
 * is made non-blocking (fcntl O_NONBLOCK) and added to one epoll instance,
 * edge-triggered (EPOLLIN|EPOLLRDHUP|EPOLLET), its data.u64 a tag new for
 * each connection the client makes, checked on every event.  A cycle writes
 * the request (waiting for POLLOUT on EAGAIN or a short write), then waits
 * with epoll_wait, at most EPOLL_WAIT_MS (5 s) from the write for the whole
 * reply, and after each event reads until EAGAIN.  EOF or a read error is
 * LOST as in blocking mode (close, connect, register the new socket); no
 * event in time is LOST "timeout:no-event" (what a healed fd whose epoll
 * registration did not follow it to the new socket would get).  A read
 * that returns EAGAIN first thing after an EPOLLIN or EPOLLRDHUP wake
 * (nothing read since) is counted: here a wake is for the reply or for the
 * connection's end (the reset: IN|RDHUP|HUP|ERR), and a plain read returns
 * either; EAGAIN means that something (halfclose's replay) made the read
 * again on a new connection whose reply is still on its way, and that reply
 * must then come as a later event.
 *
 * stdout, line-buffered:
 *   OK NAME SEQ MS                      the reply came, MS after the write
 *   OK NAME SEQ MS wakes=W eagain_after_wake=A first_wake=EV
 *                                       --epoll: W events this cycle, A of
 *                                       them followed by EAGAIN at once, the
 *                                       first one's events (IN|RDHUP|...)
 *   LOST NAME SEQ OP:WHY ms=MS state=S outq=N err=E [later: state=S outq=N err=E]
 *       OP read or write, WHY EOF or an errno name, MS after the write; then
 *       what the socket looked like right after the failure (TCP_INFO state,
 *       SIOCOUTQ = bytes not acknowledged, SO_ERROR), and DIAG_MS later if
 *       DIAG_MS > 0
 *       --epoll: OP may be "timeout" (WHY "no-event"), the socket's state
 *       then followed by inq=N (bytes received and not read); the line ends
 *       with wakes=W eagain_after_wake=A first_wake=EV as an OK line does
 *   summary NAME ok=X lost=Y bad=0 max_ms=M
 *   summary NAME ok=X lost=Y bad=0 max_ms=M timeouts=T eagain_after_wake=A wakes=W
 *                                       --epoll (T counted in Y as well)
 * Exit 0 when all cycles ran (lost ones included); 1 on a wrong reply
 * (BAD line: an answer to another request, the worst outcome), with
 * --epoll also on an event with another tag or more than one event at once
 * (a BAD line too), or on a failed reconnect; 2 on usage errors.  SIGPIPE is
 * ignored (a write into a dead connection is EPIPE, a LOST line).
 */
#include "../clients/client.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

static const char *const tcp_states[] = {
    "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

/* Appends " state=S outq=N err=E" for socket FD to OUT (SIZE bytes).  Reading
 * SO_ERROR clears it; the socket is about to be closed anyway. */
static void describe_socket(int fd, char *out, size_t size)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int outq = -1, err = 0;
    socklen_t elen = sizeof err;
    const char *state = "?";
    size_t used = strlen(out);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_state < sizeof tcp_states / sizeof tcp_states[0])
        state = tcp_states[ti.tcpi_state];
    if (ioctl(fd, SIOCOUTQ, &outq) != 0)
        outq = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
        err = -1;
    snprintf(out + used, size - used, " state=%s outq=%d err=%s", state, outq,
             err > 0 ? errname(err) : err == 0 ? "0" : "?");
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define EPOLL_WAIT_MS 5000
#define TAG_BASE (0x72616365ull << 32) /* "race", then the connection's number */

/* --epoll: the epoll instance, the tag of the connection registered in it,
 * and the counts for the summary line. */
static int epfd = -1;
static uint64_t tag;
static long timeouts, eagain_after_wake, wakes;

/* The event names of EV ("IN|RDHUP|HUP|ERR"), in a static buffer. */
static const char *event_names(uint32_t ev)
{
    static char out[64];
    static const struct { uint32_t bit; const char *name; } names[] = {
        { EPOLLIN, "IN" }, { EPOLLOUT, "OUT" }, { EPOLLRDHUP, "RDHUP" }, { EPOLLHUP, "HUP" }, { EPOLLERR, "ERR" },
    };

    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit)
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "|" : "", names[i].name);
    if ((ev & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || !out[0])
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s0x%x", out[0] ? "|" : "", ev);
    return out;
}

/* Connects; with --epoll, also makes the socket non-blocking and registers it
 * (edge-triggered) under a new tag.  The fd, or -1 (said on stderr). */
static int connect_client(const char *host, const char *port)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
    int fd = dial("race_client", host, port), fl;

    if (fd < 0 || epfd < 0)
        return fd;
    ev.data.u64 = ++tag;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        fprintf(stderr, "race_client: fcntl O_NONBLOCK: %s\n", errname(errno));
        close(fd);
        return -1;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fprintf(stderr, "race_client: epoll_ctl ADD: %s\n", errname(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* --epoll: writes LEN bytes of BUF to non-blocking FD, waiting (poll, at most
 * EPOLL_WAIT_MS each time) for room on EAGAIN or a short write; NULL once all
 * went, else why not (an errno name, or "EAGAIN-timeout"). */
static const char *write_nonblocking(int fd, const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        struct pollfd p = { fd, POLLOUT, 0 };
        int r;

        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return errname(errno);
        do
            r = poll(&p, 1, EPOLL_WAIT_MS);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return errname(errno);
        if (r == 0)
            return "EAGAIN-timeout";
    }
    return NULL;
}

enum outcome { GOT_LINE, GOT_EOF, GOT_ERROR, GOT_NOTHING };

/* --epoll: waits for events on FD, from T0 (the write) for at most
 * EPOLL_WAIT_MS, and after each reads until EAGAIN, until BUF (SIZE bytes)
 * holds a line or is full; *GOT = bytes read, BUF NUL-terminated.  GOT_LINE
 * (*CLOSED = 1 if EOF or an error ended that read, errno set), GOT_EOF,
 * GOT_ERROR (errno set) or GOT_NOTHING (the time ran out).  Exits 1, with a
 * BAD line, on an event without FD's tag or more than one event at once.
 * NOTE gets " wakes=W eagain_after_wake=A first_wake=EV". */
static enum outcome read_events(int fd, char *buf, size_t size, size_t *got, int *closed, long long t0,
                                const char *name, long seq, char *note, size_t note_size)
{
    long cycle_wakes = 0, cycle_eagain = 0;
    uint32_t first = 0;
    enum outcome out = GOT_NOTHING;

    *got = 0;
    *closed = 0;
    buf[0] = '\0';
    while (out == GOT_NOTHING) {
        struct epoll_event evs[4];
        long long left = t0 + EPOLL_WAIT_MS - now_ms();
        int n = left > 0 ? epoll_wait(epfd, evs, 4, (int)left) : 0;
        int fresh = 1, end = 0; /* end: 0 EAGAIN, 1 EOF, -1 error */

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "race_client: epoll_wait: %s\n", errname(errno));
            exit(1);
        }
        if (n == 0)
            break;
        if (n != 1 || evs[0].data.u64 != tag) {
            printf("BAD %s %ld epoll: %d events, the first with data 0x%llx and %s; registered 0x%llx\n", name, seq,
                   n, (unsigned long long)evs[0].data.u64, event_names(evs[0].events), (unsigned long long)tag);
            exit(1);
        }
        if (cycle_wakes++ == 0)
            first = evs[0].events;
        wakes++;
        while (*got < size - 1) { /* edge-triggered: read until EAGAIN (or EOF, or an error) */
            ssize_t r = read(fd, buf + *got, size - 1 - *got);

            if (r > 0) {
                *got += (size_t)r;
                buf[*got] = '\0';
                fresh = 0;
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (fresh && (evs[0].events & (EPOLLIN | EPOLLRDHUP))) {
                    cycle_eagain++;
                    eagain_after_wake++;
                }
            } else {
                end = r == 0 ? 1 : -1;
            }
            break;
        }
        if (memchr(buf, '\n', *got) || *got == size - 1) {
            out = GOT_LINE;
            *closed = end != 0;
        } else if (end) {
            out = end > 0 ? GOT_EOF : GOT_ERROR;
        }
    }
    {
        int e = errno;
        snprintf(note, note_size, " wakes=%ld eagain_after_wake=%ld first_wake=%s", cycle_wakes, cycle_eagain,
                 cycle_wakes ? event_names(first) : "none");
        errno = e;
    }
    return out;
}

int main(int argc, char **argv)
{
    const char *host, *port, *name;
    long cycles, gap_ms, diag_ms = 0, seq, ok = 0, lost = 0;
    long long max_ms = 0;
    int fd, use_epoll = argc > 1 && strcmp(argv[1], "--epoll") == 0;

    argc -= use_epoll;
    argv += use_epoll;
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: race_client [--epoll] HOST PORT NAME CYCLES GAP_MS [DIAG_MS]\n");
        return 2;
    }
    host = argv[1];
    port = argv[2];
    name = argv[3];
    cycles = parse_num("race_client", argv[4], "CYCLES");
    gap_ms = parse_num("race_client", argv[5], "GAP_MS");
    if (argc == 7)
        diag_ms = parse_num("race_client", argv[6], "DIAG_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    tag = TAG_BASE;
    if (use_epoll && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        fprintf(stderr, "race_client: epoll_create1: %s\n", errname(errno));
        return 1;
    }

    fd = connect_client(host, port);
    if (fd < 0)
        return 1;
    for (seq = 1; seq <= cycles; seq++) {
        char req[128], expect[128], resp[256], why[256] = "", note[128] = "";
        size_t len, got;
        const char *werr;
        long long t0;
        int rc, closed = 0;

        sleep_ms(gap_ms);
        len = (size_t)snprintf(req, sizeof req, "REQ %s %ld\n", name, seq);
        snprintf(expect, sizeof expect, "OK %s %ld\n", name, seq);
        t0 = now_ms();
        werr = use_epoll ? write_nonblocking(fd, req, len) : write_reason(fd, req, len);
        if (werr) {
            snprintf(why, sizeof why, "write:%s", werr);
        } else {
            enum outcome o = GOT_LINE;

            if (use_epoll) {
                o = read_events(fd, resp, sizeof resp, &got, &closed, t0, name, seq, note, sizeof note);
                rc = o == GOT_LINE ? 1 : o == GOT_EOF ? 0 : -1;
            } else {
                rc = read_line(fd, resp, sizeof resp, &got);
            }
            if (rc == 1 && strcmp(resp, expect) == 0) {
                long long ms = now_ms() - t0;
                if (ms > max_ms)
                    max_ms = ms;
                printf("OK %s %ld %lld%s\n", name, seq, ms, note);
                ok++;
                if (!closed)
                    continue;
                /* the reply, then the end in the same read: the next request needs a new connection */
                close(fd);
                fd = connect_client(host, port);
                if (fd < 0)
                    return 1;
                continue;
            }
            if (rc == 1 || got > 0) {
                printf("BAD %s %ld got '%.*s'\n", name, seq, (int)strcspn(resp, "\n"), resp);
                return 1;
            }
            if (o == GOT_NOTHING) {
                timeouts++;
                snprintf(why, sizeof why, "timeout:no-event");
            } else {
                snprintf(why, sizeof why, "read:%s", rc == 0 ? "EOF" : errname(errno));
            }
        }
        snprintf(why + strlen(why), sizeof why - strlen(why), " ms=%lld", now_ms() - t0);
        describe_socket(fd, why, sizeof why);
        if (strncmp(why, "timeout:", 8) == 0) {
            int inq = -1;
            if (ioctl(fd, SIOCINQ, &inq) != 0)
                inq = -1;
            snprintf(why + strlen(why), sizeof why - strlen(why), " inq=%d", inq);
        }
        if (diag_ms > 0) {
            sleep_ms(diag_ms);
            snprintf(why + strlen(why), sizeof why - strlen(why), " later:");
            describe_socket(fd, why, sizeof why);
        }
        printf("LOST %s %ld %s%s\n", name, seq, why, note);
        lost++;
        close(fd);
        fd = connect_client(host, port);
        if (fd < 0)
            return 1;
    }
    close(fd);
    if (use_epoll)
        printf("summary %s ok=%ld lost=%ld bad=0 max_ms=%lld timeouts=%ld eagain_after_wake=%ld wakes=%ld\n", name,
               ok, lost, max_ms, timeouts, eagain_after_wake, wakes);
    else
        printf("summary %s ok=%ld lost=%ld bad=0 max_ms=%lld\n", name, ok, lost, max_ms);
    return 0;
}
