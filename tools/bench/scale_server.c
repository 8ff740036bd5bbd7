/* scale_server.c - epoll echo server for the scale benchmark (row_scale.sh).
 * scale_server PORT...  listens on 127.0.0.1:PORT for each PORT, accepts
 * without limit (RLIMIT_NOFILE raised to its hard maximum), echoes what it
 * reads. Prints "ready" on stdout once listening. Runs until killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTEN 16

static void die(const char *what)
{
	fprintf(stderr, "scale_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int lfd[MAX_LISTEN], nl = 0, ep;
	char buf[4096];

	if (argc < 2 || argc - 1 > MAX_LISTEN) {
		fprintf(stderr, "usage: scale_server PORT... (at most %d)\n", MAX_LISTEN);
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			die("setrlimit");
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (int i = 1; i < argc; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[i])) };
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			die(argv[i]);
		if (listen(fd, 65535) != 0)
			die("listen");
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			die("epoll_ctl");
		lfd[nl++] = fd;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, is_listener = 0;
			for (int j = 0; j < nl; j++)
				is_listener |= fd == lfd[j];
			if (is_listener) {
				for (;;) { /* accept in a loop: the backlog never fills */
					int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0) {
						if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
							break;
						die("accept4"); /* EMFILE: the fd limit is too low for COUNT */
					}
					int one = 1;
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) != 0)
						die("epoll_ctl");
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				ssize_t off = 0;
				while (off < r) { /* tiny echoes: the send buffer never fills */
					ssize_t w = write(fd, buf + off, (size_t)(r - off));
					if (w < 0) {
						if (errno == EINTR || errno == EAGAIN)
							continue;
						break;
					}
					off += w;
				}
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fd);
			}
		}
	}
}
