/*
 * fin_delay — holds every packet of one netfilter queue for a fixed time, then lets it go.
 *
 *   fin_delay QUEUE DELAY_MS READY_FILE
 *
 * tests/race/run.sh sends the test server's FIN segments here (iptables
 * NFQUEUE), so that a FIN stays "on the wire" for DELAY_MS: long enough for
 * the client to probe the socket (alive), write a request and race the FIN.
 * Any number of packets may be held at once; they leave in the order they
 * came (the delay is the same for all), each with NF_ACCEPT unchanged.
 *
 * READY_FILE is created (atomically, "ready\n") once the queue is bound, so
 * the test can wait for it.  SIGTERM or SIGINT: every packet still held is
 * accepted at once, the queue unbound, and one summary line printed on stdout:
 *   fin_delay: held N packets, at most M at once, released up to L ms late, lost 0 verdicts
 * Exit 0; 1 if the queue could not be bound or a verdict was lost (ENOBUFS: the
 * kernel dropped queue messages, so some packets were never released); 2 on
 * usage errors.
 */
#define _GNU_SOURCE
/* glibc's network headers before the kernel's (linux/netfilter.h pulls in linux/in.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HELD_MAX 65536 /* ring capacity; the queue's maxlen is the same */

struct held {
    uint32_t id;
    long long release_ns; /* CLOCK_MONOTONIC */
};

static struct held ring[HELD_MAX];
static size_t head, count;
static long long delay_ns;
static unsigned long total_held, lost_verdicts;
static size_t max_at_once;
static long long max_late_ns;
static volatile sig_atomic_t stopping;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* nfq callback: remember the packet with its release time; a full ring (not
 * expected: the queue holds no more) lets the packet go at once.  0. */
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfad, void *data)
{
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfad);
    uint32_t id;

    (void)msg;
    (void)data;
    if (ph == NULL)
        return 0;
    id = ntohl(ph->packet_id);
    if (count == HELD_MAX) {
        nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
        return 0;
    }
    ring[(head + count) % HELD_MAX] = (struct held){ id, now_ns() + delay_ns };
    count++;
    total_held++;
    if (count > max_at_once)
        max_at_once = count;
    return 0;
}

/* Accepts every held packet whose time has come (all of them if ALL). */
static void release_due(struct nfq_q_handle *qh, int all)
{
    long long t = now_ns();

    while (count > 0 && (all || ring[head].release_ns <= t)) {
        if (!all && t - ring[head].release_ns > max_late_ns)
            max_late_ns = t - ring[head].release_ns;
        nfq_set_verdict(qh, ring[head].id, NF_ACCEPT, 0, NULL);
        head = (head + 1) % HELD_MAX;
        count--;
    }
}

/* Milliseconds poll() may sleep: until the oldest held packet is due (rounded
 * up, so it is never released early), or -1 with nothing held. */
static int poll_timeout(void)
{
    long long left;

    if (count == 0)
        return -1;
    left = ring[head].release_ns - now_ns();
    if (left <= 0)
        return 0;
    return (int)((left + 999999) / 1000000);
}

/* Creates PATH with "ready\n" through a rename, so a reader never sees it half
 * written; 0 or -1. */
static int write_ready(const char *path)
{
    char tmp[4096];
    FILE *f;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return -1;
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fputs("ready\n", f);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    static char buf[65536] __attribute__((aligned));
    struct nfq_handle *h;
    struct nfq_q_handle *qh;
    struct sigaction sa;
    char *end;
    long queue, delay_ms;
    int fd, rc = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: %s QUEUE DELAY_MS READY_FILE\n", argv[0]);
        return 2;
    }
    queue = strtol(argv[1], &end, 10);
    if (*end || queue < 0 || queue > 65535) {
        fprintf(stderr, "fin_delay: bad QUEUE: %s\n", argv[1]);
        return 2;
    }
    delay_ms = strtol(argv[2], &end, 10);
    if (*end || delay_ms < 0 || delay_ms > 600000) {
        fprintf(stderr, "fin_delay: bad DELAY_MS: %s\n", argv[2]);
        return 2;
    }
    delay_ns = delay_ms * 1000000LL;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    h = nfq_open();
    if (h == NULL) {
        fprintf(stderr, "fin_delay: nfq_open: %s\n", strerror(errno));
        return 1;
    }
    qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (qh == NULL) {
        fprintf(stderr, "fin_delay: bind queue %ld: %s\n", queue, strerror(errno));
        nfq_close(h);
        return 1;
    }
    /* Metadata only: the id is all a verdict needs. */
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, HELD_MAX) < 0) {
        fprintf(stderr, "fin_delay: configure queue %ld: %s\n", queue, strerror(errno));
        nfq_destroy_queue(qh);
        nfq_close(h);
        return 1;
    }
    fd = nfq_fd(h);
    {
        int sz = 4 << 20;
        /* A bigger buffer than the default, so bursts never overflow it (ENOBUFS). */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    if (write_ready(argv[3]) != 0) {
        fprintf(stderr, "fin_delay: write %s: %s\n", argv[3], strerror(errno));
        nfq_destroy_queue(qh);
        nfq_close(h);
        return 1;
    }

    while (!stopping) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int n = poll(&pfd, 1, poll_timeout());

        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "fin_delay: poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (n > 0) {
            for (;;) {
                ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (got >= 0) {
                    nfq_handle_packet(h, buf, (int)got);
                    continue;
                }
                if (errno == ENOBUFS) { /* messages dropped: their packets wait for ever */
                    lost_verdicts++;
                    continue;
                }
                if (errno != EAGAIN && errno != EINTR) {
                    fprintf(stderr, "fin_delay: recv: %s\n", strerror(errno));
                    rc = 1;
                }
                break;
            }
        }
        release_due(qh, 0);
        if (rc)
            break;
    }
    release_due(qh, 1);
    nfq_destroy_queue(qh);
    nfq_close(h);
    printf("fin_delay: held %lu packets, at most %zu at once, released up to %lld ms late, lost %lu verdicts\n",
           total_held, max_at_once, (max_late_ns + 999999) / 1000000, lost_verdicts);
    return rc || lost_verdicts ? 1 : 0;
}
