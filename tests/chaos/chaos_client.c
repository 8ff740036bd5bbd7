/*
 * chaos_client — pooled request/response clients for the chaos test, logging every outcome.
 *
 *   chaos_client threads|epoll|fork HOST PORT NAME LOG REQUESTS [KEY=VALUE ...]
 *
 * Every request is one line "id=ID n=N pad=P\n" with an ID never used before
 * (NAME.WORKER.SEQ; a forked child's workers are NAME.fK), N random (0..pad_max,
 * sometimes up to big_max); the reply must be exactly "ok ID\n".  A request is
 * never retried: the next one gets a new ID, so a request the server executed
 * twice can only have been sent twice by something under the program.
 *
 * threads  `threads` threads, `own` of them with a connection of their own, the
 *          others sharing a pool of `conns` blocking connections (checked out
 *          for a whole request/response: the most recently used free one
 *          (LIFO, 70 %) or the least recently used one, so that some pooled
 *          connections sit idle); each connection gets SO_SNDTIMEO for its
 *          connect (connect_ms), then SO_SNDTIMEO/SO_RCVTIMEO = hang_ms, and
 *          TCP_NODELAY and FD_CLOEXEC half of the time each (what a heal must
 *          carry over: checked after every reply).
 * epoll    one thread, `conns` non-blocking connections in one epoll set, each
 *          with its own request schedule; each new connection is registered in
 *          one of four styles: lt-always (EPOLLIN always; an event while idle
 *          is read: the program sees the server's close itself), lt-interest
 *          (EPOLLIN only while a reply is awaited, events 0 otherwise),
 *          et-lazy (EPOLLIN|EPOLLRDHUP|EPOLLET always; edges while idle are
 *          ignored, so after its write it reads before it waits), oneshot (EPOLLONESHOT, armed with EPOLL_CTL_MOD one loop
 *          turn after the request is written).  data.u64 = slot << 32 | a
 *          number new for each connection, checked on every event.  Sockets
 *          are made non-blocking with SOCK_NONBLOCK, fcntl or FIONBIO;
 *          FD_CLOEXEC and TCP_NODELAY half of the time (checked as above).
 * fork     threads, and a thread that forks a child every fork_min_ms..fork_max_ms
 *          while the others are busy (no socket is FD_CLOEXEC in this mode);
 *          the child reports any FD_CLOEXEC socket it inherited, closes half of the sockets it
 *          inherited, makes child_requests requests on a connection of its own,
 *          and exits; the parent waits for it (at most child_timeout_ms, then
 *          SIGKILL, logged as a hang).
 *
 * Between two requests a worker waits: 0..short_max_ms, or (medium_pct %)
 * medium_min_ms..medium_max_ms, or (long_pct %) long_min_ms..long_max_ms.
 * A request is written in one write(), or (split_pct %) in two, 0-2 ms apart.
 * With deadline_ms, no request is started once that much time has passed (the
 * summary says so: a run that slow is a failure of its own).
 *
 * LOG lines, one write(2) each, appended (every process of a run may share LOG):
 *   R ID ms=MS lp=PORT           its reply (lp: local port afterwards)
 *   F ID OP:WHY ms=MS lp=PORT    no reply: OP connect (nothing sent), write (the
 *                                first write failed: nothing sent), write2 (the
 *                                second part failed: an incomplete line sent),
 *                                read (all sent; EOF or an errno before the reply)
 *   H ID OP ms=MS                no outcome in hang_ms (a connect that takes
 *                                connect_ms is an F connect:timeout instead)
 *   M ID got=TEXT                a reply that is not this request's
 *   V NAME KIND ...              an event-loop anomaly: stale-event (an event
 *                                whose tag is not the connection's), oneshot-
 *                                rearmed (an event on a fired, not re-armed
 *                                EPOLLONESHOT registration), stray-data (bytes
 *                                with no request outstanding), epoll-ctl
 *                                (EPOLL_CTL_MOD failed), lost-setting (after a
 *                                reply, FD_CLOEXEC, O_NONBLOCK, TCP_NODELAY or
 *                                SO_RCVTIMEO is not what the program set),
 *                                inherited-library-socket (a forked child found
 *                                an FD_CLOEXEC socket: fork mode makes none),
 *                                child-hang, child-exit
 *   W NAME write_ms=MS           epoll: a write() call that blocked the loop >= 100 ms
 *   S name=NAME pid=P mode=M requests=N ok=N failed=N hung=N mismatched=N
 *     anomalies=N sigpipe=N fds_before=N fds_after=N max_write_ms=MS seconds=S
 *     deadline_hit=0|1           (1: deadline_ms passed and it stopped early)
 * Exit 0 when every request had its outcome (failures included); 1 on a setup
 * error; 2 on usage errors.  SIGPIPE is counted, not ignored.
 *
 * This file: the command line and the options, the counters, the request and
 * the settings every mode uses, the summary.  The modes: chaos_pool.c
 * (blocking connections, the thread pools of threads and fork), chaos_fork.c
 * (fork's forking thread and its children), chaos_loop.c (epoll); what the
 * server shares with them: chaos_common.[ch].
 */
#include "chaos_client.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>

static struct opt opts[] = {
    { "threads", 8 },          { "own", 2 },             { "conns", 4 },           { "seed", 1 },
    { "short_max_ms", 3 },     { "medium_pct", 10 },     { "medium_min_ms", 40 },  { "medium_max_ms", 120 },
    { "long_pct", 6 },         { "long_min_ms", 100 },   { "long_max_ms", 600 },   { "split_pct", 20 },
    { "pad_max", 200 },        { "big_pct", 2 },         { "big_max", 3000 },      { "hang_ms", 20000 },
    { "connect_ms", 5000 },    { "fork_min_ms", 150 },   { "fork_max_ms", 500 },   { "child_requests", 12 },
    { "child_timeout_ms", 60000 }, { "deadline_ms", 0 },
};
#define NOPTS (sizeof opts / sizeof opts[0])

long opt(const char *key)
{
    return opt_value(opts, NOPTS, key);
}

const char *client_name;
struct sockaddr_in server_addr;
long total_requests;
long long start_ms;
atomic_bool past_deadline;
atomic_long n_requests, n_ok, n_failed, n_hung, n_mismatched, n_anomalies;
atomic_long n_sigpipe;
atomic_llong max_write_ms;
bool never_cloexec;

/* --- what every mode uses ------------------------------------------------------------------ */

uint64_t seed_for(long worker)
{
    uint64_t s = ((uint64_t)opt("seed") * 1000003u + (uint64_t)worker + 1) * 0x9E3779B97F4A7C15ull;
    for (const char *p = client_name; *p; p++)
        s = (s ^ (unsigned char)*p) * 0x100000001B3ull;
    return s ? s : 1;
}

bool deadline_passed(void)
{
    if (opt("deadline_ms") > 0 && !atomic_load(&past_deadline) && mono_ms() - start_ms > opt("deadline_ms"))
        atomic_store(&past_deadline, true);
    return atomic_load(&past_deadline);
}

static void on_sigpipe(int sig)
{
    (void)sig;
    atomic_fetch_add(&n_sigpipe, 1);
}

void note_write_ms(long long ms)
{
    long long cur = atomic_load(&max_write_ms);
    while (ms > cur && !atomic_compare_exchange_weak(&max_write_ms, &cur, ms))
        ;
}

long draw_gap(uint64_t *s)
{
    long x = (long)(xorshift(s) % 100);

    if (x < opt("long_pct"))
        return rnd_between(s, opt("long_min_ms"), opt("long_max_ms"));
    if (x < opt("long_pct") + opt("medium_pct"))
        return rnd_between(s, opt("medium_min_ms"), opt("medium_max_ms"));
    return rnd_between(s, 0, opt("short_max_ms"));
}

size_t make_request(uint64_t *s, const char *worker, long seq, char *id, size_t idsize, char *req, char *expect)
{
    long pad = chance_pct(s, opt("big_pct")) ? rnd_between(s, 0, opt("big_max")) : rnd_between(s, 0, opt("pad_max"));

    snprintf(id, idsize, "%s.%s.%ld", client_name, worker, seq);
    format_reply(expect, REPLY_MAX, id);
    return format_request(s, req, id, pad);
}

/* True if FD still has SET; else false with what differs in WHY. */
static bool settings_hold(int fd, const struct settings *set, char *why, size_t size)
{
    int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL), nd = 0;
    struct timeval tv = { 0, 0 };
    socklen_t len = sizeof nd, tlen = sizeof tv;

    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &len);
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tlen);
    snprintf(why, size, "cloexec=%d/%d nonblock=%d/%d nodelay=%d/%d rcvtimeo_ms=%ld/%ld (now/set)",
             fdfl >= 0 && (fdfl & FD_CLOEXEC), set->cloexec, fl >= 0 && (fl & O_NONBLOCK), set->nonblock, nd != 0,
             set->nodelay, (long)(tv.tv_sec * 1000 + tv.tv_usec / 1000), set->rcvtimeo_ms);
    return fdfl >= 0 && fl >= 0 && !!(fdfl & FD_CLOEXEC) == set->cloexec && !!(fl & O_NONBLOCK) == set->nonblock &&
           (nd != 0) == set->nodelay && tv.tv_sec * 1000 + tv.tv_usec / 1000 == set->rcvtimeo_ms;
}

void check_settings(int fd, const struct settings *set, const char *id)
{
    char why[160];

    if (!settings_hold(fd, set, why, sizeof why)) {
        say("V %s lost-setting fd=%d id=%s %s", client_name, fd, id, why);
        atomic_fetch_add(&n_anomalies, 1);
    }
}

/* --- main ------------------------------------------------------------------------------------ */

void summary(const char *mode, int fds_before, int fds_after)
{
    say("S name=%s pid=%d mode=%s requests=%ld ok=%ld failed=%ld hung=%ld mismatched=%ld anomalies=%ld "
        "sigpipe=%ld fds_before=%d fds_after=%d max_write_ms=%lld seconds=%.1f deadline_hit=%d",
        client_name, getpid(), mode, atomic_load(&n_requests), atomic_load(&n_ok), atomic_load(&n_failed),
        atomic_load(&n_hung), atomic_load(&n_mismatched), atomic_load(&n_anomalies), atomic_load(&n_sigpipe),
        fds_before, fds_after, atomic_load(&max_write_ms), (double)(mono_ms() - start_ms) / 1000,
        (int)atomic_load(&past_deadline));
}

int main(int argc, char **argv)
{
    static char who[160];
    const char *mode;
    int before, after;
    pthread_t forker;

    if (argc < 7) {
        fprintf(stderr, "usage: chaos_client threads|epoll|fork HOST PORT NAME LOG REQUESTS [KEY=VALUE ...]\n");
        return 2;
    }
    mode = argv[1];
    client_name = argv[4];
    total_requests = parse_num("chaos_client", argv[6], "REQUESTS");
    if (ipv4_addr(&server_addr, argv[2], argv[3]) != 0) {
        fprintf(stderr, "chaos_client: HOST must be an IPv4 address: %s\n", argv[2]);
        return 2;
    }
    opts_parse("chaos_client", opts, NOPTS, argc, argv, 7);
    if (strcmp(mode, "threads") != 0 && strcmp(mode, "epoll") != 0 && strcmp(mode, "fork") != 0) {
        fprintf(stderr, "chaos_client: MODE is threads, epoll or fork\n");
        return 2;
    }
    sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = on_sigpipe, .sa_flags = SA_RESTART }, NULL);
    snprintf(who, sizeof who, "chaos_client %s", client_name);
    log_open(who, argv[5], false);
    before = count_fds();
    start_ms = mono_ms();
    never_cloexec = strcmp(mode, "fork") == 0;
    if (strcmp(mode, "epoll") == 0) {
        if (run_epoll() != 0)
            return 1;
    } else {
        if (run_threads() != 0)
            return 1;
        if (strcmp(mode, "fork") == 0 && pthread_create(&forker, NULL, forker_main, NULL) != 0)
            return 1;
        join_threads_and_close();
        if (strcmp(mode, "fork") == 0)
            pthread_join(forker, NULL);
    }
    after = count_fds();
    summary(mode, before, after);
    return 0;
}

