/* reconnect.c - a fresh connection to the same address, with the options and
 * bind the program gave the old one, swapped in at the same fd number. */
#define _GNU_SOURCE
#include "reconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "procfs.h"
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
		/* EINTR too: a signal the program is waiting for (its own alarm)
		 * ends the heal, so that its timeout works as without us. */
		if (n < 0)
			return errno;
	}
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0)
		return errno;
	return err;
}

/* Held while a socket being made changes hands with its slot, and across
 * fork (hc_reconnect_atfork_*): so a child forked by another thread never
 * inherits a socket its parent was making without the slot saying so (the
 * table's fork handler closes the sockets of the slots of healing entries). */
static pthread_mutex_t making = PTHREAD_MUTEX_INITIALIZER;

void hc_reconnect_atfork_prepare(void) { pthread_mutex_lock(&making); }
void hc_reconnect_atfork_parent(void) { pthread_mutex_unlock(&making); }
void hc_reconnect_atfork_child(void) { pthread_mutex_init(&making, NULL); }

void hc_reconnect_discard(int *slot)
{
	int saved = errno;
	struct linger rst = { 1, 0 };

	pthread_mutex_lock(&making);
	if (*slot >= 0) {
		HC_REAL(setsockopt)(*slot, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		HC_REAL(close)(*slot);
	}
	*slot = -1;
	pthread_mutex_unlock(&making);
	errno = saved;
}

/* One attempt: a connected socket (O_NONBLOCK, FD_CLOEXEC) in *slot, or an
 * errno value (and -1 in *slot). */
static int attempt(const struct hc_conn *c, unsigned timeout_ms, int *slot)
{
	int s, err = 0;

	pthread_mutex_lock(&making);
	s = *slot = HC_REAL(socket)(c->domain, c->type | SOCK_NONBLOCK | SOCK_CLOEXEC, c->protocol);
	if (s < 0)
		err = errno;
	pthread_mutex_unlock(&making);
	if (s < 0)
		return err;
	for (unsigned i = 0; i < c->nopts && err == 0; i++) {
		const struct hc_sockopt *o = &c->opts[i];
		if (HC_REAL(setsockopt)(s, o->level, o->name, o->val, o->len) != 0)
			err = errno;
	}
	if (err == 0 && c->bind_len > 0 && HC_REAL(bind)(s, &c->bound.sa, c->bind_len) != 0)
		err = errno;
	if (err == 0)
		err = hc_connect_bounded(s, &c->peer.sa, c->peer_len, timeout_ms);
	if (err != 0)
		hc_reconnect_discard(slot);
	return err;
}

/* Sleeps ms. Returns 0, or EINTR if a signal came: the heal ends. */
static int sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	return nanosleep(&ts, NULL) == 0 ? 0 : errno;
}

/* The flags of a registration that are no events (a fired EPOLLONESHOT one
 * keeps only these: the kernel's EP_PRIVATE_BITS). */
#define EPOLL_FLAG_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

/* 1 if epfd's registration of fd (the file with inode ino) is armed, 0 if it
 * is an EPOLLONESHOT one that fired and was not re-armed, -1 if that cannot
 * be told: the kernel's /proc/self/fdinfo/EPFD shows what is left of its
 * events. Read a line at a time, into a buffer on the stack. */
static int registration_armed(int epfd, int fd, uint64_t ino)
{
	char path[64], buf[4096];
	size_t have = 0;
	int f, armed = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	while (armed < 0) {
		ssize_t n = HC_REAL(read)(f, buf + have, sizeof(buf) - have);
		size_t lines = 0, pos = 0;
		struct hc_procfs_tfd t;

		if (n <= 0)
			break;
		have += (size_t)n;
		for (size_t i = 0; i < have; i++)
			if (buf[i] == '\n')
				lines = i + 1; /* whole lines only: a line cut by the buffer waits */
		while (armed < 0 && hc_procfs_next_tfd(buf, lines, &pos, &t))
			if (t.fd == fd && t.ino == ino)
				armed = (t.events & ~(uint32_t)EPOLL_FLAG_BITS) != 0;
		if (lines == 0) /* a line longer than the buffer: no registration line is */
			lines = have;
		memmove(buf, buf + lines, have - lines);
		have -= lines;
	}
	HC_REAL(close)(f);
	return armed;
}

/* Takes fd's registrations out of the program's epoll sets while fd still
 * names the old socket. The kernel keys them by file and drops them when the
 * file goes away, which dup3 alone does only if nothing else holds the old
 * socket; a forked child may: left live, they would go on reporting the dead
 * connection's EOF under the number of the new one. An EPOLLONESHOT
 * registration that fired and is not re-armed yet is marked left out: added
 * for the new socket as it is, it would be armed, and wake a second worker
 * for an fd the first still owns. */
static void remove_epoll(struct hc_conn *c)
{
	for (unsigned i = 0; i < c->nregs; i++) {
		struct hc_epoll_reg *r = &c->regs[i];
		if ((r->ev.events & EPOLLONESHOT) && !r->left_out)
			r->left_out = registration_armed(r->epfd, c->fd, c->ino) == 0;
		HC_REAL(epoll_ctl)(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	}
}

/* Adds each registration again for whatever socket fd names now, same events,
 * same data, so the event loop is woken for the new connection as it was for
 * the old one (or, if the swap failed, for the old one as before); but not
 * those left out. */
static void readd_epoll(const struct hc_conn *c)
{
	for (unsigned i = 0; i < c->nregs; i++) {
		struct epoll_event ev = c->regs[i].ev;
		if (!c->regs[i].left_out)
			HC_REAL(epoll_ctl)(c->regs[i].epfd, EPOLL_CTL_ADD, c->fd, &ev);
	}
}

int hc_reconnect_open(const struct hc_conn *c, const struct hc_config *cfg, bool nonblocking, int *s, int *err)
{
	int saved = errno, e = 0;
	unsigned backoff = 50, retries = cfg->retries, timeout = cfg->connect_timeout_ms;

	/* An event loop must not stall: one attempt, bounded by its own budget. */
	if (nonblocking) {
		retries = 0;
		if (timeout > cfg->nonblock_connect_ms)
			timeout = cfg->nonblock_connect_ms;
	}
	*s = -1;
	for (unsigned i = 0; i <= retries; i++) {
		if (i > 0) {
			e = sleep_ms(backoff); /* a respawning server refuses for a moment */
			if (e != 0)
				break;
			backoff *= 2;
		}
		e = attempt(c, timeout, s);
		if (e == 0 || e == EINTR)
			break;
	}
	*err = e;
	errno = saved;
	return e == 0 ? 0 : -1;
}

uint64_t hc_socket_inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

/* Gives s what the program set on its open file at c->fd and a dup3 would
 * not carry over: the status flags (O_NONBLOCK from fcntl or FIONBIO, O_ASYNC
 * from FIOASYNC), the owner and the signal of signal-driven I/O. Returns 0
 * or an errno value. */
static int copy_file_settings(int old, int s)
{
	struct f_owner_ex owner;
	int fl = HC_REAL(fcntl)(old, F_GETFL), sig = HC_REAL(fcntl)(old, F_GETSIG);

	if (fl < 0 || sig < 0 || HC_REAL(fcntl)(old, F_GETOWN_EX, &owner) != 0)
		return errno;
	if ((owner.pid != 0 && HC_REAL(fcntl)(s, F_SETOWN_EX, &owner) != 0) ||
	    (sig != 0 && HC_REAL(fcntl)(s, F_SETSIG, sig) != 0) ||
	    HC_REAL(fcntl)(s, F_SETFL, fl & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK)) != 0)
		return errno;
	return 0;
}

int hc_reconnect_install(struct hc_conn *c, int s, int *err)
{
	int saved = errno, e = 0, fdflags = HC_REAL(fcntl)(c->fd, F_GETFD);

	/* The number must still name the socket being healed: a signal handler
	 * of this very thread may have closed it (or put another file there)
	 * while the new connection was made. */
	if (fdflags < 0 || hc_socket_inode(c->fd) != c->ino) {
		e = EBADF;
	} else if ((e = copy_file_settings(c->fd, s)) == 0) {
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


int hc_reconnect(struct hc_conn *c, const struct hc_config *cfg, int *err)
{
	int s;

	int fl = HC_REAL(fcntl)(c->fd, F_GETFL);

	if (hc_reconnect_open(c, cfg, fl >= 0 && (fl & O_NONBLOCK), &s, err) != 0)
		return -1;
	return hc_reconnect_install(c, s, err);
}
