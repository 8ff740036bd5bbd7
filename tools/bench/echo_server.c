/* echo_server.c - `echo_server PORT [IDLE_MS]`: a single-threaded epoll echo server on 127.0.0.1:PORT
 * (TCP_NODELAY, echoes every byte back as it arrives).  With IDLE_MS > 0 it closes every connection
 * that has been idle (nothing received) for IDLE_MS, the way redis `timeout` or nginx
 * `keepalive_timeout` do.  Runs until killed.  Part of `make bench` (row_pingpong.sh, row_heal.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536

static long long last_ms[MAXFD];
static unsigned char open_fd[MAXFD];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	open_fd[fd] = 0;
}

/* Write all of buf; on a full socket buffer wait for room (a benchmark client always reads). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				poll(&p, 1, 1000);
				continue;
			}
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: echo_server PORT [IDLE_MS]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long idle_ms = argc == 3 ? atol(argv[2]) : 0;
	signal(SIGPIPE, SIG_IGN);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1024) != 0) {
		perror("echo_server: bind/listen");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

	static char buf[1 << 16];
	struct epoll_event evs[64];
	long long next_scan = now_ms() + 50;
	for (;;) {
		int n = epoll_wait(ep, evs, 64, idle_ms > 0 ? 20 : -1);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				int c;
				while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (c >= MAXFD) {
						close(c);
						continue;
					}
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event ce = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
					open_fd[c] = 1;
					last_ms[c] = now_ms();
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof buf);
				if (r > 0) {
					if (idle_ms > 0)
						last_ms[fd] = now_ms();
					if (write_all(fd, buf, (size_t)r) != 0) {
						drop(ep, fd);
						break;
					}
					if ((size_t)r < sizeof buf)
						break;
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				drop(ep, fd); /* EOF or error */
				break;
			}
		}
		if (idle_ms > 0 && now_ms() >= next_scan) {
			long long t = now_ms();
			for (int fd = 0; fd < MAXFD; fd++)
				if (open_fd[fd] && t - last_ms[fd] >= idle_ms)
					drop(ep, fd);
			next_scan = t + 20;
		}
	}
}
