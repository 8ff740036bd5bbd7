/*
 * chaos_loop.c — the epoll mode of chaos_client: one thread, `conns`
 * non-blocking connections in one epoll set, each a slot with its own request
 * schedule and one of four registration styles (lt-always, lt-interest,
 * et-lazy, oneshot); every event's tag is checked against its connection.
 */
#include "chaos_client.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

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
    char id[128], expect[REPLY_MAX];
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
            say("V %s epoll-ctl slot=%ld style=%s MOD:%s id=%s", client_name, (long)(sl - slots), style_names[sl->style],
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
            say("W %s write_ms=%lld id=%s", client_name, took, sl->id);
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
            say("V %s stray-data slot=%ld style=%s after=%s bytes=%.60s", client_name, (long)(sl - slots),
                style_names[sl->style], sl->id, buf);
            atomic_fetch_add(&n_anomalies, 1);
            slot_close(sl);
            return;
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

int run_epoll(void)
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
                say("V %s stale-event data=0x%llx events=0x%x", client_name, (unsigned long long)evs[i].data.u64,
                    evs[i].events);
                atomic_fetch_add(&n_anomalies, 1);
                continue;
            }
            if (sl->style == ONESHOT) {
                if (!sl->armed) {
                    say("V %s oneshot-rearmed slot=%ld state=%d events=0x%x id=%s", client_name, (long)idx, sl->st,
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
