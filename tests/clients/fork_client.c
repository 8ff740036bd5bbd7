/*
 * fork_client — a pooled connection shared by a parent and its forked child,
 * each of which uses it again after the server closed it.
 *
 *   fork_client HOST PORT PARENT_GAP_MS CHILD_GAP_MS
 *
 * The parent connects (non-blocking, registered in epoll for EPOLLIN with
 * data.u64 = 0x5eed) and makes one request ("req 1\n", echoed back). Then it
 * forks. The child closes the epoll fd, sleeps CHILD_GAP_MS and makes its own
 * request on the same fd number, waiting with poll(). The parent sleeps
 * PARENT_GAP_MS (shorter: it swaps while the child still holds the old socket)
 * and makes its request, waiting with epoll_wait; it counts the wakeups after
 * which there was nothing to read ("spurious": an epoll registration of the
 * dead socket still live under the fd's number). Then it waits for the child.
 *
 * stdout: "child: ok" and "parent: ok, N spurious wakeups"; exit 0 if both
 * requests were answered with their own echo and N is 0. Otherwise one line on
 * stderr per failure, "fork_client parent|child: REASON", and exit 1.
 */
#include "client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#define DATA 0x5eedu

/* Writes req and reads its echo, waiting with epoll (ep >= 0) or poll;
 * NULL or the reason it failed. *spurious counts empty wakeups. */
static const char *round_trip(int fd, int ep, const char *req, int *spurious)
{
	char buf[64];
	size_t len = strlen(req), have = 0;

	if (write(fd, req, len) != (ssize_t)len)
		return errname(errno);
	while (have < len) {
		struct epoll_event got;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = ep >= 0 ? epoll_wait(ep, &got, 1, 3000) : poll(&p, 1, 3000);
		if (n == 0)
			return "timeout";
		if (n < 0 || (ep >= 0 && got.data.u64 != DATA))
			return "wait failed";
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r == 0)
			return "EOF";
		if (r < 0 && errno != EAGAIN)
			return errname(errno);
		if (r < 0 && ++*spurious > 1000)
			return "woken again and again with nothing to read";
		if (r > 0)
			have += (size_t)r;
	}
	return have == len && memcmp(buf, req, len) == 0 ? NULL : "mismatch";
}

static int fail(const char *who, const char *why)
{
	fprintf(stderr, "fork_client %s: %s\n", who, why);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = DATA };
	int fd, ep, status, spurious = 0;
	const char *why;
	pid_t child;

	if (argc != 5 || ipv4_addr(&addr, argv[1], argv[2]) != 0) {
		fprintf(stderr, "usage: fork_client HOST PORT PARENT_GAP_MS CHILD_GAP_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	long parent_gap = parse_num("fork_client", argv[3], "PARENT_GAP_MS");
	long child_gap = parse_num("fork_client", argv[4], "CHILD_GAP_MS");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0 || ep < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return fail("parent", errname(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return fail("parent", "epoll_ctl");
	if ((why = round_trip(fd, ep, "req 1\n", &spurious)) != NULL)
		return fail("parent", why);
	fflush(stdout);
	child = fork();
	if (child < 0)
		return fail("parent", errname(errno));
	if (child == 0) {
		close(ep);
		sleep_ms(child_gap);
		if ((why = round_trip(fd, -1, "req child\n", &spurious)) != NULL)
			return fail("child", why);
		puts("child: ok");
		return 0;
	}
	sleep_ms(parent_gap);
	spurious = 0;
	why = round_trip(fd, ep, "req parent\n", &spurious);
	if (waitpid(child, &status, 0) != child)
		return fail("parent", "waitpid");
	if (why != NULL)
		return fail("parent", why);
	printf("parent: ok, %d spurious wakeups\n", spurious);
	if (spurious != 0)
		return fail("parent", "spurious wakeups");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
