/*
 * chaos_pool.c — chaos_client's blocking connections and thread pools (modes
 * threads and fork): the dial with its timeouts and random options, a request
 * written in one or two parts and its reply read and checked, the workers
 * with a connection of their own or checking one out of the shared pool (LIFO
 * or LRU).
 */
#include "chaos_client.h"

#include <netinet/tcp.h>

/* --- blocking connections (threads, fork) -------------------------------------------------- */

static struct timeval tv_ms(long ms)
{
    return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
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

void blocking_request(uint64_t *s, int *fd, struct settings *set, const char *worker, long seq)
{
    static __thread char req[REQ_MAX];
    char id[128], expect[REPLY_MAX], resp[256];
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

struct pconn pool[MAX_POOL], owned[MAX_THREADS];
int pool_n;
atomic_int workers_left;

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

int run_threads(void)
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

void join_threads_and_close(void)
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
