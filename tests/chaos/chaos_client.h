/*
 * chaos_client.h — what the files of chaos_client share: its options and
 * counters (chaos_client.c), the settings a swap must carry over, and each
 * mode's entry points: the blocking pools (chaos_pool.c), the forking pool
 * (chaos_fork.c), the epoll loop (chaos_loop.c).  The modes and the log lines
 * are described in chaos_client.c.
 */
#ifndef HC_CHAOS_CLIENT_H
#define HC_CHAOS_CLIENT_H

#include "chaos_common.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_THREADS 64
#define MAX_POOL 64
#define MAX_SLOTS 256

/* --- chaos_client.c: options, state, counters, what every mode uses --------------------------- */

/* The value of option KEY (see opts in chaos_client.c). */
long opt(const char *key);

extern const char *client_name; /* NAME (a forked child's: NAME.fK) */
extern struct sockaddr_in server_addr;
extern long total_requests;
extern long long start_ms; /* when the process (or the forked child) started */
extern atomic_bool past_deadline;
extern atomic_long n_requests, n_ok, n_failed, n_hung, n_mismatched, n_anomalies;
extern atomic_long n_sigpipe;
extern atomic_llong max_write_ms;

/* The first random state of worker WORKER (from seed and NAME). */
uint64_t seed_for(long worker);
/* True once deadline_ms (if set) has passed since the start: no new request then. */
bool deadline_passed(void);
/* Records a write() that took MS (the largest goes in the summary). */
void note_write_ms(long long ms);
/* The wait before a worker's next request. */
long draw_gap(uint64_t *s);
/* Builds request ID (NAME.WORKER.SEQ, IDSIZE bytes) in REQ (REQ_MAX bytes); its length, the
 * reply expected in EXPECT (REPLY_MAX bytes). */
size_t make_request(uint64_t *s, const char *worker, long seq, char *id, size_t idsize, char *req, char *expect);

/* What the program set on a connection; checked after every reply, since a
 * swap must carry all of it over to the new socket. */
struct settings {
    bool cloexec, nonblock, nodelay;
    long rcvtimeo_ms; /* 0: not set */
};

/* fork mode: the program's sockets are never FD_CLOEXEC, so that a CLOEXEC
 * socket a child inherits can only be one the library was making. */
extern bool never_cloexec;

/* After a reply on FD to request ID: an anomaly (V lost-setting) if a setting of SET was lost. */
void check_settings(int fd, const struct settings *set, const char *id);
/* The S line of this process (MODE: threads, epoll, fork or fork-child). */
void summary(const char *mode, int fds_before, int fds_after);

/* --- chaos_pool.c: blocking connections and the thread pools (threads, fork) ----------------- */

struct pconn {
    pthread_mutex_t lock; /* held for a whole request/response */
    int fd;               /* -1: dialled at its next use */
    struct settings set;
    long long last_ms;    /* end of its last use (under lock) */
};

extern struct pconn pool[MAX_POOL], owned[MAX_THREADS];
extern int pool_n;
extern atomic_int workers_left; /* worker threads still running */

/* One request on *FD (dialled first if it is -1, with *SET) by worker WORKER, logged.
 * After any failure the connection is closed and *FD = -1. */
void blocking_request(uint64_t *s, int *fd, struct settings *set, const char *worker, long seq);
/* Starts the worker threads: REQUESTS split over them. 0 or -1. */
int run_threads(void);
/* Waits for the workers, then closes every connection. */
void join_threads_and_close(void);

/* --- chaos_fork.c: the forking thread of the fork mode ---------------------------------------- */

void *forker_main(void *arg);

/* --- chaos_loop.c: the epoll mode ---------------------------------------------------------- */

/* Runs the epoll workload to its end. 0 or -1. */
int run_epoll(void);

#endif /* HC_CHAOS_CLIENT_H */
