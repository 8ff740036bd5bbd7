/*
 * split_request — request/response where each request takes several writes.
 *
 *   split_request HOST PORT ROUNDS
 *
 * Connects to HOST:PORT (numeric IPv4), then ROUNDS times writes the line
 * "req N\n" as three back-to-back writes ("req", " ", "N\n") and reads the
 * echo back. Prints "ok" and exits 0 if every echo matched; otherwise says
 * why on stderr and exits 1. Used to count the shim's probes: one per request
 * (at its first write), none at the writes inside it.
 */
#include "client.h"

#include <signal.h>

/* Reads one line (up to and including '\n') into buf, one byte per read(); 0 on success. */
static int read_line_bytewise(int fd, char *buf, size_t size)
{
	size_t got = 0;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, 1);
		if (n <= 0)
			return -1;
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	int fd, rounds;

	if (argc != 4 || ipv4_addr(&addr, argv[1], argv[2]) != 0) {
		fprintf(stderr, "usage: split_request HOST PORT ROUNDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rounds = atoi(argv[3]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "split_request: connect: %s\n", strerror(errno));
		return 2;
	}
	for (int i = 1; i <= rounds; i++) {
		char num[16], want[32], got[64];
		snprintf(num, sizeof(num), "%d\n", i);
		snprintf(want, sizeof(want), "req %d\n", i);
		if (write_all(fd, "req") || write_all(fd, " ") || write_all(fd, num)) {
			fprintf(stderr, "split_request: round %d: write: %s\n", i, strerror(errno));
			return 1;
		}
		if (read_line_bytewise(fd, got, sizeof(got)) != 0 || strcmp(got, want) != 0) {
			fprintf(stderr, "split_request: round %d: bad echo\n", i);
			return 1;
		}
	}
	close(fd);
	puts("ok");
	return 0;
}
