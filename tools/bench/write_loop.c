/* write_loop.c - `write_loop PATH|pipe|file N SIZE`: N write()s of SIZE bytes to an fd the shim
 * does not manage, and the time of the loop alone (CLOCK_MONOTONIC) in ns on stdout.
 *   PATH   opened O_WRONLY (e.g. /dev/null)
 *   pipe   a pipe whose buffer is grown to 1 MiB; the same thread drains it with read() whenever
 *          the next write would not fit, so no write blocks and no second thread adds noise
 *          (the reads are timed too; they are the same in both runs)
 *   file   a temp file (unlinked at once), rewound with lseek() every 1 MiB so it stays in cache
 * Part of `make bench` (tools/bench/row_writes.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: write_loop PATH|pipe|file N SIZE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		usage();
	char *end;
	long n = strtol(argv[2], &end, 10);
	if (*end || n <= 0)
		usage();
	long size = strtol(argv[3], &end, 10);
	if (*end || size <= 0 || size > 65536)
		usage();

	enum { M_PATH, M_PIPE, M_FILE } mode = M_PATH;
	int fd, rfd = -1;
	long cap = 0;
	if (strcmp(argv[1], "pipe") == 0) {
		int p[2];
		if (pipe(p) != 0) {
			perror("pipe");
			return 1;
		}
		fd = p[1];
		rfd = p[0];
		cap = fcntl(fd, F_SETPIPE_SZ, 1 << 20);
		if (cap < 0)
			cap = fcntl(fd, F_GETPIPE_SZ);
		if (cap < size) {
			fprintf(stderr, "write_loop: pipe buffer %ld < SIZE\n", cap);
			return 1;
		}
		mode = M_PIPE;
	} else if (strcmp(argv[1], "file") == 0) {
		char tmpl[] = "/tmp/hc-write_loop.XXXXXX";
		fd = mkstemp(tmpl);
		if (fd < 0) {
			perror("mkstemp");
			return 1;
		}
		unlink(tmpl);
		mode = M_FILE;
	} else {
		fd = open(argv[1], O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
	}

	char *buf = malloc((size_t)(cap > size ? cap : size));
	if (!buf)
		return 1;
	memset(buf, 'x', (size_t)size);

	long queued = 0, written = 0;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (mode == M_PIPE && queued + size > cap) {
			while (queued > 0) {
				ssize_t r = read(rfd, buf, (size_t)queued);
				if (r <= 0) {
					perror("read");
					return 1;
				}
				queued -= r;
			}
		} else if (mode == M_FILE && written >= (1L << 20)) {
			if (lseek(fd, 0, SEEK_SET) != 0) {
				perror("lseek");
				return 1;
			}
			written = 0;
		}
		ssize_t w = write(fd, buf, (size_t)size);
		if (w != size) {
			fprintf(stderr, "write_loop: write returned %zd: %s\n", w, strerror(errno));
			return 1;
		}
		queued += w;
		written += w;
	}
	long long t1 = now_ns();
	printf("%lld\n", t1 - t0);
	return 0;
}
