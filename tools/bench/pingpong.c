/* pingpong.c - `pingpong PORT ROUNDS SIZE [WRITES [GAP_MS]]`: one TCP connection to 127.0.0.1:PORT
 * (an echo server), ROUNDS request/response rounds: write SIZE bytes (in WRITES write() calls,
 * default 1), then read() until SIZE bytes came back.  With GAP_MS > 0 the connection sits quiet for
 * GAP_MS (one nanosleep) before every request, so that each request comes after an idle gap.  Prints
 * requests per second (the rounds only, not the connect) on stdout.  Part of `make bench`
 * (tools/bench/row_pingpong.sh, row_supervise.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: pingpong PORT ROUNDS SIZE [WRITES [GAP_MS]]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long rounds = atol(argv[2]);
	long size = atol(argv[3]);
	long writes = argc >= 5 ? atol(argv[4]) : 1;
	long gap_ms = argc == 6 ? atol(argv[5]) : 0;
	if (rounds <= 0 || size <= 0 || writes <= 0 || writes > size || gap_ms < 0) {
		fprintf(stderr, "pingpong: bad arguments\n");
		return 2;
	}

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("pingpong: connect");
		return 1;
	}
	char *req = malloc((size_t)size), *resp = malloc((size_t)size);
	if (!req || !resp)
		return 1;
	memset(req, 'q', (size_t)size);
	long piece = size / writes;

	double t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		long off = 0;
		if (gap_ms > 0) {
			struct timespec gap = { .tv_sec = gap_ms / 1000, .tv_nsec = gap_ms % 1000 * 1000000L };
			nanosleep(&gap, NULL);
		}
		for (long w = 0; w < writes; w++) {
			long len = w == writes - 1 ? size - off : piece;
			while (len > 0) {
				ssize_t k = write(fd, req + off, (size_t)len);
				if (k <= 0) {
					fprintf(stderr, "pingpong: write: %s\n", k < 0 ? strerror(errno) : "0");
					return 1;
				}
				off += k;
				len -= k;
			}
		}
		long got = 0;
		while (got < size) {
			ssize_t k = read(fd, resp + got, (size_t)(size - got));
			if (k <= 0) {
				fprintf(stderr, "pingpong: read: %s\n", k < 0 ? strerror(errno) : "EOF");
				return 1;
			}
			got += k;
		}
	}
	double t1 = now_s();
	close(fd);
	printf("%.0f\n", (double)rounds / (t1 - t0));
	return 0;
}
