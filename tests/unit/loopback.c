/* loopback.c - real TCP connections on 127.0.0.1 for the unit suites.
 * Helpers abort the running test on any unexpected failure. */
#define _GNU_SOURCE
#include "loopback.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

struct sockaddr_in loopback_addr(unsigned char last_octet, unsigned short port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(0x7f000000u | last_octet);
	return a;
}

int listen_loopback_backlog(struct sockaddr_in *addr, int backlog)
{
	return listen_at(addr, 0, backlog);
}

int listen_at(struct sockaddr_in *addr, unsigned short port, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(s >= 0, "socket: %s", strerror(errno));
	/* SO_REUSEADDR: a test may restart a server on the port it just closed. */
	int one = 1;
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
	struct sockaddr_in a = loopback_addr(1, port);
	ck_assert_msg(bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
	ck_assert_msg(listen(s, backlog) == 0, "listen: %s", strerror(errno));
	*addr = local_of(s);
	return s;
}

int listen_loopback(struct sockaddr_in *addr)
{
	return listen_loopback_backlog(addr, 16);
}

int connect_to(const struct sockaddr_in *addr)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(s >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(connect(s, (const struct sockaddr *)addr, sizeof *addr) == 0, "connect: %s",
		      strerror(errno));
	return s;
}

int accept_within(int listener)
{
	ck_assert_msg(wait_for_events(listener, POLLIN) & POLLIN, "no connection arrived within %d ms",
		      WAIT_MS);
	int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_msg(s >= 0, "accept: %s", strerror(errno));
	return s;
}

struct tcp_pair tcp_pair_open(void)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	struct tcp_pair p;
	p.client = connect_to(&addr);
	p.server = accept_within(l);
	close(l);
	return p;
}

void tcp_pair_close(struct tcp_pair *p)
{
	close_early(&p->client);
	close_early(&p->server);
}

void close_early(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

short wait_for_events(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		int n = poll(&pfd, 1, 100);
		if (n > 0 && (pfd.revents & (events | POLLERR | POLLHUP | POLLNVAL)))
			return pfd.revents;
		ck_assert_msg(n >= 0 || errno == EINTR, "poll: %s", strerror(errno));
	}
	return 0;
}

ssize_t read_within(int fd, void *buf, size_t n)
{
	ck_assert(wait_for_events(fd, POLLIN) & POLLIN);
	return read(fd, buf, n);
}

void assert_received(int fd, const char *want)
{
	char buf[64];
	size_t n = strlen(want);
	ck_assert_int_eq(read_within(fd, buf, sizeof buf), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
}

void set_linger_zero(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	ck_assert_msg(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0, "SO_LINGER: %s",
		      strerror(errno));
}

int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_msg(d != NULL, "opendir /proc/self/fd: %s", strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

bool same_inet(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
	       a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* getsockname or, if peer, getpeername of fd. */
static struct sockaddr_in name_of(int fd, bool peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	memset(&a, 0, sizeof a);
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
	ck_assert_msg(r == 0, "%s: %s", peer ? "getpeername" : "getsockname", strerror(errno));
	return a;
}

struct sockaddr_in local_of(int fd)
{
	return name_of(fd, false);
}

struct sockaddr_in peer_of(int fd)
{
	return name_of(fd, true);
}
