/* reconnect.c - a fresh connection to the same address, with the options and
 * bind the program gave the old one, swapped in at the same fd number. */
#define _GNU_SOURCE
#include "reconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "real.h"

bool hc_option_holds_a_reference(int level, int name)
{
	return level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_BPF ||
				       name == SO_ATTACH_REUSEPORT_CBPF || name == SO_ATTACH_REUSEPORT_EBPF);
}

int hc_connect_bounded(int s, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms)
{
	uint64_t deadline = hc_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int err = 0;
	socklen_t errlen = sizeof(err);

	if (HC_REAL(connect)(s, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	for (;;) {
		uint64_t now = hc_now_ns();
		struct pollfd p = { .fd = s, .events = POLLOUT };
		int n;
		if (now >= deadline)
			return ETIMEDOUT;
		n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return errno;
	}
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0)
		return errno;
	return err;
}

/* One attempt: a connected socket (O_NONBLOCK, FD_CLOEXEC) in *out, or an errno value. */
static int attempt(const struct hc_conn *c, unsigned timeout_ms, int *out)
{
	int s = HC_REAL(socket)(c->domain, c->type | SOCK_NONBLOCK | SOCK_CLOEXEC, c->protocol);
	int err = 0;

	if (s < 0)
		return errno;
	for (unsigned i = 0; i < c->nopts && err == 0; i++) {
		const struct hc_sockopt *o = &c->opts[i];
		if (HC_REAL(setsockopt)(s, o->level, o->name, o->val, o->len) != 0)
			err = errno;
	}
	if (err == 0 && c->bind_len > 0 && HC_REAL(bind)(s, &c->bound.sa, c->bind_len) != 0)
		err = errno;
	if (err == 0)
		err = hc_connect_bounded(s, &c->peer.sa, c->peer_len, timeout_ms);
	if (err != 0) {
		HC_REAL(close)(s);
		return err;
	}
	*out = s;
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Takes fd's registrations out of the program's epoll sets while fd still
 * names the old socket. The kernel keys them by file and drops them when the
 * file goes away, which dup3 alone does only if nothing else holds the old
 * socket; a forked child may: left live, they would go on reporting the dead
 * connection's EOF under the number of the new one. */
static void remove_epoll(const struct hc_conn *c)
{
	for (unsigned i = 0; i < c->nregs; i++)
		HC_REAL(epoll_ctl)(c->regs[i].epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

/* Adds each registration again for whatever socket fd names now, same events,
 * same data, so the event loop is woken for the new connection as it was for
 * the old one (or, if the swap failed, for the old one as before). */
static void readd_epoll(const struct hc_conn *c)
{
	for (unsigned i = 0; i < c->nregs; i++) {
		struct epoll_event ev = c->regs[i].ev;
		HC_REAL(epoll_ctl)(c->regs[i].epfd, EPOLL_CTL_ADD, c->fd, &ev);
	}
}

int hc_reconnect_open(const struct hc_conn *c, const struct hc_config *cfg, int *s, int *err)
{
	int saved = errno, e = 0;
	unsigned backoff = 50;

	for (unsigned i = 0; i <= cfg->retries; i++) {
		if (i > 0) {
			sleep_ms(backoff); /* a respawning server refuses for a moment */
			backoff *= 2;
		}
		e = attempt(c, cfg->connect_timeout_ms, s);
		if (e == 0)
			break;
	}
	*err = e;
	errno = saved;
	return e == 0 ? 0 : -1;
}

int hc_reconnect_install(const struct hc_conn *c, int s, int *err)
{
	int saved = errno, e = 0, fdflags = HC_REAL(fcntl)(c->fd, F_GETFD);

	/* Status flags as the program last set them (O_NONBLOCK included or not). */
	if (fdflags < 0 || HC_REAL(fcntl)(s, F_SETFL, c->status_flags) != 0) {
		e = errno;
	} else {
		remove_epoll(c);
		if (HC_REAL(dup3)(s, c->fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
			e = errno;
		readd_epoll(c);
	}
	HC_REAL(close)(s);
	*err = e;
	errno = saved;
	return e == 0 ? 0 : -1;
}

void hc_close_reset(int s)
{
	int saved = errno;
	struct linger rst = { 1, 0 };

	HC_REAL(setsockopt)(s, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	HC_REAL(close)(s);
	errno = saved;
}

int hc_reconnect(const struct hc_conn *c, const struct hc_config *cfg, int *err)
{
	int s;

	if (hc_reconnect_open(c, cfg, &s, err) != 0)
		return -1;
	return hc_reconnect_install(c, s, err);
}
