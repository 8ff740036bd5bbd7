/* scale.c - client side of the scale benchmark (row_scale.sh).
 * scale [-o] COUNT ROUNDS PORT...  opens COUNT blocking TCP connections to
 * 127.0.0.1, spread round-robin over the PORTs (one source address has ~28 000
 * ephemeral ports per destination), measures the heap in use (mallinfo2) and
 * VmRSS before and after, then times ROUNDS operations (write 1 byte, read the
 * echo; heap = mallinfo2 uordblks + hblkhd, the latter for big blocks malloc
 * takes with mmap, such as a grown hash bucket array) round-robin over the sockets, so every entry of the shim's table is
 * visited. -o sets TCP_NODELAY on each socket after connect, as many real
 * clients do (the shim records it for replay: part of its per-socket memory).
 * Prints one line of key=value on stdout. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned short ports[MAX_PORTS];
	int nports = 0, nodelay = 0;

	if (argc > 1 && strcmp(argv[1], "-o") == 0) {
		nodelay = 1;
		argc--;
		argv++;
	}
	if (argc < 4 || argc - 3 > MAX_PORTS) {
		fprintf(stderr, "usage: scale [-o] COUNT ROUNDS PORT... (at most %d ports)\n", MAX_PORTS);
		return 2;
	}
	long count = atol(argv[1]), rounds = atol(argv[2]);
	for (int i = 3; i < argc; i++)
		ports[nports++] = (unsigned short)atoi(argv[i]);
	if (count < 1 || rounds < 1) {
		fprintf(stderr, "scale: COUNT and ROUNDS must be positive\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			perror("scale: setrlimit");
			return 1;
		}
		if ((unsigned long)count + 16 > rl.rlim_cur) {
			fprintf(stderr, "scale: COUNT %ld needs more fds than RLIMIT_NOFILE %lu allows\n", count,
				(unsigned long)rl.rlim_cur);
			return 1;
		}
	}
	int *fds = calloc((size_t)count, sizeof(*fds));
	if (fds == NULL) {
		perror("scale: calloc");
		return 1;
	}
	memset(fds, 0xff, (size_t)count * sizeof(*fds)); /* touch it: not part of the deltas */

	struct mallinfo2 m0 = mallinfo2();
	long rss0 = rss_kb();
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ports[i % nports]) };
		int one = 1;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			fprintf(stderr, "scale: socket #%ld: %s\n", i, strerror(errno));
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			fprintf(stderr, "scale: connect #%ld to port %u: %s\n", i, ports[i % nports], strerror(errno));
			return 1;
		}
		if (nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
			fprintf(stderr, "scale: setsockopt: %s\n", strerror(errno));
			return 1;
		}
		fds[i] = fd;
	}
	double t1 = now_s();
	struct mallinfo2 m1 = mallinfo2();
	long rss1 = rss_kb();

	/* Five passes of ROUNDS/5 operations; the median pass is reported. The
	 * first write on each socket is its first boundary; a warm-up pass over
	 * every socket makes all of them ordinary (read-since-write) first. */
	char c = 'x';
	for (long i = 0; i < count; i++) {
		if (write(fds[i], &c, 1) != 1 || read(fds[i], &c, 1) != 1) {
			fprintf(stderr, "scale: warm-up on socket #%ld: %s\n", i, strerror(errno));
			return 1;
		}
	}
	enum { PASSES = 5 };
	double pass_ns[PASSES];
	long per = rounds / PASSES > 0 ? rounds / PASSES : 1, k = 0;
	for (int p = 0; p < PASSES; p++) {
		double s = now_s();
		for (long i = 0; i < per; i++) {
			int fd = fds[k];
			if (++k == count)
				k = 0;
			if (write(fd, &c, 1) != 1) {
				fprintf(stderr, "scale: write: %s\n", strerror(errno));
				return 1;
			}
			if (read(fd, &c, 1) != 1) {
				fprintf(stderr, "scale: read: %s\n", strerror(errno));
				return 1;
			}
		}
		pass_ns[p] = (now_s() - s) * 1e9 / (double)per;
	}
	qsort(pass_ns, PASSES, sizeof(pass_ns[0]), cmp_double);
	printf("count=%ld rounds=%ld ns_per_op=%.1f ns_min=%.1f heap_delta=%zu rss_delta_kb=%ld connect_s=%.3f\n",
	       count, per * PASSES, pass_ns[PASSES / 2], pass_ns[0], (m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd), rss1 - rss0, t1 - t0);
	/* exit closes the sockets */
	return 0;
}
