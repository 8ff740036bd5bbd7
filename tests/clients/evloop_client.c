/*
 * evloop_client — an event-loop client: one non-blocking connection, driven
 * by epoll, poll or select.
 *
 *   evloop_client MODE HOST PORT ROUNDS GAP_MS
 *
 * MODE     how it connects and becomes non-blocking     how it waits
 * epoll    SOCK_NONBLOCK, EINPROGRESS + EPOLLOUT        epoll, level-triggered
 * epoll-et the same                                     epoll, EPOLLIN|EPOLLET
 * oneshot  the same                                     epoll, EPOLLONESHOT re-armed with
 *                                                       EPOLL_CTL_MOD before each wait
 * poll     blocking connect, then fcntl(F_SETFL, O_NONBLOCK)      poll
 * select   blocking connect, then ioctl(FIONBIO)                  select
 *
 * ROUNDS times: writes "req N\n" (waiting for writability on EAGAIN), waits
 * (at most 3 s) until the fd is readable, reads until the echo is complete,
 * checks that the socket is still non-blocking (one more read must fail with
 * EAGAIN: a swapped-in socket that lost O_NONBLOCK would block there, until
 * an alarm 2 s later interrupts it) and sleeps GAP_MS without looking at the socket (a
 * pooled connection). epoll registrations carry data.u64 = 0x5eed, checked on
 * every event. Prints "ok" and exits 0 if every echo matched; otherwise one
 * line on stderr "evloop_client MODE: round N: REASON" (EOF, timeout, an
 * errno name, mismatch, "blocking") and exit 1. Usage errors exit 2.
 */
#include "client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>

enum mode { EPOLL_LT, EPOLL_ET, EPOLL_ONESHOT, POLL, SELECT };

static const char *const mode_names[] = { "epoll", "epoll-et", "oneshot", "poll", "select" };

#define DATA 0x5eedu
#define WAIT_MS 3000

static enum mode mode;
static int ep = -1;

/* The registration for fd with events in the mode's style. */
static int epoll_set(int fd, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = DATA };

	if (mode == EPOLL_ET)
		ev.events |= EPOLLET;
	if (mode == EPOLL_ONESHOT)
		ev.events |= EPOLLONESHOT;
	return epoll_ctl(ep, op, fd, &ev);
}

/* Waits until fd is ready for events (EPOLLIN or EPOLLOUT): 1 ready, 0 timeout, -1 error. */
static int wait_ready(int fd, uint32_t events)
{
	struct epoll_event got;
	int n;

	switch (mode) {
	case POLL: {
		struct pollfd p = { .fd = fd, .events = events == EPOLLIN ? POLLIN : POLLOUT };
		return poll(&p, 1, WAIT_MS) < 0 ? -1 : p.revents != 0;
	}
	case SELECT: {
		fd_set set;
		struct timeval tv = { WAIT_MS / 1000, 0 };
		FD_ZERO(&set);
		FD_SET(fd, &set);
		n = select(fd + 1, events == EPOLLIN ? &set : NULL, events == EPOLLOUT ? &set : NULL, NULL, &tv);
		return n < 0 ? -1 : n > 0;
	}
	default:
		if (mode == EPOLL_ONESHOT && epoll_set(fd, EPOLL_CTL_MOD, events) != 0)
			return -1;
		n = epoll_wait(ep, &got, 1, WAIT_MS);
		if (n > 0 && got.data.u64 != DATA)
			return -1;
		return n < 0 ? -1 : n > 0;
	}
}

static int fail(int round, const char *why)
{
	fprintf(stderr, "evloop_client %s: round %d: %s\n", mode_names[mode], round, why);
	return 1;
}

/* A connected non-blocking socket, made the mode's way; -1 with errno. */
static int connect_nonblocking(const struct sockaddr_in *addr)
{
	int fd, on = 1, err = 0;
	socklen_t errlen = sizeof(err);

	if (mode == POLL || mode == SELECT) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0)
			return -1;
		if (mode == POLL)
			return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 ? fd : -1;
		return ioctl(fd, FIONBIO, &on) == 0 ? fd : -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 && errno != EINPROGRESS))
		return -1;
	if (epoll_set(fd, EPOLL_CTL_ADD, EPOLLOUT) != 0 || wait_ready(fd, EPOLLOUT) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) {
		errno = err ? err : ETIMEDOUT;
		return -1;
	}
	return epoll_set(fd, EPOLL_CTL_MOD, EPOLLIN) == 0 ? fd : -1;
}

/* One request and its echo; NULL on success, else the reason. */
static const char *round_trip(int fd, int round)
{
	char want[32], buf[64];
	size_t len = (size_t)snprintf(want, sizeof(want), "req %d\n", round), have = 0;
	ssize_t r;
	int ready;

	while ((r = write(fd, want, len)) < 0 && errno == EAGAIN)
		if (wait_ready(fd, EPOLLOUT) != 1)
			return "timeout (write)";
	if (r != (ssize_t)len)
		return r < 0 ? errname(errno) : "short write";
	while (have < len) {
		ready = wait_ready(fd, EPOLLIN);
		if (ready <= 0)
			return ready == 0 ? "timeout" : errname(errno);
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r == 0)
			return "EOF";
		if (r < 0 && errno != EAGAIN)
			return errname(errno);
		if (r > 0)
			have += (size_t)r;
	}
	if (have != len || memcmp(buf, want, len) != 0)
		return "mismatch";
	alarm(2);
	r = read(fd, buf, sizeof(buf));
	alarm(0);
	if (r != -1 || errno != EAGAIN)
		return r < 0 && errno == EINTR ? "blocking" : "unexpected data";
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	const char *why;
	int fd, rounds, gap;

	mode = (enum mode)-1;
	for (int m = 0; argc == 6 && m <= SELECT; m++)
		if (strcmp(argv[1], mode_names[m]) == 0)
			mode = (enum mode)m;
	if ((int)mode < 0 || ipv4_addr(&addr, argv[2], argv[3]) != 0) {
		fprintf(stderr, "usage: evloop_client epoll|epoll-et|oneshot|poll|select HOST PORT ROUNDS GAP_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* no SA_RESTART: the alarm interrupts a read that should not block */
	sigaction(SIGALRM, &(struct sigaction){ .sa_handler = on_alarm }, NULL);
	rounds = (int)parse_num("evloop_client", argv[4], "ROUNDS");
	gap = (int)parse_num("evloop_client", argv[5], "GAP_MS");
	ep = epoll_create1(EPOLL_CLOEXEC);
	fd = connect_nonblocking(&addr);
	if (ep < 0 || fd < 0)
		return fail(0, errname(errno));
	for (int i = 1; i <= rounds; i++) {
		if ((why = round_trip(fd, i)) != NULL)
			return fail(i, why);
		if (i < rounds)
			sleep_ms(gap);
	}
	close(fd);
	close(ep);
	puts("ok");
	return 0;
}
