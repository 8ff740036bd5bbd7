/*
 * chaos_server — a line server that misbehaves at random, logging every request it executes.
 *
 *   chaos_server PORT LOG SEED [KEY=VALUE ...]
 *
 * One thread, epoll.  A request is one line "id=ID n=N pad=P\n" (ID: up to 80
 * bytes of [A-Za-z0-9._-], P: exactly N bytes of [a-z]); executing it means
 * appending "E ID ..." to LOG (one write(2), O_APPEND, before anything is sent
 * back), and the reply, when there is one, is "ok ID\n".  A request that does
 * not parse is never executed: "G ..." is logged and the connection closed.
 *
 * What each connection and each request gets is drawn from SEED (xorshift),
 * in per mille (KEY=VALUE overrides the defaults, see `opts` below):
 *   at accept     accept_abort: reset it at once (SO_LINGER {1,0});
 *                 otherwise an idle timeout in idle_min_ms..idle_max_ms and
 *                 what it does when that passes: idle_halfclose (shutdown
 *                 SHUT_WR, go on reading and executing, never answer),
 *                 idle_abort (reset), else close() (FIN)
 *   per request   (drawn when a whole line is there, before it is read)
 *     reject          never read it: reset, or close() with it unread (RST too)
 *     exec_abort      read, execute, then reset 0..abort_max_ms later, no reply
 *                     (the dangerous one: RST while ESTABLISHED after the server
 *                     acted on the request, possibly before its delayed ACK)
 *     exec_unread     read the "id=ID " prefix only, execute, close() with the
 *                     rest unread (RST), no reply
 *     exec_halfclose  read, execute, shutdown(SHUT_WR): no reply, ever
 *     reply_close     execute, reply, close() (FIN)
 *     reply_halfclose execute, reply, shutdown(SHUT_WR), go on reading
 *     reply_delay     execute, reply 1..delay_max_ms later
 *     otherwise       execute, reply at once
 * After shutdown(SHUT_WR) every further request is executed unanswered
 * (a=noreply) until the client closes (or 5 s pass); halfclosed_abort of them
 * (a=noreply_abort) are followed by a reset 0..abort_max_ms later, as after
 * exec_abort: a server that half-closed still reads, acts, and may abort.
 *
 * Signals: SIGTERM ends the server: every connection closed (close(), or reset,
 * drawn once) and exit 0, "T ..." logged; SIGUSR1 closes the listening socket
 * and opens it again relisten_min_ms..relisten_max_ms later (connections stay).
 * Both are read from a signalfd between events, so a request is never cut in
 * the middle by the server's own end.
 *
 * LOG lines, each one write(2) (several servers may share LOG in turn):
 *   MS S pid=P seed=S port=PORT             started (MS: CLOCK_REALTIME ms)
 *   MS A c=P:N p=PEERPORT idle=I then=close|halfclose|abort|abort-now
 *   MS E ID c=P:N a=ACTION                  executed (before any reply goes out)
 *   MS U ID c=P:N ERRNO|short|dropped       its reply could not be sent (dropped: the
 *                                           connection ended before a delayed reply)
 *   MS G c=P:N TEXT                         a line that does not parse
 *   MS C c=P:N how=fin|rst|halfclose|eof|error:ERRNO|partial-eof why=WHY
 *   MS L closed|open                        SIGUSR1's listener restart
 *   MS T how=close|abort conns=N            SIGTERM
 * Exit 0 after SIGTERM; 1 on a setup error; 2 on usage errors.
 *
 * The request line's parser, the options, the draws and the log are the ones
 * chaos_client uses too: chaos_common.[ch].
 */
#include "chaos_common.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#define HALF_CLOSED_LINGER_MS 5000

/* Per mille unless the name ends in _ms. */
static struct opt opts[] = {
    { "accept_abort", 10 },    { "idle_min_ms", 100 },  { "idle_max_ms", 400 },    { "idle_halfclose", 250 },
    { "idle_abort", 250 },     { "reject", 15 },        { "exec_abort", 40 },      { "abort_max_ms", 25 },
    { "exec_unread", 15 },     { "exec_halfclose", 10 }, { "reply_close", 30 },    { "reply_halfclose", 15 },
    { "reply_delay", 40 },     { "delay_max_ms", 30 },  { "relisten_min_ms", 20 }, { "relisten_max_ms", 300 },
    { "halfclosed_abort", 300 },
};
#define NOPTS (sizeof opts / sizeof opts[0])

static long opt(const char *key)
{
    return opt_value(opts, NOPTS, key);
}

enum idle_act { IDLE_CLOSE, IDLE_HALFCLOSE, IDLE_ABORT };
static const char *const idle_names[] = { "close", "halfclose", "abort" };

enum pending { P_NONE, P_REPLY, P_ABORT };

struct conn {
    int fd;
    unsigned long n;             /* the server's number for it (c=PID:N) */
    enum idle_act idle_act;
    long idle_ms;
    long long idle_deadline;     /* monotonic ms; 0: none */
    enum pending pending;        /* a delayed reply or reset */
    long long pending_at;
    char reply[128];
    size_t reply_len;
    char reply_id[96];
    bool shut_wr;                /* we sent our FIN: nothing more is answered */
    bool doomed;                 /* a reset is coming: read nothing more */
};

static struct conn **conns; /* by fd */
static int conns_cap;
static unsigned long nconns_total, nconns_open;
static int epfd = -1, lfd = -1, sfd = -1;
static unsigned short port;
static uint64_t rng;
static pid_t me;
static long long relisten_at; /* monotonic ms at which to listen again; 0: listening */

static int open_listener(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(s, 512) != 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Ends C: HOW "fin" close(), "rst" reset, and logs it with WHY. Frees C. */
static void conn_end(struct conn *c, const char *how, const char *why)
{
    if (c->pending == P_REPLY) /* executed, its reply never sent */
        say("U %s c=%d:%lu dropped", c->reply_id, me, c->n);
    if (strcmp(how, "rst") == 0) {
        struct linger rst = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    }
    say("C c=%d:%lu how=%s why=%s", me, c->n, how, why);
    close(c->fd); /* also leaves the epoll set */
    conns[c->fd] = NULL;
    free(c);
    nconns_open--;
}

static void shut_write(struct conn *c, const char *why)
{
    shutdown(c->fd, SHUT_WR);
    c->shut_wr = true;
    c->idle_deadline = mono_ms() + HALF_CLOSED_LINGER_MS;
    say("C c=%d:%lu how=halfclose why=%s", me, c->n, why);
}

static void send_reply(struct conn *c)
{
    ssize_t n = send(c->fd, c->reply, c->reply_len, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n != (ssize_t)c->reply_len)
        say("U %s c=%d:%lu %s", c->reply_id, me, c->n, n < 0 ? errname(errno) : "short");
}

/* Reads exactly N bytes that are already there (peeked); false on a failure. */
static bool consume(struct conn *c, size_t n)
{
    static char sink[REQ_MAX];
    ssize_t r = recv(c->fd, sink, n, MSG_DONTWAIT);
    return r == (ssize_t)n;
}

/* After C executed a request: a reset 0..abort_max_ms later, and nothing more read. */
static void doom(struct conn *c)
{
    c->doomed = true;
    c->pending = P_ABORT;
    c->pending_at = mono_ms() + rnd_between(&rng, 0, opt("abort_max_ms"));
}

/* The per-request misbehaviours, drawn in this order from one number in [0, 1000). */
enum req_act { R_REJECT, R_EXEC_ABORT, R_EXEC_UNREAD, R_EXEC_HALFCLOSE, R_REPLY_CLOSE, R_REPLY_HALFCLOSE,
               R_REPLY_DELAY, R_REPLY };
static const char *const req_names[] = { "reject", "exec_abort", "exec_unread", "exec_halfclose",
                                         "reply_close", "reply_halfclose", "reply_delay", "reply" };

static enum req_act draw_request_action(void)
{
    long x = (long)(xorshift(&rng) % 1000), edge = 0;

    for (int a = R_REJECT; a < R_REPLY; a++)
        if (x < (edge += opt(req_names[a])))
            return (enum req_act)a;
    return R_REPLY;
}

/* One whole line, LEN bytes, at the head of C's input (not read yet): decides
 * what to do, does it.  Returns false if C is gone. */
static bool handle_line(struct conn *c, const char *line, size_t len)
{
    char id[ID_MAX + 1];
    size_t prefix = parse_request(line, len, id);
    enum req_act act;

    if (prefix == 0) {
        say("G c=%d:%lu %.*s", me, c->n, (int)(len > 100 ? 100 : len - 1), line);
        conn_end(c, "fin", "garbled");
        return false;
    }
    act = c->shut_wr ? R_REPLY : draw_request_action();
    if (act == R_REJECT) {
        conn_end(c, chance_permille(&rng, 500) ? "rst" : "fin", "reject");
        return false;
    }
    if (!consume(c, act == R_EXEC_UNREAD ? prefix : len)) {
        conn_end(c, "rst", "recv-failed");
        return false;
    }
    /* Executed: logged before anything goes back. */
    if (c->shut_wr) {
        bool abort_it = chance_permille(&rng, opt("halfclosed_abort"));
        say("E %s c=%d:%lu a=%s", id, me, c->n, abort_it ? "noreply_abort" : "noreply");
        if (abort_it)
            doom(c);
        return true;
    }
    say("E %s c=%d:%lu a=%s", id, me, c->n, req_names[act]);
    c->reply_len = format_reply(c->reply, sizeof c->reply, id);
    snprintf(c->reply_id, sizeof c->reply_id, "%s", id);
    c->idle_deadline = mono_ms() + c->idle_ms;
    switch (act) {
    case R_EXEC_UNREAD:
        conn_end(c, "fin", "exec_unread"); /* with input unread: the kernel sends RST */
        return false;
    case R_EXEC_ABORT:
        doom(c);
        return true;
    case R_EXEC_HALFCLOSE:
        shut_write(c, "exec_halfclose");
        return true;
    case R_REPLY_DELAY:
        c->pending = P_REPLY;
        c->pending_at = mono_ms() + rnd_between(&rng, 1, opt("delay_max_ms"));
        return true;
    default:
        break;
    }
    send_reply(c);
    if (act == R_REPLY_CLOSE) {
        conn_end(c, "fin", "reply_close");
        return false;
    }
    if (act == R_REPLY_HALFCLOSE)
        shut_write(c, "reply_halfclose");
    return true;
}

/* Handles every whole line C has (ET: all of them now), while nothing is
 * pending.  RDHUP: the peer's FIN came. */
static void conn_input(struct conn *c, bool rdhup)
{
    static char buf[REQ_MAX];

    while (!c->doomed && c->pending == P_NONE) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
        char *nl;

        if (n == 0) {
            conn_end(c, "fin", "eof");
            return;
        }
        if (n < 0) {
            char why[64];
            if (errno == EAGAIN || errno == EINTR)
                return;
            snprintf(why, sizeof why, "error:%s", errname(errno));
            conn_end(c, "fin", why);
            return;
        }
        nl = memchr(buf, '\n', (size_t)n);
        if (nl == NULL) {
            if (n == (ssize_t)sizeof buf) {
                say("G c=%d:%lu line longer than %d bytes", me, c->n, REQ_MAX);
                conn_end(c, "fin", "garbled");
            } else if (rdhup) {
                conn_end(c, "fin", "partial-eof");
            }
            return;
        }
        if (!handle_line(c, buf, (size_t)(nl - buf) + 1))
            return;
    }
}

static void conn_accept(void)
{
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
        struct conn *c;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        long x;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                say("X accept %s", errname(errno));
            return;
        }
        if (fd >= conns_cap) {
            int cap = conns_cap ? conns_cap : 1024;
            while (cap <= fd)
                cap *= 2;
            conns = realloc(conns, (size_t)cap * sizeof *conns);
            if (conns == NULL) {
                perror("chaos_server: realloc");
                exit(1);
            }
            memset(conns + conns_cap, 0, (size_t)(cap - conns_cap) * sizeof *conns);
            conns_cap = cap;
        }
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            perror("chaos_server: calloc");
            exit(1);
        }
        c->fd = fd;
        c->n = ++nconns_total;
        conns[fd] = c;
        nconns_open++;
        if (chance_permille(&rng, opt("accept_abort"))) {
            say("A c=%d:%lu p=%u idle=0 then=abort-now", me, c->n, ntohs(peer.sin_port));
            conn_end(c, "rst", "accept_abort");
            continue;
        }
        c->idle_ms = rnd_between(&rng, opt("idle_min_ms"), opt("idle_max_ms"));
        x = (long)(xorshift(&rng) % 1000);
        c->idle_act = x < opt("idle_halfclose")                        ? IDLE_HALFCLOSE
                      : x < opt("idle_halfclose") + opt("idle_abort") ? IDLE_ABORT
                                                                       : IDLE_CLOSE;
        c->idle_deadline = mono_ms() + c->idle_ms;
        say("A c=%d:%lu p=%u idle=%ld then=%s", me, c->n, ntohs(peer.sin_port), c->idle_ms,
             idle_names[c->idle_act]);
        ev.data.fd = fd;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_end(c, "rst", "epoll_ctl");
            continue;
        }
        conn_input(c, false); /* a request may be there already */
    }
}

/* Runs the timers that are due; returns the ms until the next one (-1: none). */
static int run_timers(void)
{
    long long now = mono_ms(), next = -1;

    if (relisten_at && now >= relisten_at) {
        lfd = open_listener();
        if (lfd >= 0) {
            relisten_at = 0;
            say("L open");
        } else {
            relisten_at = now + 10;
        }
    }
    if (relisten_at)
        next = relisten_at;
    for (int fd = 0; fd < conns_cap; fd++) {
        struct conn *c = conns[fd];
        if (c == NULL)
            continue;
        if (c->pending != P_NONE && now >= c->pending_at) {
            enum pending p = c->pending;
            c->pending = P_NONE;
            if (p == P_ABORT) {
                conn_end(c, "rst", c->shut_wr ? "noreply_abort" : "exec_abort");
                continue;
            }
            send_reply(c);
            c->idle_deadline = now + c->idle_ms;
            conn_input(c, false); /* anything that came meanwhile */
            if (conns[fd] != c)
                continue;
        }
        if (c->pending == P_NONE && c->idle_deadline && now >= c->idle_deadline) {
            if (c->shut_wr)
                conn_end(c, "fin", "half-closed-linger");
            else if (c->idle_act == IDLE_HALFCLOSE)
                shut_write(c, "idle");
            else
                conn_end(c, c->idle_act == IDLE_ABORT ? "rst" : "fin", "idle");
            if (conns[fd] != c)
                continue;
        }
        if (c->pending != P_NONE && (next < 0 || c->pending_at < next))
            next = c->pending_at;
        else if (c->pending == P_NONE && c->idle_deadline && (next < 0 || c->idle_deadline < next))
            next = c->idle_deadline;
    }
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

/* SIGTERM or SIGUSR1 from the signalfd.  Returns false to stop. */
static bool on_signal(void)
{
    struct signalfd_siginfo si;

    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1) {
            if (lfd >= 0) {
                close(lfd);
                lfd = -1;
                say("L closed");
                relisten_at = mono_ms() + rnd_between(&rng, opt("relisten_min_ms"), opt("relisten_max_ms"));
            }
            continue;
        }
        {
            bool abort_all = chance_permille(&rng, 500);
            say("T how=%s conns=%lu", abort_all ? "abort" : "close", nconns_open);
            for (int fd = 0; fd < conns_cap; fd++)
                if (conns[fd])
                    conn_end(conns[fd], abort_all ? "rst" : "fin", "terminate");
        }
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    sigset_t mask;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = -2 };
    char *end;
    long v;

    if (argc < 4) {
        fprintf(stderr, "usage: chaos_server PORT LOG SEED [KEY=VALUE ...]\n");
        return 2;
    }
    v = strtol(argv[1], &end, 10);
    if (*end || v < 1 || v > 65535) {
        fprintf(stderr, "chaos_server: bad PORT: %s\n", argv[1]);
        return 2;
    }
    port = (unsigned short)v;
    rng = strtoull(argv[3], &end, 10) * 0x9E3779B97F4A7C15ull + 1;
    if (*end) {
        fprintf(stderr, "chaos_server: bad SEED: %s\n", argv[3]);
        return 2;
    }
    opts_parse("chaos_server", opts, NOPTS, argc, argv, 4);
    me = getpid();
    log_open("chaos_server", argv[2], true);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigdelset(&mask, SIGPIPE);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (epfd < 0 || sfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) != 0) {
        perror("chaos_server: epoll/signalfd");
        return 1;
    }
    lfd = open_listener();
    if (lfd < 0) {
        fprintf(stderr, "chaos_server: listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
        return 1;
    }
    say("S pid=%d seed=%s port=%u", me, argv[3], port);
    for (;;) {
        struct epoll_event evs[64];
        int timeout = run_timers();
        int n = epoll_wait(epfd, evs, 64, timeout);

        if (n < 0 && errno != EINTR) {
            perror("chaos_server: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == -2) {
                if (!on_signal())
                    return 0;
            } else if (fd == -1) {
                if (lfd >= 0)
                    conn_accept();
            } else if (fd < conns_cap && conns[fd]) {
                conn_input(conns[fd], (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
            }
        }
    }
}
