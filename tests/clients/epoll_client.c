/*
 * epoll_client — an event-loop client: one non-blocking connection driven by epoll.
 *
 *   epoll_client HOST PORT ROUNDS GAP_MS
 *
 * Connects without blocking (EINPROGRESS, then EPOLLOUT via EPOLL_CTL_ADD),
 * switches the registration to EPOLLIN with EPOLL_CTL_MOD, then ROUNDS times:
 * writes "req N\n", waits in epoll_wait (at most 3 s) for the echo, reads it,
 * and sleeps GAP_MS without looking at the socket (a pooled connection).
 * Prints "ok" and exits 0 if every echo matched; otherwise one line on stderr
 * "epoll_client: round N: REASON" (EOF, timeout, an errno name, mismatch) and
 * exit 1. A registration lost by a swap shows up as "timeout".
 */
#include "client.h"

#include <signal.h>
#include <sys/epoll.h>

static int fail(int round, const char *why)
{
	fprintf(stderr, "epoll_client: round %d: %s\n", round, why);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct epoll_event ev = { .events = EPOLLOUT }, got;
	int fd, ep, rounds, gap, err = 0;
	socklen_t errlen = sizeof(err);

	if (argc != 5 || ipv4_addr(&addr, argv[1], argv[2]) != 0) {
		fprintf(stderr, "usage: epoll_client HOST PORT ROUNDS GAP_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rounds = (int)parse_num("epoll_client", argv[3], "ROUNDS");
	gap = (int)parse_num("epoll_client", argv[4], "GAP_MS");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0 || ep < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS)
		return fail(0, errname(errno));
	ev.data.u64 = 0x5eed;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 || epoll_wait(ep, &got, 1, 3000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0)
		return fail(0, "connect");
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
		return fail(0, "epoll_ctl MOD");
	for (int i = 1; i <= rounds; i++) {
		char want[32], buf[64];
		size_t len = (size_t)snprintf(want, sizeof(want), "req %d\n", i), have = 0;

		if (write(fd, want, len) != (ssize_t)len)
			return fail(i, errname(errno));
		while (have < len) {
			int n = epoll_wait(ep, &got, 1, 3000);
			if (n == 0)
				return fail(i, "timeout");
			if (n < 0 || got.data.u64 != 0x5eed)
				return fail(i, "epoll_wait");
			ssize_t r = read(fd, buf + have, sizeof(buf) - have);
			if (r == 0)
				return fail(i, "EOF");
			if (r < 0 && errno != EAGAIN)
				return fail(i, errname(errno));
			if (r > 0)
				have += (size_t)r;
		}
		if (have != len || memcmp(buf, want, len) != 0)
			return fail(i, "mismatch");
		if (i < rounds)
			sleep_ms(gap);
	}
	close(fd);
	close(ep);
	puts("ok");
	return 0;
}
