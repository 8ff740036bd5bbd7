/* tcp_write_loop.c - `tcp_write_loop N SIZE`: N write()s of SIZE bytes on one loopback TCP connection
 * (a client socket, which halfclose manages), and the time of the loop alone (CLOCK_MONOTONIC) in ns
 * on stdout.  The program is its own server: a thread accepts the connection and reads and discards
 * everything, so the writes never block for long and no other process adds noise.  All writes but
 * the first are inside one request (no read, no quiet gap): the cost measured is the supervisor's
 * per-write cost on a managed socket, its boundary check without a probe.  Part of `make bench`
 * (tools/bench/row_supervise.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The sink: accepts one connection, reads until EOF. */
static void *sink(void *arg)
{
	static char buf[1 << 16];
	int c = accept(*(int *)arg, NULL, NULL);

	if (c < 0)
		die("accept");
	while (read(c, buf, sizeof(buf)) > 0)
		;
	close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	pthread_t t;
	long n, size;
	char *end, *buf;
	int l, s;
	long long t0, t1;

	if (argc != 3 || (n = strtol(argv[1], &end, 10)) <= 0 || *end || (size = strtol(argv[2], &end, 10)) <= 0 ||
	    *end) {
		fprintf(stderr, "usage: tcp_write_loop N SIZE\n");
		return 2;
	}
	buf = calloc(1, (size_t)size);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (buf == NULL || l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) != 0)
		die("listen");
	if (pthread_create(&t, NULL, sink, &l) != 0)
		die("pthread_create");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		for (long done = 0; done < size;) {
			ssize_t w = write(s, buf + done, (size_t)(size - done));
			if (w <= 0)
				die("write");
			done += w;
		}
	}
	t1 = now_ns();
	close(s);
	pthread_join(t, NULL);
	printf("%lld\n", t1 - t0);
	return 0;
}
