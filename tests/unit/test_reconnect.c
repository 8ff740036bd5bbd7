/* test_reconnect.c - hc_reconnect against a real loopback listener: same fd
 * number, a new connection to the same address, flags, options and bind
 * carried over; a failed attempt changes nothing and leaks nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"
#include "reconnect.h"
#include "suites.h"

#define SENTINEL_ERRNO 4242

/* One managed connection whose server has gone away: what hc_reconnect heals. */
struct scene {
	int listener;
	struct sockaddr_in addr; /* the listener's, the peer the application connected to */
	int fd;                  /* the application's socket */
	int old_server;          /* the accepted end of the original connection */
	int fresh;               /* the connection hc_reconnect opened, once accepted; -1 before */
	struct sockaddr_in old_local;
	struct hc_conn *c;
	struct hc_config cfg;
};

enum { SC_NONBLOCK = 1, SC_CLOEXEC = 2, SC_BIND_127_0_0_2 = 4, SC_BACKLOG_0 = 8 };

/* Sets up the listener, the application's connected socket and its table
 * entry as the wrappers would have left it. */
static struct scene scene_open(int how)
{
	struct scene s;
	memset(&s, 0, sizeof s);
	s.fresh = -1;
	hc_config_defaults(&s.cfg);
	s.listener = listen_loopback_backlog(&s.addr, (how & SC_BACKLOG_0) ? 0 : 16);

	s.fd = socket(AF_INET, SOCK_STREAM | ((how & SC_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
	ck_assert_int_ge(s.fd, 0);
	hc_table_lock();
	s.c = hc_table_add(s.fd);
	ck_assert_ptr_nonnull(s.c);
	s.c->domain = AF_INET;
	s.c->type = SOCK_STREAM;
	s.c->protocol = 0;
	hc_table_unlock();

	if (how & SC_BIND_127_0_0_2) {
		struct sockaddr_in b = loopback_addr(2, 0);
		ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&b, sizeof b), 0);
		s.c->bound.in = b;
		s.c->bind_len = sizeof b;
	}
	ck_assert_int_eq(connect(s.fd, (struct sockaddr *)&s.addr, sizeof s.addr), 0);
	if (how & SC_NONBLOCK)
		ck_assert_int_eq(fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK), 0);

	hc_table_lock();
	s.c->peer.in = s.addr;
	s.c->peer_len = sizeof s.addr;
	s.c->ino = hc_socket_inode(s.fd); /* what conn.c records at connect: the install checks it */
	hc_conn_set_state(s.c, HC_CONN_MANAGED);
	hc_table_unlock();

	s.old_server = accept_within(s.listener);
	s.old_local = local_of(s.fd);
	return s;
}

/* setsockopt on the application's socket, recorded as the wrapper would. */
static void scene_setsockopt(struct scene *s, int level, int name, const void *val, socklen_t len)
{
	ck_assert_int_eq(setsockopt(s->fd, level, name, val, len), 0);
	hc_table_lock();
	ck_assert_int_eq(hc_conn_record_option(s->c, level, name, val, len), 0);
	hc_table_unlock();
}

/* The server half-closes (an idle timeout) and keeps reading; the client sees the FIN. */
static void scene_server_goes_idle(struct scene *s)
{
	ck_assert_int_eq(shutdown(s->old_server, SHUT_WR), 0);
	ck_assert(wait_for_events(s->fd, POLLRDHUP) & POLLRDHUP);
}

/* The listener's next connection: the one hc_reconnect opened. */
static void scene_accept_fresh(struct scene *s)
{
	s->fresh = accept_within(s->listener);
}

static void scene_close(struct scene *s)
{
	hc_table_lock();
	hc_table_remove(s->fd);
	hc_table_unlock();
	close_early(&s->fresh);
	close_early(&s->fd);
	close_early(&s->old_server);
	close_early(&s->listener);
}

/* hc_reconnect with errno checked to be preserved. */
static int reconnect(struct scene *s, int *err)
{
	errno = SENTINEL_ERRNO;
	int r = hc_reconnect(s->c, &s->cfg, err);
	ck_assert_msg(errno == SENTINEL_ERRNO, "hc_reconnect changed errno to %d (%s)", errno, strerror(errno));
	return r;
}

static void assert_reconnected(struct scene *s)
{
	int err = 0;
	int r = reconnect(s, &err);
	ck_assert_msg(r == 0, "hc_reconnect failed: %s", strerror(err));
}

/* The value of an int socket option of fd; getsockopt must succeed. */
static int int_option(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the swap ------------------------------------------------------------ */

START_TEST(stale_connection_is_replaced_at_the_same_fd_number)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	int fd = s.fd;

	assert_reconnected(&s);

	/* The listener got a new connection, and it is the one now at fd. */
	scene_accept_fresh(&s);
	struct sockaddr_in at_fd = local_of(fd), seen_by_server = peer_of(s.fresh);
	ck_assert(same_inet(&at_fd, &seen_by_server));
	struct sockaddr_in peer = peer_of(fd);
	ck_assert(same_inet(&peer, &s.addr));
	ck_assert_uint_ne(at_fd.sin_port, s.old_local.sin_port);

	/* What the application writes next arrives on the new connection. */
	ck_assert_int_eq(write(fd, "GET\n", 4), 4);
	assert_received(s.fresh, "GET\n");
	ck_assert_int_eq(write(s.fresh, "OK\n", 3), 3);
	char buf[16];
	ck_assert_int_eq(read_within(fd, buf, sizeof buf), 3);

	/* The old connection was closed: its server reads EOF. */
	ck_assert_int_eq(read_within(s.old_server, buf, sizeof buf), 0);

	scene_close(&s);
}
END_TEST

START_TEST(successful_reconnect_leaks_no_fd)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	int before = count_open_fds();
	assert_reconnected(&s);
	ck_assert_int_eq(count_open_fds(), before);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reconnect_connects_to_exactly_the_recorded_peer)
{
	/* Two listeners; the entry says the application connected to the second. */
	struct scene s = scene_open(0);
	struct sockaddr_in other_addr;
	int other = listen_loopback(&other_addr);
	hc_table_lock();
	s.c->peer.in = other_addr;
	hc_table_unlock();
	scene_server_goes_idle(&s);

	assert_reconnected(&s);
	s.fresh = accept_within(other);
	struct sockaddr_in peer = peer_of(s.fd);
	ck_assert(same_inet(&peer, &other_addr));
	struct pollfd pfd = { .fd = s.listener, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 0), 0); /* nothing arrived at the first */
	close(other);
	scene_close(&s);
}
END_TEST

/* ---- flags ------------------------------------------------------------------ */

START_TEST(reconnect_keeps_o_nonblock)
{
	struct scene s = scene_open(SC_NONBLOCK);
	scene_server_goes_idle(&s);
	assert_reconnected(&s);
	ck_assert(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reconnect_of_a_blocking_socket_leaves_it_blocking)
{
	/* The new socket is connected non-blocking (bounded connect): it must
	 * not stay that way, or the application's next read returns EAGAIN. */
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	assert_reconnected(&s);
	ck_assert_int_eq(fcntl(s.fd, F_GETFL) & O_NONBLOCK, 0);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reconnect_keeps_fd_cloexec)
{
	struct scene s = scene_open(SC_CLOEXEC);
	scene_server_goes_idle(&s);
	ck_assert(fcntl(s.fd, F_GETFD) & FD_CLOEXEC);
	assert_reconnected(&s);
	ck_assert(fcntl(s.fd, F_GETFD) & FD_CLOEXEC);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reconnect_does_not_add_fd_cloexec)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	ck_assert_int_eq(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0);
	assert_reconnected(&s);
	ck_assert_int_eq(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(cloexec_set_after_socket_creation_is_kept)
{
	/* fcntl(F_SETFD) after socket(): only the fd itself knows. */
	struct scene s = scene_open(0);
	ck_assert_int_eq(fcntl(s.fd, F_SETFD, FD_CLOEXEC), 0);
	scene_server_goes_idle(&s);
	assert_reconnected(&s);
	ck_assert(fcntl(s.fd, F_GETFD) & FD_CLOEXEC);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

/* ---- options and bind ------------------------------------------------------- */

START_TEST(reconnect_replays_tcp_nodelay_so_rcvtimeo_and_so_keepalive)
{
	struct scene s = scene_open(0);
	int one = 1;
	struct timeval tv = { .tv_sec = 7, .tv_usec = 0 };
	scene_setsockopt(&s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	scene_setsockopt(&s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	scene_setsockopt(&s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	scene_server_goes_idle(&s);

	assert_reconnected(&s);

	ck_assert_int_ne(int_option(s.fd, IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_ne(int_option(s.fd, SOL_SOCKET, SO_KEEPALIVE), 0);
	struct timeval got = { 0, 0 };
	socklen_t len = sizeof got;
	ck_assert_int_eq(getsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
	ck_assert_int_eq(got.tv_sec, 7);
	ck_assert_int_eq(got.tv_usec, 0);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(options_the_application_did_not_set_keep_their_defaults)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	assert_reconnected(&s);
	ck_assert_int_eq(int_option(s.fd, IPPROTO_TCP, TCP_NODELAY), 0);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reconnect_replays_an_explicit_bind_with_a_fresh_port)
{
	struct scene s = scene_open(SC_BIND_127_0_0_2);
	struct sockaddr_in before = local_of(s.fd);
	ck_assert_uint_eq(ntohl(before.sin_addr.s_addr), 0x7f000002u);
	scene_server_goes_idle(&s);

	assert_reconnected(&s);

	struct sockaddr_in after = local_of(s.fd);
	ck_assert_uint_eq(ntohl(after.sin_addr.s_addr), 0x7f000002u);
	ck_assert_uint_ne(after.sin_port, 0);
	scene_accept_fresh(&s);
	struct sockaddr_in seen = peer_of(s.fresh);
	ck_assert_uint_eq(ntohl(seen.sin_addr.s_addr), 0x7f000002u);
	scene_close(&s);
}
END_TEST

START_TEST(without_an_explicit_bind_the_kernel_picks_the_source)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	assert_reconnected(&s);
	struct sockaddr_in after = local_of(s.fd);
	ck_assert_uint_eq(ntohl(after.sin_addr.s_addr), 0x7f000001u);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

/* ---- failure ------------------------------------------------------------------ */

START_TEST(refused_reconnect_leaves_the_fd_untouched_and_leaks_nothing)
{
	struct scene s = scene_open(SC_NONBLOCK | SC_CLOEXEC);
	scene_server_goes_idle(&s);
	close_early(&s.listener); /* the server is gone: nothing listens at the address */
	struct sockaddr_in local_before = local_of(s.fd), peer_before = peer_of(s.fd);
	int fl = fcntl(s.fd, F_GETFL), fdfl = fcntl(s.fd, F_GETFD);
	int before = count_open_fds();

	int err = 0;
	ck_assert_int_eq(reconnect(&s, &err), -1);
	ck_assert_msg(err == ECONNREFUSED, "err %d (%s)", err, strerror(err));

	ck_assert_int_eq(count_open_fds(), before);
	struct sockaddr_in local_after = local_of(s.fd), peer_after = peer_of(s.fd);
	ck_assert(same_inet(&local_after, &local_before));
	ck_assert(same_inet(&peer_after, &peer_before));
	ck_assert_int_eq(fcntl(s.fd, F_GETFL), fl);
	ck_assert_int_eq(fcntl(s.fd, F_GETFD), fdfl);
	/* Still the old connection: its server still reads what is written. */
	ck_assert_int_eq(write(s.fd, "x", 1), 1);
	char buf[4];
	ck_assert_int_eq(read_within(s.old_server, buf, sizeof buf), 1);
	scene_close(&s);
}
END_TEST

START_TEST(refused_reconnect_with_retries_still_fails_cleanly)
{
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	close_early(&s.listener);
	s.cfg.retries = 3;
	int before = count_open_fds();
	int err = 0;
	ck_assert_int_eq(reconnect(&s, &err), -1);
	ck_assert_int_eq(err, ECONNREFUSED);
	ck_assert_int_eq(count_open_fds(), before);
	scene_close(&s);
}
END_TEST

START_TEST(each_attempt_is_bounded_by_the_connect_timeout)
{
	/* A listener with a full accept queue drops SYNs: a connect that would
	 * wait for the kernel's SYN retransmits (1 s, 3 s, ...) without a bound. */
	struct scene s = scene_open(SC_BACKLOG_0);
	int filler = connect_to(&s.addr); /* fills the queue of one */
	scene_server_goes_idle(&s);
	s.cfg.connect_timeout_ms = 200;
	s.cfg.retries = 1;
	int before = count_open_fds();

	uint64_t t0 = now_ms();
	int err = 0;
	ck_assert_int_eq(reconnect(&s, &err), -1);
	uint64_t took = now_ms() - t0;
	ck_assert_msg(err == ETIMEDOUT, "err %d (%s)", err, strerror(err));
	ck_assert_msg(took >= 2 * 200 - 20, "two attempts of 200 ms took only %llu ms", (unsigned long long)took);
	ck_assert_msg(took < 5000, "two attempts of 200 ms took %llu ms", (unsigned long long)took);
	ck_assert_int_eq(count_open_fds(), before);
	struct sockaddr_in local_after = local_of(s.fd);
	ck_assert(same_inet(&local_after, &s.old_local));
	close(filler);
	scene_close(&s);
}
END_TEST

struct respawn {
	unsigned short port;
	int listener;
};

/* The server comes back on its port a moment after it went away. */
static void *respawn_thread(void *arg)
{
	struct respawn *r = arg;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 30 * 1000000 };
	nanosleep(&ts, NULL);
	struct sockaddr_in addr;
	r->listener = listen_at(&addr, r->port, 16);
	return NULL;
}

START_TEST(a_server_that_comes_back_during_the_retries_is_reached)
{
	/* The server restarts about 30 ms after the first refused attempt; with
	 * 10 retries the backoff spans far longer than that. */
	struct scene s = scene_open(0);
	scene_server_goes_idle(&s);
	close_early(&s.listener);
	s.cfg.retries = 10;

	struct respawn r = { .port = ntohs(s.addr.sin_port), .listener = -1 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, respawn_thread, &r), 0);
	int err = 0;
	int ret = reconnect(&s, &err);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(ret == 0, "hc_reconnect failed: %s", strerror(err));
	s.listener = r.listener;
	scene_accept_fresh(&s);
	struct sockaddr_in at_fd = local_of(s.fd), seen = peer_of(s.fresh);
	ck_assert(same_inet(&at_fd, &seen));
	scene_close(&s);
}
END_TEST

/* ---- hc_connect_bounded ---------------------------------------------------- */

static int nonblocking_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(connect_bounded_connects_to_a_listener)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int fd = nonblocking_socket();
	ck_assert_int_eq(hc_connect_bounded(fd, (struct sockaddr *)&addr, sizeof addr, 2000), 0);
	struct sockaddr_in peer = peer_of(fd);
	ck_assert(same_inet(&peer, &addr));
	int a = accept_within(l);
	close(a);
	close(fd);
	close(l);
}
END_TEST

START_TEST(connect_bounded_reports_econnrefused)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	close(l); /* a port that was just free and nothing listens on */
	int fd = nonblocking_socket();
	ck_assert_int_eq(hc_connect_bounded(fd, (struct sockaddr *)&addr, sizeof addr, 2000), ECONNREFUSED);
	close(fd);
}
END_TEST

START_TEST(connect_bounded_reports_etimedout_when_nobody_answers)
{
	struct sockaddr_in addr;
	int l = listen_loopback_backlog(&addr, 0);
	int filler = connect_to(&addr);
	int fd = nonblocking_socket();
	uint64_t t0 = now_ms();
	ck_assert_int_eq(hc_connect_bounded(fd, (struct sockaddr *)&addr, sizeof addr, 150), ETIMEDOUT);
	uint64_t took = now_ms() - t0;
	ck_assert_msg(took >= 140 && took < 5000, "a 150 ms bound took %llu ms", (unsigned long long)took);
	close(fd);
	close(filler);
	close(l);
}
END_TEST

Suite *reconnect_suite(void)
{
	Suite *s = suite_create("reconnect");

	TCase *tc = tcase_create("swap");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, stale_connection_is_replaced_at_the_same_fd_number);
	tcase_add_test(tc, successful_reconnect_leaks_no_fd);
	tcase_add_test(tc, reconnect_connects_to_exactly_the_recorded_peer);
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reconnect_keeps_o_nonblock);
	tcase_add_test(tc, reconnect_of_a_blocking_socket_leaves_it_blocking);
	tcase_add_test(tc, reconnect_keeps_fd_cloexec);
	tcase_add_test(tc, reconnect_does_not_add_fd_cloexec);
	tcase_add_test(tc, cloexec_set_after_socket_creation_is_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("options and bind");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reconnect_replays_tcp_nodelay_so_rcvtimeo_and_so_keepalive);
	tcase_add_test(tc, options_the_application_did_not_set_keep_their_defaults);
	tcase_add_test(tc, reconnect_replays_an_explicit_bind_with_a_fresh_port);
	tcase_add_test(tc, without_an_explicit_bind_the_kernel_picks_the_source);
	suite_add_tcase(s, tc);

	tc = tcase_create("failure");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, refused_reconnect_leaves_the_fd_untouched_and_leaks_nothing);
	tcase_add_test(tc, refused_reconnect_with_retries_still_fails_cleanly);
	tcase_add_test(tc, each_attempt_is_bounded_by_the_connect_timeout);
	tcase_add_test(tc, a_server_that_comes_back_during_the_retries_is_reached);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect_bounded");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, connect_bounded_connects_to_a_listener);
	tcase_add_test(tc, connect_bounded_reports_econnrefused);
	tcase_add_test(tc, connect_bounded_reports_etimedout_when_nobody_answers);
	suite_add_tcase(s, tc);

	return s;
}
