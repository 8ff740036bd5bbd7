/*
 * cancel_reader — a reader thread cancelled inside read() on a pooled
 * connection, which is then used again after the server closed it.
 *
 *   cancel_reader HOST PORT GAP_MS
 *
 * Connects, makes one request ("req 1\n", echoed back), starts a thread that
 * blocks in read() on the connection, cancels it 100 ms later (read is a
 * cancellation point) and joins it, sleeps GAP_MS, and makes a second request
 * on the same fd. A library that counted the cancelled read as still running
 * would refuse to swap the dead connection for good.
 * stdout: "round N: ok" per round, then "ok"; exit 0. On failure one line on
 * stderr "cancel_reader: round N: REASON" (EOF, an errno name, mismatch) and
 * exit 1. Usage and connect errors exit 2.
 */
#include "client.h"

#include <pthread.h>
#include <signal.h>

static int fd;

static void *block_in_read(void *arg)
{
	char buf[16];
	(void)arg;
	if (read(fd, buf, sizeof(buf)) >= 0)
		fprintf(stderr, "cancel_reader: the blocked read returned\n");
	return NULL;
}

/* One request and its echo; NULL or the reason it failed. */
static const char *round_trip(int round)
{
	char want[32], got[64];
	size_t len = (size_t)snprintf(want, sizeof(want), "req %d\n", round), have;
	int rc;

	if (write_all(fd, want) < 0)
		return errname(errno);
	rc = read_line(fd, got, sizeof(got), &have);
	if (rc <= 0)
		return rc == 0 ? "EOF" : errname(errno);
	return have == len && memcmp(got, want, len) == 0 ? NULL : "mismatch";
}

int main(int argc, char **argv)
{
	pthread_t reader;
	const char *why;

	if (argc != 4) {
		fprintf(stderr, "usage: cancel_reader HOST PORT GAP_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	long gap = parse_num("cancel_reader", argv[3], "GAP_MS");
	fd = dial("cancel_reader", argv[1], argv[2]);
	for (int round = 1; round <= 2; round++) {
		if (round == 2) {
			if (pthread_create(&reader, NULL, block_in_read, NULL) != 0)
				return 2;
			sleep_ms(100);
			pthread_cancel(reader);
			pthread_join(reader, NULL);
			sleep_ms(gap);
		}
		if ((why = round_trip(round)) != NULL) {
			fprintf(stderr, "cancel_reader: round %d: %s\n", round, why);
			return 1;
		}
		printf("round %d: ok\n", round);
	}
	puts("ok");
	return 0;
}
