/*
 * thread_client — many threads doing request/response against an echo
 * server that closes idle connections: some threads own a connection, the
 * others share a small pool.
 *
 *   thread_client HOST PORT OWN POOLED POOL_CONNS ROUNDS LONG_EVERY SHORT_MAX_MS LONG_MIN_MS LONG_MAX_MS [SEED]
 *
 * OWN threads each dial their own connection; POOLED threads share
 * POOL_CONNS connections, checking one out for a whole request/response (a
 * mutex per connection; the free connection idle longest first, else wait
 * for it, as a pool does).  Every thread makes ROUNDS requests, the line
 * "tID sSEQ FILL\n" (thread id, sequence number, 0-63 filler bytes: every
 * request is unique), written in one write(), and reads until a whole line
 * has come back, which must be that request's echo.  Between requests it
 * sleeps 0..SHORT_MAX_MS, and after every LONG_EVERY-th request (not the
 * last) LONG_MIN_MS..LONG_MAX_MS: an own connection then goes stale; the
 * pooled threads first wait for each other (a barrier), so the whole pool is
 * quiet for at least LONG_MIN_MS and every pooled connection goes stale.
 * Gaps are random (rand_r, seeded with SEED, default 1, and the thread id).
 *
 * A request that fails (EOF, an errno, a short write) is counted, reported on
 * stderr as "thread_client: tID sSEQ (own|pool N) after MS ms idle: OP: REASON"
 * and its connection redialled (close, connect), as a pool would; a reply
 * that is not the request's echo is a mismatch, reported the same way with
 * what came back.  At the end, one line on stdout:
 *     summary threads=N own=N pooled=N pool_conns=N requests=N sent=N matched=N
 *         mismatched=N lost=N eof=N errors=N long_idle_uses=N max_short_idle_ms=N
 *         redials=N seconds=S.S
 * (one line): sent = requests whose write went out whole; lost = requests
 * without a reply (eof + errors); long_idle_uses = requests made on a
 * connection quiet for at least LONG_MIN_MS (each one a connection the server
 * has closed, if its idle timeout is below LONG_MIN_MS); max_short_idle_ms =
 * the longest quiet time any other request found its connection in.  Then
 * "ok" and exit 0 if every request got its own reply; exit 1 otherwise; 2 on
 * usage errors or if a first connect fails.  SIGPIPE is ignored.
 */
#include "client.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_POOL 16
#define MAX_THREADS 256

struct conn {
    pthread_mutex_t lock;           /* held for a whole request/response */
    int fd;                         /* -1 after a failed redial */
    int index;                      /* pool slot, or -1 for an own connection */
    _Atomic uint64_t last_done_ns;  /* end of the last request on it (set under lock) */
};

struct worker {
    pthread_t thread;
    int id;
    struct conn *own; /* NULL: a pooled thread */
    unsigned seed;
};

static const char *host, *port;
static long rounds, long_every, short_max_ms, long_min_ms, long_max_ms;
static struct conn pool[MAX_POOL];
static int pool_conns;
static pthread_barrier_t pool_barrier;

static atomic_long n_requests, n_sent, n_matched, n_mismatched, n_eof, n_errors, n_long_idle, n_redials;
static _Atomic uint64_t max_short_idle_ns;

/* CLOCK_MONOTONIC in nanoseconds. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A random number in [LO, HI] from the thread's SEED. */
static long rand_between(unsigned *seed, long lo, long hi)
{
    return lo + (long)((unsigned long)rand_r(seed) % (unsigned long)(hi - lo + 1));
}

/* Raises *MAX to V if V is larger; lock-free. */
static void atomic_max(_Atomic uint64_t *max, uint64_t v)
{
    uint64_t cur = atomic_load(max);
    while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
        ;
}

/* Sets up C as a fresh connection (fd from dial(), which says why on failure); 0, or -1. */
static int conn_open(struct conn *c, int index)
{
    pthread_mutex_init(&c->lock, NULL);
    c->index = index;
    c->fd = dial("thread_client", host, port);
    atomic_store(&c->last_done_ns, now_ns());
    return c->fd < 0 ? -1 : 0;
}

/* Replaces C's connection by a new one after a failure (caller holds C's lock); fd -1 if that fails. */
static void conn_redial(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = dial("thread_client", host, port);
    atomic_fetch_add(&n_redials, 1);
}

/* Checks out a pooled connection: the first free one in order of longest idle, else waits for the
 * longest idle one.  Returns it locked; the caller unlocks it after its request. */
static struct conn *pool_checkout(void)
{
    int order[MAX_POOL];

    for (int i = 0; i < pool_conns; i++) {
        int j = i;
        uint64_t t = atomic_load(&pool[i].last_done_ns);
        for (; j > 0 && atomic_load(&pool[order[j - 1]].last_done_ns) > t; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (int i = 0; i < pool_conns; i++)
        if (pthread_mutex_trylock(&pool[order[i]].lock) == 0)
            return &pool[order[i]];
    pthread_mutex_lock(&pool[order[0]].lock);
    return &pool[order[0]];
}

/* Reports request SEQ of thread ID on C as failed ("OP: REASON") on stderr. */
static void report(int id, long seq, const struct conn *c, uint64_t idle_ns, const char *op, const char *reason)
{
    char where[32];

    if (c->index < 0)
        snprintf(where, sizeof where, "own");
    else
        snprintf(where, sizeof where, "pool %d", c->index);
    fprintf(stderr, "thread_client: t%02d s%05ld (%s) after %llu ms idle: %s: %s\n", id, seq, where,
            (unsigned long long)(idle_ns / 1000000), op, reason);
}

/* One request/response on C (caller holds C's lock): writes request SEQ of thread ID, reads one
 * line back and compares.  Counts the outcome; true if the reply was the request's echo. */
static bool request(struct worker *w, struct conn *c, long seq, uint64_t idle_ns)
{
    static const char filler[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
    char req[128], resp[256];
    const char *why;
    size_t len, got;
    int rc;

    len = (size_t)snprintf(req, sizeof req, "t%02d s%05ld %.*s\n", w->id, seq,
                           (int)rand_between(&w->seed, 0, sizeof filler - 2), filler);
    atomic_fetch_add(&n_requests, 1);
    why = c->fd < 0 ? "not connected" : write_reason(c->fd, req, len);
    if (why) {
        atomic_fetch_add(&n_errors, 1);
        report(w->id, seq, c, idle_ns, "write", why);
        return false;
    }
    atomic_fetch_add(&n_sent, 1);
    rc = read_line(c->fd, resp, sizeof resp, &got);
    if (rc <= 0) {
        atomic_fetch_add(rc == 0 ? &n_eof : &n_errors, 1);
        report(w->id, seq, c, idle_ns, "read", rc == 0 ? "EOF" : errname(errno));
        return false;
    }
    if (got != len || memcmp(resp, req, len) != 0) {
        char what[300];
        req[len - 1] = '\0';
        resp[strcspn(resp, "\n")] = '\0';
        snprintf(what, sizeof what, "mismatch (sent '%.40s', got '%.40s')", req, resp);
        atomic_fetch_add(&n_mismatched, 1);
        report(w->id, seq, c, idle_ns, "read", what);
        return false;
    }
    atomic_fetch_add(&n_matched, 1);
    return true;
}

/* Request SEQ of worker W on its own or a pooled connection, counting how long that connection
 * had been quiet; a failed connection is redialled. */
static void one_round(struct worker *w, long seq)
{
    struct conn *c = w->own ? w->own : pool_checkout();
    uint64_t idle;

    if (w->own)
        pthread_mutex_lock(&c->lock);
    idle = now_ns() - atomic_load(&c->last_done_ns);
    if (idle >= (uint64_t)long_min_ms * 1000000u)
        atomic_fetch_add(&n_long_idle, 1);
    else
        atomic_max(&max_short_idle_ns, idle);
    if (!request(w, c, seq, idle))
        conn_redial(c);
    atomic_store(&c->last_done_ns, now_ns());
    pthread_mutex_unlock(&c->lock);
}

/* A worker thread: ROUNDS requests with short gaps and, every LONG_EVERY, a long one. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (long seq = 1; seq <= rounds; seq++) {
        one_round(w, seq);
        if (seq == rounds)
            break;
        if (seq % long_every == 0) {
            if (!w->own)
                pthread_barrier_wait(&pool_barrier); /* the whole pool goes quiet */
            sleep_ms(rand_between(&w->seed, long_min_ms, long_max_ms));
        } else {
            sleep_ms(rand_between(&w->seed, 0, short_max_ms));
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct worker workers[MAX_THREADS];
    static struct conn owned[MAX_THREADS];
    long own, pooled, seed = 1, nthreads;
    uint64_t t0;

    if (argc != 11 && argc != 12) {
        fprintf(stderr,
                "usage: %s HOST PORT OWN POOLED POOL_CONNS ROUNDS LONG_EVERY SHORT_MAX_MS LONG_MIN_MS "
                "LONG_MAX_MS [SEED]\n",
                argv[0]);
        return 2;
    }
    host = argv[1];
    port = argv[2];
    own = parse_num("thread_client", argv[3], "OWN");
    pooled = parse_num("thread_client", argv[4], "POOLED");
    pool_conns = (int)parse_num("thread_client", argv[5], "POOL_CONNS");
    rounds = parse_num("thread_client", argv[6], "ROUNDS");
    long_every = parse_num("thread_client", argv[7], "LONG_EVERY");
    short_max_ms = parse_num("thread_client", argv[8], "SHORT_MAX_MS");
    long_min_ms = parse_num("thread_client", argv[9], "LONG_MIN_MS");
    long_max_ms = parse_num("thread_client", argv[10], "LONG_MAX_MS");
    if (argc == 12)
        seed = parse_num("thread_client", argv[11], "SEED");
    nthreads = own + pooled;
    if (nthreads < 1 || nthreads > MAX_THREADS || (pooled > 0) != (pool_conns > 0) || pool_conns > MAX_POOL ||
        rounds < 1 || long_every < 1 || long_max_ms < long_min_ms) {
        fprintf(stderr, "thread_client: bad arguments (1-%d threads, 1-%d pooled connections if any "
                        "pooled thread, ROUNDS and LONG_EVERY >= 1, LONG_MIN_MS <= LONG_MAX_MS)\n",
                MAX_THREADS, MAX_POOL);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < pool_conns; i++)
        if (conn_open(&pool[i], i) != 0)
            return 2;
    for (long i = 0; i < own; i++)
        if (conn_open(&owned[i], -1) != 0)
            return 2;
    if (pooled > 0)
        pthread_barrier_init(&pool_barrier, NULL, (unsigned)pooled);

    t0 = now_ns();
    for (long i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        w->id = (int)i;
        w->own = i < own ? &owned[i] : NULL;
        w->seed = (unsigned)seed * 7919u + (unsigned)i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "thread_client: pthread_create failed\n");
            return 2;
        }
    }
    for (long i = 0; i < nthreads; i++)
        pthread_join(workers[i].thread, NULL);

    printf("summary threads=%ld own=%ld pooled=%ld pool_conns=%d requests=%ld sent=%ld matched=%ld "
           "mismatched=%ld lost=%ld eof=%ld errors=%ld long_idle_uses=%ld max_short_idle_ms=%llu "
           "redials=%ld seconds=%.1f\n",
           nthreads, own, pooled, pool_conns, atomic_load(&n_requests), atomic_load(&n_sent),
           atomic_load(&n_matched), atomic_load(&n_mismatched), atomic_load(&n_eof) + atomic_load(&n_errors),
           atomic_load(&n_eof), atomic_load(&n_errors), atomic_load(&n_long_idle),
           (unsigned long long)(atomic_load(&max_short_idle_ns) / 1000000), atomic_load(&n_redials),
           (double)(now_ns() - t0) / 1e9);
    if (atomic_load(&n_matched) != nthreads * rounds)
        return 1;
    printf("ok\n");
    return 0;
}
