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
 */
#include "../clients/client.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define MAX_THREADS 64
#define MAX_POOL 64
#define MAX_SLOTS 256
#define REQ_MAX 8192

struct opt {
    const char *name;
    long value;
};

static struct opt opts[] = {
    { "threads", 8 },          { "own", 2 },             { "conns", 4 },           { "seed", 1 },
    { "short_max_ms", 3 },     { "medium_pct", 10 },     { "medium_min_ms", 40 },  { "medium_max_ms", 120 },
    { "long_pct", 6 },         { "long_min_ms", 100 },   { "long_max_ms", 600 },   { "split_pct", 20 },
    { "pad_max", 200 },        { "big_pct", 2 },         { "big_max", 3000 },      { "hang_ms", 20000 },
    { "connect_ms", 5000 },    { "fork_min_ms", 150 },   { "fork_max_ms", 500 },   { "child_requests", 12 },
    { "child_timeout_ms", 60000 }, { "deadline_ms", 0 },
};
#define NOPTS (sizeof opts / sizeof opts[0])

static long opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    abort(); /* a name in this file that is not in opts */
}

static const char *host, *port, *name;
static struct sockaddr_in server_addr;
static int log_fd = -1;
static long total_requests;
static long long start_ms; /* when the process (or the forked child) started */
static atomic_bool past_deadline;

static atomic_long n_requests, n_ok, n_failed, n_hung, n_mismatched, n_anomalies;
static atomic_long n_sigpipe;
static atomic_llong max_write_ms;

/* --- small things ---------------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static long rnd_between(uint64_t *s, long lo, long hi)
{
    return hi <= lo ? lo : lo + (long)(xorshift(s) % (uint64_t)(hi - lo + 1));
}

static bool chance_pct(uint64_t *s, long pct)
{
    return (long)(xorshift(s) % 100) < pct;
}

static uint64_t seed_for(long worker)
{
    uint64_t s = ((uint64_t)opt("seed") * 1000003u + (uint64_t)worker + 1) * 0x9E3779B97F4A7C15ull;
    for (const char *p = name; *p; p++)
        s = (s ^ (unsigned char)*p) * 0x100000001B3ull;
    return s ? s : 1;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True once deadline_ms (if set) has passed since the start: no new request then. */
static bool deadline_passed(void)
{
    if (opt("deadline_ms") > 0 && !atomic_load(&past_deadline) && mono_ms() - start_ms > opt("deadline_ms"))
        atomic_store(&past_deadline, true);
    return atomic_load(&past_deadline);
}

/* One line to LOG in one write(2); exits on a failed write (the check would be wrong). */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n, e = errno;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(log_fd, line, (size_t)n) != n) {
        fprintf(stderr, "chaos_client %s: write to the log: %s\n", name, strerror(errno));
        exit(1);
    }
    errno = e;
}

static void on_sigpipe(int sig)
{
    (void)sig;
    atomic_fetch_add(&n_sigpipe, 1);
}

static void note_write_ms(long long ms)
{
    long long cur = atomic_load(&max_write_ms);
    while (ms > cur && !atomic_compare_exchange_weak(&max_write_ms, &cur, ms))
        ;
}

/* The wait before a worker's next request. */
static long draw_gap(uint64_t *s)
{
    long x = (long)(xorshift(s) % 100);

    if (x < opt("long_pct"))
        return rnd_between(s, opt("long_min_ms"), opt("long_max_ms"));
    if (x < opt("long_pct") + opt("medium_pct"))
        return rnd_between(s, opt("medium_min_ms"), opt("medium_max_ms"));
    return rnd_between(s, 0, opt("short_max_ms"));
}

/* Builds request ID (WORKER.SEQ under NAME, PREFIX between) in REQ; its
 * length, the reply expected in EXPECT (size 128). */
static size_t make_request(uint64_t *s, const char *worker, long seq, char *id, size_t idsize, char *req,
                           char *expect)
{
    long pad = chance_pct(s, opt("big_pct")) ? rnd_between(s, 0, opt("big_max")) : rnd_between(s, 0, opt("pad_max"));
    size_t len;

    snprintf(id, idsize, "%s.%s.%ld", name, worker, seq);
    len = (size_t)snprintf(req, REQ_MAX, "id=%s n=%ld pad=", id, pad);
    for (long i = 0; i < pad && len < REQ_MAX - 2; i++)
        req[len++] = (char)('a' + xorshift(s) % 26);
    req[len++] = '\n';
    snprintf(expect, 128, "ok %s\n", id);
    return len;
}

/* --- blocking connections (threads, fork) -------------------------------------------------- */

static struct timeval tv_ms(long ms)
{
    return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* What the program set on a connection; checked after every reply, since a
 * swap must carry all of it over to the new socket. */
struct settings {
    bool cloexec, nonblock, nodelay;
    long rcvtimeo_ms; /* 0: not set */
};

/* fork mode: the program's sockets are never FD_CLOEXEC, so that a CLOEXEC
 * socket a child inherits can only be one the library was making. */
static bool never_cloexec;

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

/* After a reply on FD: an anomaly if a setting of SET was lost. */
static void check_settings(int fd, const struct settings *set, const char *id)
{
    char why[160];

    if (!settings_hold(fd, set, why, sizeof why)) {
        say("V %s lost-setting fd=%d id=%s %s", name, fd, id, why);
        atomic_fetch_add(&n_anomalies, 1);
    }
}

/* A connected blocking socket (with the options described above, recorded in
 * *SET), or -1 with *WHY set. */
static int dial_blocking(uint64_t *s, struct settings *set, const char **why)
{
    struct timeval ct = tv_ms(opt("connect_ms")), ht = tv_ms(opt("hang_ms"));
    int fd, one = 1;

    set->cloexec = !never_cloexec && chance_pct(s, 50);
    set->nonblock = false;
    set->nodelay = chance_pct(s, 50);
    set->rcvtimeo_ms = opt("hang_ms");
    fd = socket(AF_INET, SOCK_STREAM | (set->cloexec ? SOCK_CLOEXEC : 0), 0);
    if (fd < 0) {
        *why = errname(errno);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ct, sizeof ct);
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0) {
        /* SO_SNDTIMEO ran out: the connect is still under way */
        *why = errno == EINPROGRESS || errno == EAGAIN ? "timeout" : errname(errno);
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ht, sizeof ht);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ht, sizeof ht);
    if (set->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Writes LEN bytes of REQ on blocking FD, in one write or (split_pct) two;
 * NULL if all went, else "OP:WHY" in a static per-thread buffer. */
static const char *write_request(uint64_t *s, int fd, const char *req, size_t len)
{
    static __thread char why[64];
    size_t first = len;
    ssize_t n;
    long long t0 = mono_ms();

    if (len > 1 && chance_pct(s, opt("split_pct")))
        first = (size_t)rnd_between(s, 1, (long)len - 1);
    n = write_once(fd, req, first);
    note_write_ms(mono_ms() - t0);
    if (n < 0) {
        snprintf(why, sizeof why, "%s:%s", "write", errno == EAGAIN ? "timeout" : errname(errno));
        return why;
    }
    if ((size_t)n < first) {
        snprintf(why, sizeof why, "write2:short");
        return why;
    }
    if (first == len)
        return NULL;
    sleep_ms(rnd_between(s, 0, 2));
    n = write_once(fd, req + first, len - first);
    if (n != (ssize_t)(len - first)) {
        snprintf(why, sizeof why, "write2:%s", n < 0 ? (errno == EAGAIN ? "timeout" : errname(errno)) : "short");
        return why;
    }
    return NULL;
}

/* One request on *FD (dialled first if it is -1) by worker WORKER, logged.
 * After any failure the connection is closed and *FD = -1. */
static void blocking_request(uint64_t *s, int *fd, struct settings *set, const char *worker, long seq)
{
    static __thread char req[REQ_MAX];
    char id[128], expect[128], resp[256];
    const char *why = NULL;
    size_t len = make_request(s, worker, seq, id, sizeof id, req, expect), got;
    long long t0 = mono_ms();
    int rc;

    atomic_fetch_add(&n_requests, 1);
    if (*fd < 0) {
        const char *cwhy;
        *fd = dial_blocking(s, set, &cwhy);
        if (*fd < 0) {
            say("F %s connect:%s ms=%lld lp=0", id, cwhy, mono_ms() - t0);
            atomic_fetch_add(&n_failed, 1);
            return;
        }
    }
    t0 = mono_ms();
    why = write_request(s, *fd, req, len);
    if (why && strstr(why, ":timeout")) {
        say("H %s %s ms=%lld", id, why, mono_ms() - t0);
        atomic_fetch_add(&n_hung, 1);
        goto failed;
    }
    if (why) {
        say("F %s %s ms=%lld lp=%d", id, why, mono_ms() - t0, local_port(*fd));
        atomic_fetch_add(&n_failed, 1);
        goto failed;
    }
    rc = read_line(*fd, resp, sizeof resp, &got);
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        say("H %s read ms=%lld", id, mono_ms() - t0);
        atomic_fetch_add(&n_hung, 1);
        goto failed;
    }
    if (rc == 1 && strcmp(resp, expect) == 0) {
        say("R %s ms=%lld lp=%d", id, mono_ms() - t0, local_port(*fd));
        atomic_fetch_add(&n_ok, 1);
        check_settings(*fd, set, id);
        return;
    }
    if (rc == 1 || got > 0) {
        resp[strcspn(resp, "\n")] = '\0';
        say("M %s got=%.100s", id, resp);
        atomic_fetch_add(&n_mismatched, 1);
        goto failed;
    }
    say("F %s read:%s ms=%lld lp=%d", id, rc == 0 ? "EOF" : errname(errno), mono_ms() - t0, local_port(*fd));
    atomic_fetch_add(&n_failed, 1);
failed:
    close(*fd);
    *fd = -1;
}

/* --- threads: a pool ---------------------------------------------------------------------- */

struct pconn {
    pthread_mutex_t lock; /* held for a whole request/response */
    int fd;               /* -1: dialled at its next use */
    struct settings set;
    long long last_ms;    /* end of its last use (under lock) */
};

static struct pconn pool[MAX_POOL], owned[MAX_THREADS];
static int pool_n;
static atomic_int workers_left;

/* A pooled connection, locked: the free one used most recently (70 %) or least
 * recently; if none is free, waits for the least recently used one. */
static struct pconn *pool_checkout(uint64_t *s)
{
    bool lifo = chance_pct(s, 70);
    int order[MAX_POOL];

    for (int i = 0; i < pool_n; i++) {
        int j = i;
        long long t = __atomic_load_n(&pool[i].last_ms, __ATOMIC_RELAXED);
        for (; j > 0; j--) {
            long long u = __atomic_load_n(&pool[order[j - 1]].last_ms, __ATOMIC_RELAXED);
            if (lifo ? u >= t : u <= t)
                break;
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
    for (int i = 0; i < pool_n; i++)
        if (pthread_mutex_trylock(&pool[order[i]].lock) == 0)
            return &pool[order[i]];
    pthread_mutex_lock(&pool[order[lifo ? pool_n - 1 : 0]].lock);
    return &pool[order[lifo ? pool_n - 1 : 0]];
}

struct worker {
    pthread_t thread;
    long index, requests;
    struct pconn *own; /* NULL: uses the pool */
};

static struct worker workers[MAX_THREADS];
static long nworkers;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t s = seed_for(w->index);
    char wname[24];

    snprintf(wname, sizeof wname, "%ld", w->index);
    for (long seq = 1; seq <= w->requests && !deadline_passed(); seq++) {
        struct pconn *c = w->own ? w->own : pool_checkout(&s);
        if (w->own)
            pthread_mutex_lock(&c->lock);
        blocking_request(&s, &c->fd, &c->set, wname, seq);
        __atomic_store_n(&c->last_ms, mono_ms(), __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->lock);
        if (seq < w->requests)
            sleep_ms(draw_gap(&s));
    }
    atomic_fetch_sub(&workers_left, 1);
    return NULL;
}

/* Runs the threads workload: REQUESTS split over the threads. 0 or -1. */
static int run_threads(void)
{
    long nthreads = opt("threads"), own = opt("own");

    pool_n = (int)opt("conns");
    if (nthreads < 1 || nthreads > MAX_THREADS || own > nthreads || (own < nthreads && (pool_n < 1 || pool_n > MAX_POOL))) {
        fprintf(stderr, "chaos_client: threads 1-%d, own <= threads, conns 1-%d\n", MAX_THREADS, MAX_POOL);
        exit(2);
    }
    for (int i = 0; i < MAX_POOL; i++) {
        pthread_mutex_init(&pool[i].lock, NULL);
        pool[i].fd = -1;
    }
    for (int i = 0; i < MAX_THREADS; i++)
        owned[i].fd = -1;
    atomic_store(&workers_left, (int)nthreads);
    nworkers = nthreads;
    for (long i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        w->index = i;
        w->requests = total_requests / nthreads + (i < total_requests % nthreads);
        w->own = NULL;
        if (i < own) {
            pthread_mutex_init(&owned[i].lock, NULL);
            w->own = &owned[i];
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "chaos_client: pthread_create failed\n");
            return -1;
        }
    }
    return 0;
}

static void join_threads_and_close(void)
{
    for (long i = 0; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    for (int i = 0; i < MAX_POOL; i++)
        if (pool[i].fd >= 0)
            close(pool[i].fd);
    for (int i = 0; i < MAX_THREADS; i++)
        if (owned[i].fd >= 0)
            close(owned[i].fd);
}

/* --- fork --------------------------------------------------------------------------------- */

static void summary(const char *mode, int fds_before, int fds_after);

/* In a forked child: an anomaly for every FD_CLOEXEC socket it inherited (the
 * program makes none in fork mode: a socket the library was making when the
 * parent forked, still open in the child). */
static void report_library_sockets(long k)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name), type, fl;
        socklen_t tl = sizeof type;
        if (e->d_name[0] == '.' || fd == dirfd(d) || fd == log_fd)
            continue;
        fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && (fl & FD_CLOEXEC) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) {
            say("V %s inherited-library-socket child=f%ld fd=%d lp=%d", name, k, fd, local_port(fd));
            atomic_fetch_add(&n_anomalies, 1);
        }
    }
    closedir(d);
}

/* In the child: close half of the sockets inherited from the pool, then a few
 * requests on a connection of its own; exits (atexit handlers run: the
 * library's stats line). */
static void __attribute__((noreturn)) child_main(long k, const int *inherited, int ninherited)
{
    uint64_t s = seed_for(1000 + k);
    char wname[24];
    int fd = -1, before, after;
    struct settings set;

    atomic_store(&n_requests, 0);
    atomic_store(&n_ok, 0);
    atomic_store(&n_failed, 0);
    atomic_store(&n_hung, 0);
    atomic_store(&n_mismatched, 0);
    atomic_store(&n_anomalies, 0);
    atomic_store(&n_sigpipe, 0);
    atomic_store(&max_write_ms, 0);
    start_ms = mono_ms();
    for (int i = 0; i < ninherited; i++) {
        int type;
        socklen_t tl = sizeof type;
        if (inherited[i] >= 0 && inherited[i] != log_fd && chance_pct(&s, 50) &&
            getsockopt(inherited[i], SOL_SOCKET, SO_TYPE, &type, &tl) == 0)
            close(inherited[i]);
    }
    report_library_sockets(k);
    before = count_fds();
    snprintf(wname, sizeof wname, "f%ld", k);
    for (long seq = 1; seq <= opt("child_requests"); seq++) {
        blocking_request(&s, &fd, &set, wname, seq);
        if (seq < opt("child_requests"))
            sleep_ms(draw_gap(&s));
    }
    if (fd >= 0)
        close(fd);
    after = count_fds();
    {
        char cname[64];
        snprintf(cname, sizeof cname, "%s.f%ld", name, k);
        name = cname;
        summary("fork-child", before, after);
    }
    exit(0);
}

/* Waits for child PID at most child_timeout_ms; a child that does not end is
 * logged (with where it sits) and killed.  Logs a child that failed. */
static void reap(pid_t pid, long k)
{
    long long deadline = mono_ms() + opt("child_timeout_ms");
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return;
        if (mono_ms() > deadline) {
            char path[64], wchan[64] = "?", sc[128] = "?";
            FILE *f;
            snprintf(path, sizeof path, "/proc/%d/wchan", pid);
            if ((f = fopen(path, "r"))) {
                if (!fgets(wchan, sizeof wchan, f))
                    strcpy(wchan, "?");
                fclose(f);
            }
            snprintf(path, sizeof path, "/proc/%d/syscall", pid);
            if ((f = fopen(path, "r"))) {
                if (!fgets(sc, sizeof sc, f))
                    strcpy(sc, "?");
                sc[strcspn(sc, "\n")] = '\0';
                fclose(f);
            }
            say("V %s child-hang child=f%ld pid=%d wchan=%s syscall=%s", name, k, pid, wchan, sc);
            atomic_fetch_add(&n_anomalies, 1);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return;
        }
        sleep_ms(5);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        say("V %s child-exit child=f%ld pid=%d status=0x%x", name, k, pid, st);
        atomic_fetch_add(&n_anomalies, 1);
    }
}

/* The forking thread of the fork mode: while the workers run, a child now and then. */
static void *forker_main(void *arg)
{
    uint64_t s = seed_for(999);
    long k = 0;

    (void)arg;
    while (atomic_load(&workers_left) > 0) {
        int inherited[MAX_POOL + MAX_THREADS], n = 0;
        pid_t pid;

        sleep_ms(rnd_between(&s, opt("fork_min_ms"), opt("fork_max_ms")));
        if (atomic_load(&workers_left) == 0)
            break;
        for (int i = 0; i < pool_n; i++)
            inherited[n++] = __atomic_load_n(&pool[i].fd, __ATOMIC_RELAXED);
        for (int i = 0; i < opt("own"); i++)
            inherited[n++] = __atomic_load_n(&owned[i].fd, __ATOMIC_RELAXED);
        k++;
        pid = fork();
        if (pid == 0)
            child_main(k, inherited, n);
        if (pid < 0) {
            say("V %s fork-failed %s", name, errname(errno));
            atomic_fetch_add(&n_anomalies, 1);
            continue;
        }
        reap(pid, k);
    }
    return NULL;
}

/* --- epoll ----------------------------------------------------------------------------------- */

enum style { LT_ALWAYS, LT_INTEREST, ET_LAZY, ONESHOT };
static const char *const style_names[] = { "lt-always", "lt-interest", "et-lazy", "oneshot" };

enum slot_state { S_IDLE, S_CONNECTING, S_WRITING, S_READING, S_DONE };

struct slot {
    int fd;
    uint32_t gen;          /* the low half of data.u64; new for each connection */
    enum style style;
    enum slot_state st;
    bool armed;            /* oneshot: armed and not fired */
    bool arm_next_turn;    /* oneshot: arm after the next epoll_wait */
    long long wake_ms;     /* S_IDLE: next request; else its deadline */
    long long t0;          /* the request's first write */
    long seq, requests;
    char id[128], expect[128];
    char req[REQ_MAX];
    size_t len, off, split; /* bytes of req, written so far, first part's length */
    char resp[256];
    size_t got;
    uint64_t rng;
    struct settings set;
};

static struct slot slots[MAX_SLOTS];
static int nslots, ep = -1;

static uint64_t slot_tag(const struct slot *sl)
{
    return (uint64_t)(sl - slots) << 32 | sl->gen;
}

/* epoll_ctl for SL with EVENTS in its style (the style's flags added); an
 * EPOLL_CTL_MOD that fails is an anomaly (a lost registration). */
static int slot_ctl(struct slot *sl, int op, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.u64 = slot_tag(sl) };

    if (sl->style == ET_LAZY)
        ev.events |= EPOLLRDHUP | EPOLLET;
    if (sl->style == ONESHOT)
        ev.events |= EPOLLONESHOT;
    if (epoll_ctl(ep, op, sl->fd, &ev) != 0) {
        if (op == EPOLL_CTL_MOD) {
            say("V %s epoll-ctl slot=%ld style=%s MOD:%s id=%s", name, (long)(sl - slots), style_names[sl->style],
                errname(errno), sl->id);
            atomic_fetch_add(&n_anomalies, 1);
        }
        return -1;
    }
    return 0;
}

/* The events SL is registered for while it waits for nothing. */
static uint32_t idle_events(const struct slot *sl)
{
    return sl->style == LT_ALWAYS || sl->style == ET_LAZY ? EPOLLIN : 0;
}

static void slot_event(struct slot *sl, uint32_t ev);

static void slot_close(struct slot *sl)
{
    if (sl->fd >= 0)
        close(sl->fd);
    sl->fd = -1;
    sl->armed = sl->arm_next_turn = false;
}

/* After SL's request had its outcome: idles until the next one, or is done. */
static void slot_next(struct slot *sl)
{
    if (sl->seq >= sl->requests) {
        sl->st = S_DONE;
        slot_close(sl);
        return;
    }
    sl->st = S_IDLE;
    sl->wake_ms = mono_ms() + draw_gap(&sl->rng);
}

static void slot_fail(struct slot *sl, const char *op, const char *why)
{
    say("F %s %s:%s ms=%lld lp=%d", sl->id, op, why, mono_ms() - sl->t0, sl->fd >= 0 ? local_port(sl->fd) : 0);
    atomic_fetch_add(&n_failed, 1);
    slot_close(sl);
    slot_next(sl);
}

/* Writes what is left of SL's request (the second part after 0-2 ms if split). */
static void slot_write(struct slot *sl)
{
    while (sl->off < sl->len) {
        size_t end = sl->off < sl->split ? sl->split : sl->len;
        long long t0 = mono_ms(), took;
        ssize_t n = write(sl->fd, sl->req + sl->off, end - sl->off);

        took = mono_ms() - t0;
        note_write_ms(took);
        if (took >= 100)
            say("W %s write_ms=%lld id=%s", name, took, sl->id);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = { sl->fd, POLLOUT, 0 };
            if (poll(&p, 1, (int)opt("hang_ms")) <= 0) {
                say("H %s write ms=%lld", sl->id, mono_ms() - sl->t0);
                atomic_fetch_add(&n_hung, 1);
                slot_close(sl);
                slot_next(sl);
                return;
            }
            continue;
        }
        if (n < 0) {
            slot_fail(sl, sl->off == 0 ? "write" : "write2", errname(errno));
            return;
        }
        sl->off += (size_t)n;
        if (sl->off == sl->split && sl->split < sl->len)
            sleep_ms(rnd_between(&sl->rng, 0, 2));
    }
    sl->st = S_READING;
    sl->got = 0;
    sl->wake_ms = sl->t0 + opt("hang_ms");
    if (sl->style == LT_INTEREST)
        slot_ctl(sl, EPOLL_CTL_MOD, EPOLLIN);
    else if (sl->style == ONESHOT)
        sl->arm_next_turn = true;
    else if (sl->style == ET_LAZY)
        slot_event(sl, EPOLLIN); /* it ignored the edges while idle: read first, then wait for one */
}

/* A new non-blocking socket for SL, made so in one of three ways (SOCK_NONBLOCK,
 * fcntl, ioctl FIONBIO), FD_CLOEXEC and TCP_NODELAY half of the time each:
 * what a swap has to carry over, recorded in SL->set.  0, or -1 with errno. */
static int open_nonblocking(struct slot *sl)
{
    int how = (int)(xorshift(&sl->rng) % 3), one = 1;

    sl->set = (struct settings){ .cloexec = chance_pct(&sl->rng, 50), .nonblock = true,
                                 .nodelay = chance_pct(&sl->rng, 50) };
    sl->fd = socket(AF_INET, SOCK_STREAM | (how == 0 ? SOCK_NONBLOCK : 0) | (sl->set.cloexec ? SOCK_CLOEXEC : 0), 0);
    if (sl->fd < 0)
        return -1;
    if ((how == 1 && fcntl(sl->fd, F_SETFL, fcntl(sl->fd, F_GETFL) | O_NONBLOCK) != 0) ||
        (how == 2 && ioctl(sl->fd, FIONBIO, &one) != 0) ||
        (sl->set.nodelay && setsockopt(sl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)) {
        int e = errno;
        close(sl->fd);
        sl->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

/* Starts SL's next request: dials first if it has no connection. */
static void slot_start(struct slot *sl)
{
    char wname[24];

    sl->seq++;
    snprintf(wname, sizeof wname, "e%ld", (long)(sl - slots));
    sl->len = make_request(&sl->rng, wname, sl->seq, sl->id, sizeof sl->id, sl->req, sl->expect);
    sl->off = 0;
    sl->split = sl->len;
    if (sl->len > 1 && chance_pct(&sl->rng, opt("split_pct")))
        sl->split = (size_t)rnd_between(&sl->rng, 1, (long)sl->len - 1);
    sl->t0 = mono_ms();
    atomic_fetch_add(&n_requests, 1);
    if (sl->fd >= 0) {
        sl->st = S_WRITING;
        slot_write(sl);
        return;
    }
    if (open_nonblocking(sl) != 0) {
        slot_fail(sl, "connect", errname(errno));
        return;
    }
    sl->gen++;
    sl->style = (enum style)(xorshift(&sl->rng) % 4);
    if (connect(sl->fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0 && errno != EINPROGRESS) {
        slot_fail(sl, "connect", errname(errno));
        return;
    }
    sl->st = S_CONNECTING;
    sl->wake_ms = sl->t0 + opt("connect_ms");
    sl->armed = true;
    slot_ctl(sl, EPOLL_CTL_ADD, EPOLLOUT);
}

/* An event for SL (EV: its events). */
static void slot_event(struct slot *sl, uint32_t ev)
{
    if (sl->st == S_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (err) {
            slot_fail(sl, "connect", errname(err));
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        /* oneshot: the EPOLLOUT fired, so it stays disarmed until a request is written */
        if (sl->style != ONESHOT)
            slot_ctl(sl, EPOLL_CTL_MOD, idle_events(sl));
        sl->st = S_WRITING;
        sl->t0 = mono_ms();
        slot_write(sl);
        return;
    }
    if (sl->st == S_IDLE || sl->st == S_WRITING) {
        char buf[256];
        ssize_t n;
        if (sl->style == LT_INTEREST && (ev & (EPOLLHUP | EPOLLERR))) {
            /* level-triggered and reported whatever the mask: a loop must act on it */
            slot_close(sl);
            return;
        }
        if (sl->style != LT_ALWAYS || sl->st != S_IDLE)
            return; /* et-lazy ignores it (once: edge-triggered) */
        n = read(sl->fd, buf, sizeof buf);
        if (n > 0) {
            say("V %s stray-data slot=%ld style=%s after=%s bytes=%.60s", name, (long)(sl - slots),
                style_names[sl->style], sl->id, buf);
            slot_close(sl);
            return;
            atomic_fetch_add(&n_anomalies, 1);
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            slot_close(sl); /* the program saw the close: it dials at its next request */
        return;
    }
    if (sl->st != S_READING)
        return;
    for (;;) {
        ssize_t n = read(sl->fd, sl->resp + sl->got, sizeof sl->resp - 1 - sl->got);
        if (n > 0) {
            sl->got += (size_t)n;
            sl->resp[sl->got] = '\0';
            if (sl->resp[sl->got - 1] == '\n' || sl->got == sizeof sl->resp - 1)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (sl->style == ONESHOT) { /* fired: arm it again for the rest */
                if (slot_ctl(sl, EPOLL_CTL_MOD, EPOLLIN) == 0)
                    sl->armed = true;
            }
            return;
        }
        if (sl->got > 0)
            break;
        slot_fail(sl, "read", n == 0 ? "EOF" : errname(errno));
        return;
    }
    if (strcmp(sl->resp, sl->expect) == 0) {
        say("R %s ms=%lld lp=%d", sl->id, mono_ms() - sl->t0, local_port(sl->fd));
        atomic_fetch_add(&n_ok, 1);
        check_settings(sl->fd, &sl->set, sl->id);
        if (sl->style == LT_INTEREST)
            slot_ctl(sl, EPOLL_CTL_MOD, 0);
        slot_next(sl);
        return;
    }
    sl->resp[strcspn(sl->resp, "\n")] = '\0';
    say("M %s got=%.100s", sl->id, sl->resp);
    atomic_fetch_add(&n_mismatched, 1);
    slot_close(sl);
    slot_next(sl);
}

static int run_epoll(void)
{
    long done = 0;

    nslots = (int)opt("conns");
    if (nslots < 1 || nslots > MAX_SLOTS) {
        fprintf(stderr, "chaos_client: conns 1-%d\n", MAX_SLOTS);
        exit(2);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -1;
    for (int i = 0; i < nslots; i++) {
        struct slot *sl = &slots[i];
        sl->fd = -1;
        sl->rng = seed_for(i);
        sl->requests = total_requests / nslots + (i < total_requests % nslots);
        sl->st = sl->requests > 0 ? S_IDLE : S_DONE;
        sl->wake_ms = mono_ms() + rnd_between(&sl->rng, 0, 50);
    }
    while (done < nslots) {
        struct epoll_event evs[64];
        long long now = mono_ms(), next = now + 1000;
        int n, timeout;

        done = 0;
        for (int i = 0; i < nslots; i++) {
            if (slots[i].st == S_DONE)
                done++;
            else if (slots[i].arm_next_turn)
                next = now;
            else if (slots[i].wake_ms < next)
                next = slots[i].wake_ms;
        }
        if (done == nslots)
            break;
        timeout = next <= now ? 0 : (int)(next - now);
        n = epoll_wait(ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "chaos_client: epoll_wait: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t idx = evs[i].data.u64 >> 32;
            struct slot *sl = idx < (uint64_t)nslots ? &slots[idx] : NULL;

            if (sl == NULL || sl->fd < 0 || (uint32_t)evs[i].data.u64 != sl->gen) {
                say("V %s stale-event data=0x%llx events=0x%x", name, (unsigned long long)evs[i].data.u64,
                    evs[i].events);
                atomic_fetch_add(&n_anomalies, 1);
                continue;
            }
            if (sl->style == ONESHOT) {
                if (!sl->armed) {
                    say("V %s oneshot-rearmed slot=%ld state=%d events=0x%x id=%s", name, (long)idx, sl->st,
                        evs[i].events, sl->id);
                    atomic_fetch_add(&n_anomalies, 1);
                }
                sl->armed = false;
            }
            slot_event(sl, evs[i].events);
        }
        for (int i = 0; i < nslots; i++) {
            struct slot *sl = &slots[i];
            if (sl->arm_next_turn && sl->fd >= 0) {
                sl->arm_next_turn = false;
                if (slot_ctl(sl, EPOLL_CTL_MOD, EPOLLIN) == 0)
                    sl->armed = true;
            }
        }
        now = mono_ms();
        for (int i = 0; i < nslots; i++) {
            struct slot *sl = &slots[i];
            if (sl->st == S_DONE || sl->wake_ms > now)
                continue;
            if (sl->st == S_IDLE && deadline_passed()) {
                sl->st = S_DONE;
                slot_close(sl);
            } else if (sl->st == S_IDLE) {
                slot_start(sl);
            } else if (sl->st == S_CONNECTING) {
                slot_fail(sl, "connect", "timeout");
            } else {
                say("H %s %s ms=%lld", sl->id, sl->st == S_READING ? "read" : "write", now - sl->t0);
                atomic_fetch_add(&n_hung, 1);
                slot_close(sl);
                slot_next(sl);
            }
        }
    }
    close(ep);
    ep = -1;
    return 0;
}

/* --- main ------------------------------------------------------------------------------------ */

static void summary(const char *mode, int fds_before, int fds_after)
{
    say("S name=%s pid=%d mode=%s requests=%ld ok=%ld failed=%ld hung=%ld mismatched=%ld anomalies=%ld "
        "sigpipe=%ld fds_before=%d fds_after=%d max_write_ms=%lld seconds=%.1f deadline_hit=%d",
        name, getpid(), mode, atomic_load(&n_requests), atomic_load(&n_ok), atomic_load(&n_failed),
        atomic_load(&n_hung), atomic_load(&n_mismatched), atomic_load(&n_anomalies), atomic_load(&n_sigpipe),
        fds_before, fds_after, atomic_load(&max_write_ms), (double)(mono_ms() - start_ms) / 1000,
        (int)atomic_load(&past_deadline));
}

int main(int argc, char **argv)
{
    const char *mode;
    int before, after;
    pthread_t forker;

    if (argc < 7) {
        fprintf(stderr, "usage: chaos_client threads|epoll|fork HOST PORT NAME LOG REQUESTS [KEY=VALUE ...]\n");
        return 2;
    }
    mode = argv[1];
    host = argv[2];
    port = argv[3];
    name = argv[4];
    total_requests = parse_num("chaos_client", argv[6], "REQUESTS");
    if (ipv4_addr(&server_addr, host, port) != 0) {
        fprintf(stderr, "chaos_client: HOST must be an IPv4 address: %s\n", host);
        return 2;
    }
    for (int i = 7; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        size_t k;
        for (k = 0; eq && k < NOPTS; k++)
            if (strlen(opts[k].name) == (size_t)(eq - argv[i]) &&
                memcmp(opts[k].name, argv[i], (size_t)(eq - argv[i])) == 0)
                break;
        if (eq == NULL || k == NOPTS) {
            fprintf(stderr, "chaos_client: unknown option %s; keys:", argv[i]);
            for (k = 0; k < NOPTS; k++)
                fprintf(stderr, " %s", opts[k].name);
            fprintf(stderr, "\n");
            return 2;
        }
        opts[k].value = parse_num("chaos_client", eq + 1, opts[k].name);
    }
    if (strcmp(mode, "threads") != 0 && strcmp(mode, "epoll") != 0 && strcmp(mode, "fork") != 0) {
        fprintf(stderr, "chaos_client: MODE is threads, epoll or fork\n");
        return 2;
    }
    sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = on_sigpipe, .sa_flags = SA_RESTART }, NULL);
    log_fd = open(argv[5], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "chaos_client: open %s: %s\n", argv[5], strerror(errno));
        return 1;
    }
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
