/* test_probe.c - hc_probe on real loopback connections: every verdict, and
 * that probing consumes nothing the application could observe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "loopback.h"
#include "probe.h"
#include "suites.h"

#define SENTINEL_ERRNO 4242

/* Waits until the client has seen the peer's FIN (or reset). */
static void wait_for_hangup(int fd)
{
	short ev = wait_for_events(fd, POLLRDHUP);
	ck_assert_msg(ev & (POLLRDHUP | POLLHUP | POLLERR), "no hangup seen within %d ms (revents %#x)", WAIT_MS,
		      ev);
}

/* The server closes its end and waits until the client has seen the FIN. */
static void close_from_server(struct tcp_pair *p)
{
	close_early(&p->server);
	wait_for_hangup(p->client);
}

static enum hc_verdict probe(int fd, const char **why)
{
	errno = SENTINEL_ERRNO;
	enum hc_verdict v = hc_probe(fd, why);
	ck_assert_msg(errno == SENTINEL_ERRNO, "hc_probe changed errno to %d (%s)", errno, strerror(errno));
	return v;
}

/* The verdict on fd is want, and it comes with a reason (returned). */
static const char *assert_verdict(int fd, enum hc_verdict want)
{
	const char *why = NULL;
	ck_assert_int_eq(probe(fd, &why), want);
	ck_assert_ptr_nonnull(why);
	return why;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	ck_assert_int_eq(write(fd, s, len), (ssize_t)len);
}

START_TEST(idle_connection_is_alive)
{
	struct tcp_pair p = tcp_pair_open();
	const char *why = NULL;
	ck_assert_int_eq(probe(p.client, &why), HC_ALIVE);
	/* The connection is still usable both ways. */
	write_all(p.client, "ping");
	char buf[8];
	ck_assert_int_eq(read(p.server, buf, sizeof buf), 4);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(unread_data_without_hangup_is_alive_and_left_unread)
{
	struct tcp_pair p = tcp_pair_open();
	write_all(p.server, "+PONG\r\n");
	ck_assert(wait_for_events(p.client, POLLIN) & POLLIN);
	ck_assert_int_eq(probe(p.client, NULL), HC_ALIVE_UNREAD);
	char buf[16];
	ck_assert_int_eq(recv(p.client, buf, sizeof buf, MSG_DONTWAIT), 7);
	ck_assert_mem_eq(buf, "+PONG\r\n", 7);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(peer_close_is_stale_peer_fin)
{
	struct tcp_pair p = tcp_pair_open();
	close_from_server(&p);
	const char *why = assert_verdict(p.client, HC_STALE);
	ck_assert_str_eq(why, "peer FIN");
	tcp_pair_close(&p);
}
END_TEST

START_TEST(peer_shutdown_write_while_still_reading_is_stale)
{
	struct tcp_pair p = tcp_pair_open();
	ck_assert_int_eq(shutdown(p.server, SHUT_WR), 0);
	wait_for_hangup(p.client);
	assert_verdict(p.client, HC_STALE);
	/* The probe did not disturb the connection: the peer still reads. */
	write_all(p.client, "late");
	char buf[8];
	ck_assert_int_eq(read_within(p.server, buf, sizeof buf), 4);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(peer_goodbye_then_close_is_stale_unread_and_the_bytes_stay_readable)
{
	struct tcp_pair p = tcp_pair_open();
	static const char goodbye[] = "-ERR idle timeout\r\n";
	write_all(p.server, goodbye);
	close_from_server(&p);

	int before = -1, after = -1;
	ck_assert_int_eq(ioctl(p.client, FIONREAD, &before), 0);
	assert_verdict(p.client, HC_STALE_UNREAD);
	ck_assert_int_eq(ioctl(p.client, FIONREAD, &after), 0);
	ck_assert_int_eq(after, before);

	char buf[64];
	ssize_t n = read(p.client, buf, sizeof buf);
	ck_assert_int_eq(n, (ssize_t)strlen(goodbye));
	ck_assert_mem_eq(buf, goodbye, strlen(goodbye));
	ck_assert_int_eq(read(p.client, buf, sizeof buf), 0);
	tcp_pair_close(&p);
}
END_TEST

/* Resets the pair from the server side and waits until the client knows. */
static void reset_from_server(struct tcp_pair *p)
{
	set_linger_zero(p->server);
	close_early(&p->server);
	short ev = wait_for_events(p->client, POLLERR);
	ck_assert_msg(ev & (POLLERR | POLLHUP), "no reset seen within %d ms (revents %#x)", WAIT_MS, ev);
}

/* What the application's next two recv calls return: r[k] the result, e[k] errno. */
static void two_recvs(int fd, ssize_t r[2], int e[2])
{
	char buf[16];
	for (int k = 0; k < 2; k++) {
		errno = 0;
		r[k] = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		e[k] = r[k] < 0 ? errno : 0;
	}
}

START_TEST(peer_reset_is_stale_and_the_application_still_sees_the_reset)
{
	/* First, what the application sees without any probe. */
	struct tcp_pair plain = tcp_pair_open();
	reset_from_server(&plain);
	ssize_t want_r[2];
	int want_e[2];
	two_recvs(plain.client, want_r, want_e);
	tcp_pair_close(&plain);
	ck_assert_msg((want_r[0] == -1 && want_e[0] == ECONNRESET) || want_r[0] == 0,
		      "unexpected kernel behaviour: recv after RST gave %zd errno %d", want_r[0], want_e[0]);

	/* Then the same situation with a probe in between. */
	struct tcp_pair p = tcp_pair_open();
	reset_from_server(&p);
	assert_verdict(p.client, HC_STALE);
	ssize_t got_r[2];
	int got_e[2];
	two_recvs(p.client, got_r, got_e);
	for (int k = 0; k < 2; k++) {
		ck_assert_msg(got_r[k] == want_r[k] && got_e[k] == want_e[k],
			      "recv %d after the probe: %zd errno %d; without a probe: %zd errno %d", k, got_r[k],
			      got_e[k], want_r[k], want_e[k]);
	}
	tcp_pair_close(&p);
}
END_TEST

START_TEST(peer_reset_keeps_so_error_for_the_application)
{
	struct tcp_pair plain = tcp_pair_open();
	reset_from_server(&plain);
	int want = -1;
	socklen_t len = sizeof want;
	ck_assert_int_eq(getsockopt(plain.client, SOL_SOCKET, SO_ERROR, &want, &len), 0);
	tcp_pair_close(&plain);

	struct tcp_pair p = tcp_pair_open();
	reset_from_server(&p);
	probe(p.client, NULL);
	int got = -1;
	len = sizeof got;
	ck_assert_int_eq(getsockopt(p.client, SOL_SOCKET, SO_ERROR, &got, &len), 0);
	ck_assert_int_eq(got, want);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(probe_leaves_the_socket_blocking_mode_alone)
{
	struct tcp_pair p = tcp_pair_open();
	int fl = fcntl(p.client, F_GETFL);
	probe(p.client, NULL);
	ck_assert_int_eq(fcntl(p.client, F_GETFL), fl);
	close_from_server(&p);
	probe(p.client, NULL);
	ck_assert_int_eq(fcntl(p.client, F_GETFL), fl);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(errno_is_preserved_for_every_verdict_and_a_bad_fd)
{
	/* probe() asserts errno is untouched; here every path is driven through it. */
	struct tcp_pair alive = tcp_pair_open();
	probe(alive.client, NULL);
	tcp_pair_close(&alive);

	struct tcp_pair fin = tcp_pair_open();
	close_from_server(&fin);
	probe(fin.client, NULL);
	tcp_pair_close(&fin);

	struct tcp_pair unread = tcp_pair_open();
	write_all(unread.server, "bye");
	close_from_server(&unread);
	probe(unread.client, NULL);
	tcp_pair_close(&unread);

	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	close(fds[1]);
	probe(fds[0], NULL); /* no longer open: whatever the verdict, errno stays */
	probe(-1, NULL);
}
END_TEST

START_TEST(probe_that_cannot_poll_says_probe_failed_and_keeps_errno)
{
	/* poll() fails with EINVAL when nfds exceeds RLIMIT_NOFILE: the one way
	 * to make the probe's own system call fail on a healthy socket. */
	struct tcp_pair p = tcp_pair_open();
	struct rlimit saved, none;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	none = saved;
	none.rlim_cur = 0;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
	errno = SENTINEL_ERRNO;
	const char *why = NULL;
	enum hc_verdict v = hc_probe(p.client, &why);
	int e = errno;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ck_assert_int_eq(v, HC_PROBE_FAILED);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(e == SENTINEL_ERRNO, "hc_probe changed errno to %d (%s)", e, strerror(e));
	tcp_pair_close(&p);
}
END_TEST

START_TEST(why_may_be_null)
{
	struct tcp_pair p = tcp_pair_open();
	close_from_server(&p);
	ck_assert_int_eq(probe(p.client, NULL), HC_STALE);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(every_verdict_has_a_distinct_name)
{
	enum hc_verdict all[] = { HC_ALIVE, HC_ALIVE_UNREAD, HC_STALE, HC_STALE_UNREAD, HC_PROBE_FAILED };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *a = hc_verdict_name(all[i]);
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 0);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(a, hc_verdict_name(all[j]));
	}
}
END_TEST

Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("verdicts");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, idle_connection_is_alive);
	tcase_add_test(tc, unread_data_without_hangup_is_alive_and_left_unread);
	tcase_add_test(tc, peer_close_is_stale_peer_fin);
	tcase_add_test(tc, peer_shutdown_write_while_still_reading_is_stale);
	tcase_add_test(tc, peer_goodbye_then_close_is_stale_unread_and_the_bytes_stay_readable);
	tcase_add_test(tc, peer_reset_is_stale_and_the_application_still_sees_the_reset);
	tcase_add_test(tc, peer_reset_keeps_so_error_for_the_application);
	tcase_add_test(tc, probe_leaves_the_socket_blocking_mode_alone);
	tcase_add_test(tc, errno_is_preserved_for_every_verdict_and_a_bad_fd);
	tcase_add_test(tc, probe_that_cannot_poll_says_probe_failed_and_keeps_errno);
	tcase_add_test(tc, why_may_be_null);
	tcase_add_test(tc, every_verdict_has_a_distinct_name);
	suite_add_tcase(s, tc);
	return s;
}
