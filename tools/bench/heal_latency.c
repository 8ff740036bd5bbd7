/* heal_latency.c - the latency of one request (write SIZE bytes, read them back from an echo server
 * on 127.0.0.1:PORT), CLOCK_MONOTONIC, one line per measured request on stdout: microseconds, or
 * "FAIL <reason>" if the request failed.
 *   heal_latency stale PORT COUNT IDLE_MS [SIZE]
 *       open COUNT connections, one request on each, sleep IDLE_MS (the server closes them
 *       meanwhile), then time the next request on each, one after the other.  Under the shim that
 *       request includes the probe, the reconnect and the request on the new connection; without
 *       it, it fails.  (One sleep for all COUNT connections keeps the run short.)
 *   heal_latency live PORT COUNT [SIZE]
 *       one connection, a warm-up request, then COUNT timed requests on it: 1 RTT each.
 *   heal_latency fresh PORT COUNT [SIZE]
 *       COUNT times: time socket + connect + the request, then close (untimed).
 * SIZE defaults to 64.  Part of `make bench` (tools/bench/row_heal.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static char req[65536], resp[65536];
static long size = 64;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int open_conn(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request; NULL on success, else a reason. */
static const char *request(int fd)
{
	long off = 0;

	while (off < size) {
		ssize_t k = write(fd, req + off, (size_t)(size - off));
		if (k <= 0)
			return k < 0 ? strerror(errno) : "write returned 0";
		off += k;
	}
	for (off = 0; off < size;) {
		ssize_t k = read(fd, resp + off, (size_t)(size - off));
		if (k == 0)
			return "EOF";
		if (k < 0)
			return strerror(errno);
		off += k;
	}
	return NULL;
}

/* One request on fd, its line: microseconds or FAIL. */
static void timed_request(int fd)
{
	double t0 = now_us();
	const char *e = request(fd);
	double t1 = now_us();

	if (e)
		printf("FAIL %s\n", e);
	else
		printf("%.1f\n", t1 - t0);
}

static void usage(void)
{
	fprintf(stderr, "usage: heal_latency stale PORT COUNT IDLE_MS [SIZE] | live|fresh PORT COUNT [SIZE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	const char *mode = argv[1];
	int stale = strcmp(mode, "stale") == 0;
	if (!stale && strcmp(mode, "live") != 0 && strcmp(mode, "fresh") != 0)
		usage();
	int nargs = stale ? 5 : 4;
	if (argc != nargs && argc != nargs + 1)
		usage();
	int port = atoi(argv[2]);
	long count = atol(argv[3]);
	if (argc == nargs + 1)
		size = atol(argv[nargs]);
	if (count <= 0 || count > 1000 || size <= 0 || size > (long)sizeof req)
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(req, 'h', sizeof req);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);

	if (stale) {
		long idle_ms = atol(argv[4]);
		int fds[1000];
		for (long i = 0; i < count; i++) {
			const char *e;
			fds[i] = open_conn();
			if (fds[i] < 0 || (e = request(fds[i])) != NULL) {
				fprintf(stderr, "heal_latency: first request: %s\n", fds[i] < 0 ? strerror(errno) : e);
				return 1;
			}
		}
		struct timespec ts = { idle_ms / 1000, (idle_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		for (long i = 0; i < count; i++)
			timed_request(fds[i]);
		return 0;
	}
	if (strcmp(mode, "live") == 0) {
		int fd = open_conn();
		if (fd < 0 || request(fd) != NULL) {
			fprintf(stderr, "heal_latency: connect/warm-up failed\n");
			return 1;
		}
		for (long i = 0; i < count; i++)
			timed_request(fd);
		return 0;
	}
	for (long i = 0; i < count; i++) {
		double t0 = now_us();
		int fd = open_conn();
		const char *e = fd < 0 ? strerror(errno) : request(fd);
		double t1 = now_us();
		if (e)
			printf("FAIL %s\n", e);
		else
			printf("%.1f\n", t1 - t0);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
