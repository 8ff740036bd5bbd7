/* test_conn.c - the life of a managed connection through the core's hooks, as
 * the wrappers call them: which writes are probed, when a stale connection is
 * healed at the same fd, and when it is left alone or failed with EPIPE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <netinet/ip.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <sys/uio.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "loopback.h"
#include "probe.h"
#include "scene.h"
#include "suites.h"
#include "table.h"




/* ---- healing ----------------------------------------------------------------- */

START_TEST(stale_fin_reconnects_at_same_fd)
{
	struct scene s = scene_open();
	ck_assert(hc_fd_managed(s.fd));
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);

	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	char buf[16];
	ck_assert_int_eq(read(s.server, buf, sizeof buf), 0); /* the old one was closed */
	assert_stat(reconnects, 1);
	ck_assert(hc_fd_managed(s.fd));
	/* And it goes on being a managed connection. */
	ck_assert_int_eq(write(s.fresh, "$1\r\nv\r\n", 7), 7);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 7);
	scene_close(&s);
}
END_TEST

START_TEST(stale_in_active_use_fails_with_epipe_and_sends_nothing)
{
	/* Quiet for less than MIN_IDLE: a reply might still be owed, never swap. */
	hc_cfg.min_idle_ms = 60000;
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1); /* and stays failed */
	ck_assert_int_eq(errno, EPIPE);
	ck_assert(!listener_has_a_connection(s.listener));
	char buf[16];
	ck_assert_int_eq(recv(s.server, buf, sizeof buf, MSG_DONTWAIT), -1); /* nothing was sent */
	ck_assert_int_eq(errno, EAGAIN);
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(stale_socket_another_thread_is_reading_is_not_swapped)
{
	/* A thread inside read() holds the old connection (the wrappers count it
	 * with hc_read_begin/end); a swap would leave it there. */
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	hc_read_begin(s.fd);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	assert_stat(reconnect_failures, 1);
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

static _Atomic int reader_started, reader_in;

static void *begin_a_read(void *arg)
{
	int fd = *(int *)arg;
	reader_started = 1;
	hc_read_begin(fd); /* returns once it may read the fd */
	reader_in = 1;
	hc_read_end(fd);
	return NULL;
}

START_TEST(a_read_that_starts_during_a_swap_waits_for_the_new_socket)
{
	/* Either the swap sees the reader or the reader sees the swap: one atomic
	 * word for both. A swap under way holds the table lock; the reader waits
	 * for it. */
	pthread_t t;
	int fd = 7;
	reader_started = reader_in = 0;
	hc_table_lock();
	ck_assert(hc_swap_begin(fd));
	ck_assert_int_eq(pthread_create(&t, NULL, begin_a_read, &fd), 0);
	while (!reader_started)
		sleep_ms(1);
	sleep_ms(50);
	ck_assert_int_eq(reader_in, 0); /* still waiting */
	hc_swap_end(fd);
	hc_table_unlock();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(reader_in, 1);
	ck_assert(hc_swap_begin(fd)); /* all clear again */
	hc_swap_end(fd);
}
END_TEST

static _Atomic int healer_done;

static void *write_on_stale(void *arg)
{
	int fd = *(int *)arg;
	ck_assert_int_eq(app_write(fd, "GET k\r\n"), -1); /* every reconnect refused */
	healer_done = 1;
	return NULL;
}

/* True while fd's entry is marked healing (the lock is free then). */
static bool healing_now(int fd)
{
	hc_table_lock();
	struct hc_conn *c = hc_table_find(fd);
	bool h = c != NULL && c->healing;
	hc_table_unlock();
	return h;
}

START_TEST(a_heal_lets_other_sockets_go_on_and_holds_its_own)
{
	/* The reconnect runs without the table lock: another connection's write
	 * goes through at once, while a dup2 onto the healing fd waits for the
	 * heal to end (here: refused 4 times, 350 ms of backoff, then EPIPE). */
	hc_cfg.retries = 3;
	struct scene a = scene_open(), b = scene_open();
	exchange(b.fd, b.server);
	scene_serve_then_idle_out(&a);
	close_early(&a.listener); /* every reconnect is refused */
	healer_done = 0;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, write_on_stale, &a.fd), 0);
	while (!healing_now(a.fd))
		sleep_ms(1);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(app_write(b.fd, "GET b\r\n"), 7);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(ms < 150, "a write on another socket waited %ld ms for the heal", ms);
	assert_received(b.server, "GET b\r\n");

	hc_before_replace(a.fd); /* returns once the heal is over */
	hc_table_lock();
	ck_assert_int_eq(hc_table_find(a.fd)->state, HC_CONN_DEAD);
	hc_table_unlock();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(healer_done);
	scene_close(&a);
	scene_close(&b);
}
END_TEST

START_TEST(max_idle_never_retires_a_connection_another_thread_is_reading)
{
	hc_cfg.max_idle_ms = 20;
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	sleep_ms(40);
	hc_read_begin(s.fd);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_received(s.server, "GET k\r\n"); /* on the old connection, where the reader waits */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(retired, 0);
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

START_TEST(failed_reconnect_fails_the_write_with_epipe)
{
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	close_early(&s.listener); /* the server process is gone */
	server_idles_out(s.fd, s.server);
	hc_cfg.retries = 0;

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
	assert_stat(reconnect_failures, 1);
	scene_close(&s);
}
END_TEST

START_TEST(goodbye_bytes_are_left_for_the_program_by_default)
{
	struct scene s = scene_open();
	scene_serve_then_say_goodbye(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* goes to the old connection */
	ck_assert(!listener_has_a_connection(s.listener));
	ck_assert(!hc_fd_managed(s.fd));
	char buf[32];
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 11);
	ck_assert_mem_eq(buf, "-ERR idle\r\n", 11);
	assert_stat(unread_kept, 1);
	scene_close(&s);
}
END_TEST

START_TEST(goodbye_bytes_are_discarded_with_unread_discard)
{
	hc_cfg.unread = HC_UNREAD_DISCARD;
	struct scene s = scene_open();
	scene_serve_then_say_goodbye(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	char buf[16];
	ck_assert_int_eq(read_within(s.fresh, buf, sizeof buf), 7);
	scene_close(&s);
}
END_TEST

START_TEST(max_idle_retires_a_connection_the_probe_says_alive)
{
	hc_cfg.max_idle_ms = 20;
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	sleep_ms(40); /* quiet longer than MAX_IDLE: a lower bound, never a race */

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	char buf[16];
	ck_assert_int_eq(read_within(s.fresh, buf, sizeof buf), 7);
	assert_stat(retired, 1);
	scene_close(&s);
}
END_TEST

/* ---- boundaries ------------------------------------------------------------------ */

START_TEST(write_inside_a_request_is_never_probed_or_redirected)
{
	hc_cfg.write_gap_ms = 0; /* only reads make boundaries here */
	struct scene s = scene_open();
	ck_assert_int_eq(app_write(s.fd, "SET k "), 6); /* first write: a boundary, alive */
	server_idles_out(s.fd, s.server);

	ck_assert_int_eq(app_write(s.fd, "v\r\n"), 3); /* the same request goes on */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	char buf[16];
	ck_assert_int_eq(read(s.server, buf, sizeof buf), 9);
	scene_close(&s);
}
END_TEST

START_TEST(write_after_a_quiet_gap_with_a_reply_owed_is_never_swapped)
{
	/* `write A` (a long poll), a quiet gap, `write B`, then the read: on a
	 * new connection B's reply would be read as A's. */
	hc_cfg.write_gap_ms = 20;
	struct scene s = scene_open();
	char buf[16];
	exchange(s.fd, s.server); /* a request/response connection */
	ck_assert_int_eq(app_write(s.fd, "BLPOP q 0\r\n"), 11);
	assert_received(s.server, "BLPOP q 0\r\n");
	server_idles_out(s.fd, s.server);
	sleep_ms(40);

	errno = 0;
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	assert_stat(reconnect_failures, 1);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);
	scene_close(&s);
}
END_TEST

START_TEST(write_after_a_quiet_gap_is_a_boundary)
{
	hc_cfg.write_gap_ms = 20;
	struct scene s = scene_open();
	ck_assert_int_eq(app_write(s.fd, "<13>log line 1\n"), 15);
	server_idles_out(s.fd, s.server);
	sleep_ms(40);

	ck_assert_int_eq(app_write(s.fd, "<13>log line 2\n"), 15);
	scene_accept_fresh(&s);
	scene_close(&s);
}
END_TEST

/* ---- left alone ------------------------------------------------------------------ */

START_TEST(program_that_read_eof_is_left_to_decide)
{
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	char buf[16];
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);

	ck_assert_int_eq(app_write(s.fd, "more stdin\n"), 11); /* ncat keeps sending */
	ck_assert(!listener_has_a_connection(s.listener));
	ck_assert_int_eq(read(s.server, buf, sizeof buf), 11);
	scene_close(&s);
}
END_TEST

START_TEST(tls_connection_is_never_managed)
{
	struct scene s = scene_open();
	ck_assert_int_eq(app_send(s.fd, tls_hello, sizeof tls_hello), 10);
	ck_assert(!hc_fd_managed(s.fd));
	assert_stat(tls_skipped, 1);
	scene_close(&s);
}
END_TEST

START_TEST(shutdown_by_the_program_ends_management)
{
	struct scene s = scene_open();
	ck_assert_int_eq(hc_shutdown(s.fd, SHUT_RD), 0);
	ck_assert(!hc_fd_managed(s.fd));
	scene_close(&s);
}
END_TEST

START_TEST(duplicated_socket_is_never_swapped)
{
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	int copy = dup(s.fd);
	ck_assert_int_ge(copy, 0);
	hc_on_dup(s.fd, copy);
	ck_assert(!hc_fd_managed(s.fd));
	ck_assert(!hc_fd_managed(copy));
	server_idles_out(s.fd, s.server);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	ck_assert(!listener_has_a_connection(s.listener));
	close(copy);
	scene_close(&s);
}
END_TEST

START_TEST(excluded_peer_is_passed_through)
{
	char err[128];
	ck_assert_int_eq(hc_targets_parse(&hc_cfg.exclude, "127.0.0.1", err, sizeof err), 0);
	struct scene s = scene_open();
	assert_passed_through(s.fd);
	scene_close(&s);
}
END_TEST

START_TEST(socket_bound_to_a_fixed_local_port_is_passed_through)
{
	struct scene s = scene_listen();
	struct sockaddr_in local = { .sin_family = AF_INET };
	socklen_t len = sizeof local;

	/* Find a free port, then bind to it explicitly as a program would. */
	s.fd = app_socket(SOCK_STREAM);
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&local, sizeof local), 0);
	ck_assert_int_eq(getsockname(s.fd, (struct sockaddr *)&local, &len), 0);
	ck_assert_uint_ne(local.sin_port, 0);
	hc_on_bind(s.fd, (struct sockaddr *)&local, sizeof local);
	app_connect_to(s.fd, (struct sockaddr *)&s.addr, sizeof s.addr);
	assert_passed_through(s.fd);
	assert_stat(managed, 0);
	s.server = accept_within(s.listener);
	scene_close(&s);
}
END_TEST

START_TEST(an_option_too_big_to_replay_ends_management)
{
	struct scene s = scene_open();
	unsigned char big[HC_OPT_MAX + 8];
	memset(big, 0, sizeof big);
	hc_setsockopt(s.fd, IPPROTO_IP, 4 /* IP_OPTIONS */, big, sizeof big); /* refused or not: not replayable */
	ck_assert(!hc_fd_managed(s.fd));
	scene_close(&s);
}
END_TEST

START_TEST(failed_connect_with_a_bad_address_is_not_read)
{
	int fd = app_socket(SOCK_STREAM);
	/* The kernel said EFAULT: the hook must not touch the address (or crash). */
	errno = SENTINEL_ERRNO;
	hc_on_connect(fd, (const struct sockaddr *)(uintptr_t)16, sizeof(struct sockaddr_in), -1, EFAULT);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	hc_on_connect(fd, (const struct sockaddr *)(uintptr_t)16, 0, -1, EINVAL);
	ck_assert(!hc_fd_managed(fd));
	assert_stat(managed, 0);
	app_close(fd);
}
END_TEST

START_TEST(udp_and_unix_sockets_are_not_tracked)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(u, 0);
	hc_on_socket(u, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!hc_fd_known(u));
	int x = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(x, 0);
	hc_on_socket(x, AF_UNIX, SOCK_STREAM, 0);
	ck_assert(!hc_fd_known(x));
	close(u);
	close(x);
}
END_TEST

START_TEST(close_and_close_range_forget_the_fd)
{
	struct scene s = scene_listen();
	int a = app_connect(&s.addr), b = app_connect(&s.addr);
	ck_assert(hc_fd_known(a) && hc_fd_known(b));
	hc_forget_fd(a);
	ck_assert(!hc_fd_known(a));
	hc_on_close_range((unsigned)b, (unsigned)b);
	ck_assert(!hc_fd_known(b));
	close(a);
	close(b);
	scene_close(&s);
}
END_TEST

/* ---- non-blocking connect ------------------------------------------------------ */

START_TEST(nonblocking_connect_becomes_managed_once_established)
{
	struct scene s = scene_listen();
	s.fd = app_socket(SOCK_STREAM | SOCK_NONBLOCK);
	app_connect_nonblocking(s.fd, &s.addr);
	ck_assert(hc_fd_managed(s.fd)); /* CONNECTING: the write path must look */
	ck_assert(wait_for_events(s.fd, POLLOUT) & POLLOUT);
	s.server = accept_within(s.listener);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	ck_assert(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
	scene_close(&s);
}
END_TEST

START_TEST(every_hook_preserves_errno)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	int one = 1;
#define KEEPS_ERRNO(call)                                                                              \
	do {                                                                                           \
		errno = SENTINEL_ERRNO;                                                                \
		call;                                                                                  \
		ck_assert_msg(errno == SENTINEL_ERRNO, #call " changed errno to %d (%s)", errno,       \
			      strerror(errno));                                                        \
	} while (0)
	KEEPS_ERRNO(hc_init());
	KEEPS_ERRNO(hc_on_socket(fd, AF_INET, SOCK_STREAM, 0));
	KEEPS_ERRNO(hc_setsockopt(fd, IPPROTO_TCP, 1, &one, sizeof one));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	KEEPS_ERRNO(hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, 0, 0));
	KEEPS_ERRNO(hc_fcntl_set(fcntl, fd, F_SETFL, O_RDWR));
	struct iovec x = { "x", 1 };
	struct hc_write w;
	KEEPS_ERRNO(hc_before_write(fd, &w));
	w.act = HC_WRITE_RECORD;
	KEEPS_ERRNO(hc_after_write(fd, &w, &x, 1, 1));
	KEEPS_ERRNO(hc_after_read(fd, &x, 1, 0, 1));
	KEEPS_ERRNO(hc_on_dup(fd, 1000));
	KEEPS_ERRNO(hc_shutdown(fd, SHUT_RDWR));
	KEEPS_ERRNO(hc_on_close_range(2000, 3000));
	KEEPS_ERRNO(hc_forget_fd(fd));
	KEEPS_ERRNO(hc_now_ns());
#undef KEEPS_ERRNO
	int server = accept_within(l);
	close(server);
	close(fd);
	close(l);
}
END_TEST

/* ---- fixes from review ------------------------------------------------------------ */

START_TEST(bind_and_connect_given_a_sockaddr_storage_length_are_managed_and_replayed)
{
	/* getaddrinfo users often pass sizeof(struct sockaddr_storage) for an IPv4 address. */
	struct scene s = scene_listen();
	struct sockaddr_in from = loopback_addr(2, 0);
	struct sockaddr_storage local, peer;
	memset(&local, 0, sizeof local);
	memcpy(&local, &from, sizeof from);
	memset(&peer, 0, sizeof peer);
	memcpy(&peer, &s.addr, sizeof s.addr);
	s.fd = app_socket(SOCK_STREAM);
	ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&local, sizeof local), 0);
	hc_on_bind(s.fd, (struct sockaddr *)&local, sizeof local);
	app_connect_to(s.fd, (struct sockaddr *)&peer, sizeof peer);
	ck_assert(hc_fd_managed(s.fd));
	s.server = accept_within(s.listener);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	struct sockaddr_in mine = local_of(s.fd), theirs = peer_of(s.fd), seen = peer_of(s.fresh);
	ck_assert_uint_eq(ntohl(mine.sin_addr.s_addr), 0x7f000002u); /* the bind was replayed */
	ck_assert(same_inet(&theirs, &s.addr));
	ck_assert(same_inet(&seen, &mine));
	assert_stat(reconnects, 1);
	scene_close(&s);
}
END_TEST

START_TEST(dead_fd_number_reused_behind_our_back_is_not_failed)
{
	hc_cfg.min_idle_ms = 60000;
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1); /* DEAD: stale within MIN_IDLE */
	ck_assert_int_eq(errno, EPIPE);

	/* A close no hook sees (glibc-internal, a raw system call), then the lowest
	 * free number goes to something else entirely. */
	ck_assert_int_eq(syscall(SYS_close, s.fd), 0);
	int reused = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_eq(reused, s.fd);
	ck_assert_int_eq(before_write(s.fd), HC_WRITE_PROCEED);
	ck_assert(!hc_fd_managed(s.fd));
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* /dev/null takes it */
	scene_close(&s);
}
END_TEST

START_TEST(connect_after_af_unspec_is_recorded_afresh_and_heals_to_the_new_peer)
{
	/* The application first connects to a, then to the scene's listener. */
	struct sockaddr_in a;
	int la = listen_loopback(&a);
	struct scene s = scene_listen();
	s.fd = app_socket(SOCK_STREAM | SOCK_NONBLOCK);
	app_connect_nonblocking(s.fd, &a);
	int old = accept_within(la);

	struct sockaddr unspec;
	memset(&unspec, 0, sizeof unspec);
	unspec.sa_family = AF_UNSPEC;
	ck_assert_int_eq(connect(s.fd, &unspec, sizeof unspec), 0); /* dissolves the association */
	hc_on_connect(s.fd, &unspec, sizeof unspec, 0, 0);
	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETFL, 0), 0);
	app_connect_to(s.fd, (struct sockaddr *)&s.addr, sizeof s.addr);
	ck_assert(hc_fd_managed(s.fd));
	s.server = accept_within(s.listener);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	struct sockaddr_in now = peer_of(s.fd);
	ck_assert(same_inet(&now, &s.addr));
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	ck_assert(!listener_has_a_connection(la));
	close(old);
	close(la);
	scene_close(&s);
}
END_TEST

START_TEST(max_idle_never_retires_a_connection_with_unread_data)
{
	hc_cfg.max_idle_ms = 20;
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	ck_assert_int_eq(write(s.server, "+PUSH\r\n", 7), 7); /* pushed, not yet read */
	ck_assert(wait_for_events(s.fd, POLLIN) & POLLIN);
	sleep_ms(40); /* quiet longer than MAX_IDLE */
	ck_assert_int_eq(hc_probe(s.fd, NULL), HC_ALIVE_UNREAD);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* goes to the old connection */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_received(s.server, "GET k\r\n");
	char buf[16];
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 7);
	ck_assert_mem_eq(buf, "+PUSH\r\n", 7);
	assert_stat(retired, 0);
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(failed_retirement_keeps_the_old_connection_and_is_no_reconnect_failure)
{
	hc_cfg.max_idle_ms = 20;
	hc_cfg.retries = 0;
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	close_early(&s.listener); /* a new connection is refused; the old one is alive */
	sleep_ms(40);

	struct iovec v = { "GET k\r\n", 7 };
	struct hc_write w;
	enum hc_write_action act = before_write_to(s.fd, &w);
	ck_assert_int_ne(act, HC_WRITE_FAIL);
	ck_assert_int_eq(write(s.fd, "GET k\r\n", 7), 7);
	hc_after_write(s.fd, &w, &v, 1, 7);
	assert_received(s.server, "GET k\r\n");
	ck_assert(hc_fd_managed(s.fd));
	assert_stat(reconnect_failures, 0);
	assert_stat(retired, 0);
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(unreplayable_option_set_before_connect_counts_as_passthrough)
{
	struct scene s = scene_listen();
	s.fd = app_socket(SOCK_STREAM);
	unsigned char opts[36]; /* more than HC_OPT_MAX bytes */
	memset(opts, IPOPT_NOP, sizeof opts);
	ck_assert_int_eq(hc_setsockopt(s.fd, IPPROTO_IP, IP_OPTIONS, opts, sizeof opts), 0);
	app_connect_to(s.fd, (struct sockaddr *)&s.addr, sizeof s.addr);
	assert_passed_through(s.fd);
	assert_stat(managed, 0);
	s.server = accept_within(s.listener);
	scene_close(&s);
}
END_TEST

START_TEST(socket_filter_option_is_never_replayed)
{
	/* sock_fprog is 16 bytes, but it points into the program's memory. */
	struct scene s = scene_open();
	ck_assert(hc_fd_managed(s.fd));
	struct sock_filter accept_all[] = { BPF_STMT(BPF_RET | BPF_K, 0xffffffffu) };
	struct sock_fprog prog = { .len = 1, .filter = accept_all };
	ck_assert_uint_le(sizeof prog, HC_OPT_MAX);
	ck_assert_int_eq(hc_setsockopt(s.fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog), 0);
	assert_passed_through(s.fd);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* the old connection's business */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(refused_nonblocking_connect_is_not_counted_as_managed)
{
	struct sockaddr_in addr;
	close(listen_loopback(&addr)); /* nobody listens there any more */
	int fd = app_socket(SOCK_STREAM | SOCK_NONBLOCK);
	int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	int e = errno;
	hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, r, r == 0 ? 0 : e);
	ck_assert_int_eq(r, -1);
	ck_assert_msg(e == EINPROGRESS, "connect: %s (the in-progress path is the point)", strerror(e));
	assert_stat(managed, 0);
	ck_assert(wait_for_events(fd, POLLOUT) & (POLLOUT | POLLERR | POLLHUP));
	/* The program asks again, as non-blocking clients do, and hears the outcome. */
	r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	e = errno;
	hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, r, r == 0 ? 0 : e);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e, ECONNREFUSED);
	ck_assert(!hc_fd_managed(fd));
	assert_stat(managed, 0);
	app_close(fd);
}
END_TEST

START_TEST(min_idle_refusal_counts_a_reconnect_failure_and_a_stale_connection)
{
	hc_cfg.min_idle_ms = 60000;
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
	assert_stat(stale, 1);
	assert_stat(reconnect_failures, 1);
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(unread_goodbye_left_to_the_program_counts_stale_and_unread_kept)
{
	struct scene s = scene_open();
	scene_serve_then_say_goodbye(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_stat(stale, 1);
	assert_stat(unread_kept, 1);
	assert_stat(reconnect_failures, 0);
	scene_close(&s);
}
END_TEST

START_TEST(write_with_no_iovec_or_a_bad_buffer_fails_with_efault_as_without_the_library)
{
	/* writev(fd, NULL, n), a NULL or a non-NULL bad iov_base, a bad iovec
	 * array: EFAULT is the kernel's to report; the core must not read
	 * through those pointers (it once read the first bytes before the
	 * write, for TLS, and a bad non-NULL buffer killed the program). */
	static const struct iovec null_base = { NULL, 4 }, bad_base = { (void *)16, 4 };
	static const struct {
		const struct iovec *iov;
		int cnt;
	} cases[] = { { NULL, 1 }, { &null_base, 1 }, { &bad_base, 1 }, { (const struct iovec *)16, 1 } };
	struct scene s = scene_listen();
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		scene_connect(&s); /* a first write: a boundary, probed */
		errno = 0;
		ck_assert_msg(app_writev(s.fd, cases[k].iov, cases[k].cnt) == -1 && errno == EFAULT, "case %zu", k);
		ck_assert_msg(hc_fd_managed(s.fd), "case %zu", k);
		scene_hang_up(&s);
	}
	assert_stat(tls_skipped, 0);
	scene_close(&s);
}
END_TEST

START_TEST(tls_after_starttls_at_a_later_boundary_ends_management)
{
	struct scene s = scene_open();
	char buf[16];
	ck_assert_int_eq(app_write(s.fd, "STARTTLS\r\n"), 10);
	assert_received(s.server, "STARTTLS\r\n");
	ck_assert_int_eq(write(s.server, "220 Go\r\n", 8), 8);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 8);
	ck_assert(hc_fd_managed(s.fd));

	ck_assert_int_eq(app_send(s.fd, tls_hello, sizeof tls_hello), 10);
	ck_assert(!hc_fd_managed(s.fd));
	assert_stat(tls_skipped, 1);
	scene_close(&s);
}
END_TEST

START_TEST(tls_record_header_split_across_iovecs_is_detected)
{
	struct scene s = scene_open();
	/* An empty iovec, the content type, then version and the rest. */
	static const unsigned char type[] = { 0x16 }, rest[] = { 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	struct iovec v[] = { { (void *)rest, 0 }, { (void *)type, 1 }, { (void *)rest, sizeof rest } };
	ck_assert_int_eq(app_writev(s.fd, v, 3), 10);
	ck_assert(!hc_fd_managed(s.fd));
	assert_stat(tls_skipped, 1);
	scene_close(&s);
}
END_TEST

START_TEST(every_tls_record_type_at_a_boundary_ends_management)
{
	/* change_cipher_spec, alert, handshake, application_data; TLS 1.0-1.3 say 0x0301-0x0304. */
	struct scene s = scene_listen();
	for (unsigned char type = 0x14; type <= 0x17; type++) {
		scene_connect(&s);
		const unsigned char rec[] = { type, 0x03, 0x03, 0x00, 0x01, 0x00 };
		ck_assert_int_eq(app_send(s.fd, rec, sizeof rec), (ssize_t)sizeof rec);
		ck_assert_msg(!hc_fd_managed(s.fd), "record type %#x", type);
		scene_hang_up(&s);
	}
	assert_stat(tls_skipped, 4);
	scene_close(&s);
}
END_TEST

START_TEST(fd_created_by_accept_forgets_what_an_unseen_close_left)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int client = connect_to(&addr); /* first in the accept queue */
	int fd = app_connect(&addr);    /* managed, then closed without a hook */
	ck_assert(hc_fd_managed(fd));
	ck_assert_int_eq(syscall(SYS_close, fd), 0);

	int s = accept_within(l); /* client's connection, at the lowest free number */
	ck_assert_int_eq(s, fd);
	hc_forget_fd(s);
	ck_assert(!hc_fd_known(s));
	ck_assert(!hc_fd_managed(s));
	close(s);
	close(client);
	close(l); /* drops the unaccepted connection of the closed fd */
}
END_TEST

START_TEST(udp_socket_at_a_number_an_unseen_close_left_forgets_it)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int fd = app_connect(&addr); /* managed, then closed without a hook */
	ck_assert_int_eq(syscall(SYS_close, fd), 0);

	int u = socket(AF_INET, SOCK_DGRAM, 0); /* the lowest free number again */
	ck_assert_int_eq(u, fd);
	hc_on_socket(u, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!hc_fd_known(u));
	close(u);
	close(l);
}
END_TEST

START_TEST(sctp_sockets_are_not_tracked)
{
	/* SCTP's one-to-one style is SOCK_STREAM too; a TCP socket stands in where
	 * the kernel has no SCTP: the hook only sees the arguments. */
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	if (fd < 0)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	hc_on_socket(fd, AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	ck_assert(!hc_fd_known(fd));
	hc_on_socket(fd, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	ck_assert(!hc_fd_known(fd));
	close(fd);
}
END_TEST

START_TEST(tcp_and_mptcp_protocol_sockets_are_tracked)
{
	static const int protocols[] = { 0, IPPROTO_TCP, IPPROTO_MPTCP };
	for (size_t k = 0; k < sizeof protocols / sizeof protocols[0]; k++) {
		/* MPTCP may be disabled in this kernel: the hook only sees the arguments. */
		int fd = socket(AF_INET, SOCK_STREAM, protocols[k]);
		if (fd < 0)
			fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		hc_on_socket(fd, AF_INET, SOCK_STREAM, protocols[k]);
		ck_assert_msg(hc_fd_known(fd), "protocol %d", protocols[k]);
		app_close(fd);
	}
}
END_TEST

/* ---- fork ---------------------------------------------------------------------- */

static atomic_int churning;

/* Another thread of the program, opening and closing sockets all the time. */
static void *churn(void *arg)
{
	(void)arg;
	while (atomic_load(&churning)) {
		hc_on_socket(900, AF_INET, SOCK_STREAM, 0);
		hc_forget_fd(900);
	}
	return NULL;
}

/* Waits for pid at most WAIT_MS; a child stuck on an inherited lock is killed. */
static int wait_child(pid_t pid)
{
	int status = 0;
	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("forked child hung (a table lock inherited locked?)");
	return -1;
}

START_TEST(forked_child_gets_a_usable_table_while_another_thread_uses_it)
{
	/* hc_init registered the pthread_atfork handlers: fork takes the lock in
	 * prepare, so the child never inherits it held mid-update. */
	struct scene s = scene_open();
	atomic_store(&churning, 1);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, churn, NULL), 0);
	for (int k = 0; k < 20; k++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			hc_table_lock();
			struct hc_conn *c = hc_table_find(s.fd);
			bool ok = c != NULL && c->state == HC_CONN_MANAGED && hc_table_add(901) != NULL;
			hc_table_unlock();
			hc_forget_fd(901);
			_exit(ok ? 0 : 1);
		}
		int status = wait_child(pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", k, status);
	}
	atomic_store(&churning, 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert(hc_fd_managed(s.fd)); /* the parent's table and lock are fine too */
	hc_table_lock();
	ck_assert_ptr_null(hc_table_find(901));
	hc_table_unlock();
	scene_close(&s);
}
END_TEST

START_TEST(forked_child_does_not_inherit_the_parents_readers)
{
	/* A parent thread inside a read does not come along into the child,
	 * which must be able to heal that socket. */
	struct scene s = scene_open();
	hc_read_begin(s.fd);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		bool ok = hc_swap_begin(s.fd);
		_exit(ok ? 0 : 1);
	}
	int status = wait_child(pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
	ck_assert(!hc_swap_begin(s.fd)); /* the parent's reader is still there */
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

START_TEST(a_read_that_never_ended_does_not_stop_the_next_socket_at_its_number)
{
	/* A reader cancelled or longjmp'ed out of its read never ends its count;
	 * a new socket at that number starts from zero. */
	struct scene s = scene_open();
	int fd = s.fd;
	hc_read_begin(fd);
	scene_hang_up(&s);
	scene_connect(&s);
	ck_assert_int_eq(s.fd, fd);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	assert_stat(reconnects, 1);
	hc_read_end(fd); /* late: it must not go below zero */
	ck_assert(hc_swap_begin(fd));
	hc_swap_end(fd);
	scene_close(&s);
}
END_TEST

/* ---- replay: the FIN that was still on the wire when the write was probed ---- */

/* The race as the core sees it: the peer closed, but the boundary write is not
 * probed (HALFCLOSE_PROBE_AFTER_MS holds the probe off, as a FIN still in
 * flight would make it say alive), so the request goes into the closed
 * connection. */
static void scene_race_the_close(struct scene *s, bool full_close)
{
	hc_cfg.probe_after_ms = 60000;
	/* These are about the kernel's proof; which requests may be resent at
	 * all (HALFCLOSE_REPLAY=safe, the default) is test_safe.c's. */
	hc_cfg.replay = HC_REPLAY_ALL;
	exchange(s->fd, s->server);
	if (full_close) {
		close_early(&s->server); /* the client's bytes will be answered by RST */
		ck_assert(wait_for_events(s->fd, POLLRDHUP) & POLLRDHUP);
	} else {
		server_idles_out(s->fd, s->server); /* SHUT_WR: it still reads */
	}
	ck_assert_int_eq(app_write(s->fd, "GET k\r\n"), 7);
}

/* The program's read gets the EOF as it was, and nothing was resent: no
 * replay counted, no new connection. */
static void assert_eof_not_replayed(struct scene *s)
{
	char buf[16];
	ck_assert_int_eq(app_read(s->fd, buf, sizeof buf), 0);
	assert_stat(replays, 0);
	ck_assert(!listener_has_a_connection(s->listener));
}

struct replier {
	int listener;
	char got[16];
};

/* The server side of a replay: accepts the new connection, reads the request, answers it. */
static void *accept_and_reply(void *arg)
{
	struct replier *r = arg;
	int fd = accept_within(r->listener);
	ssize_t n = read_within(fd, r->got, sizeof r->got - 1);
	r->got[n > 0 ? n : 0] = '\0';
	ck_assert_int_eq(write(fd, "$1\r\nv\r\n", 7), 7);
	sleep_ms(100); /* let the client read before it sees the close */
	close(fd);
	return NULL;
}

START_TEST(request_reset_before_any_reply_is_resent_and_the_read_gets_the_reply)
{
	struct scene s = scene_open();
	struct replier r = { .listener = s.listener };
	pthread_t t;
	char buf[16];

	scene_race_the_close(&s, true);
	ck_assert_int_eq(pthread_create(&t, NULL, accept_and_reply, &r), 0);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 7); /* blocking: EOF, replay, then the reply */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(r.got, "GET k\r\n");
	ck_assert_int_eq(memcmp(buf, "$1\r\nv\r\n", 7), 0);
	assert_stat(replays, 1);
	assert_stat(reconnects, 1);
	ck_assert(hc_fd_managed(s.fd));
	scene_close(&s);
}
END_TEST

/* A server that reads the request, acts on it, and aborts (SO_LINGER 0) at
 * once, before its delayed ACK went out: RST, state CLOSE, SIOCOUTQ = the
 * request's length, exactly as for a request that was never delivered. But
 * no FIN came first: the read fails with ECONNRESET, which proves nothing,
 * and the request must not run twice. */
START_TEST(a_reset_without_a_fin_first_is_never_replayed)
{
	hc_cfg.probe_after_ms = 60000; /* the boundary write goes out unprobed */
	for (int round = 0; round < 20; round++) {
		struct scene s = scene_open();
		char buf[16];
		exchange(s.fd, s.server);
		ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
		assert_received(s.server, "GET k\r\n"); /* the server read it: it may have acted on it */
		set_linger_zero(s.server);
		close_early(&s.server);
		ck_assert(wait_for_events(s.fd, POLLIN) & (POLLIN | POLLHUP | POLLERR));
		errno = 0;
		ssize_t n = app_read(s.fd, buf, sizeof buf);
		ck_assert_msg(n == -1 && errno == ECONNRESET, "round %d: read %zd (%s)", round, n, strerror(errno));
		assert_stat(replays, 0);
		ck_assert_msg(!listener_has_a_connection(s.listener), "round %d: the request was resent", round);
		ck_assert(!hc_fd_managed(s.fd));
		scene_close(&s);
	}
}
END_TEST

START_TEST(nonblocking_read_after_a_replay_says_eagain_until_the_reply_comes)
{
	struct scene s = scene_open();
	char buf[16];

	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETFL, O_NONBLOCK), 0);
	scene_race_the_close(&s, true);
	errno = 0;
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EAGAIN);
	assert_stat(replays, 1);
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	ck_assert_int_eq(write(s.fresh, "$1\r\nv\r\n", 7), 7);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 7);
	ck_assert(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
	scene_close(&s);
}
END_TEST

START_TEST(request_the_peer_acknowledged_is_never_resent)
{
	struct scene s = scene_open();

	scene_race_the_close(&s, false);
	assert_received(s.server, "GET k\r\n"); /* the half-closed server read it: maybe acted on it */
	assert_eof_not_replayed(&s);
	ck_assert(!hc_fd_managed(s.fd));
	scene_close(&s);
}
END_TEST

START_TEST(request_after_active_use_is_never_resent)
{
	struct scene s = scene_open();

	hc_cfg.min_idle_ms = 60000; /* B's reply may still be owed after `write A, write B, read` */
	scene_race_the_close(&s, true);
	assert_eof_not_replayed(&s);
	scene_close(&s);
}
END_TEST

START_TEST(request_longer_than_replay_max_is_never_resent)
{
	struct scene s = scene_open();

	hc_cfg.replay_max = 6; /* "GET k\r\n" is 7 */
	scene_race_the_close(&s, true);
	assert_eof_not_replayed(&s);
	scene_close(&s);
}
END_TEST

START_TEST(replayed_request_the_new_peer_read_then_dropped_is_not_resent)
{
	struct scene s = scene_open();
	char buf[16];

	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETFL, O_NONBLOCK), 0);
	scene_race_the_close(&s, true);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), -1); /* replayed: EAGAIN */
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	close_early(&s.fresh); /* the new connection dies before replying, with the request read */
	ck_assert(wait_for_events(s.fd, POLLRDHUP) & POLLRDHUP);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);
	assert_stat(replays, 1);
	ck_assert(!listener_has_a_connection(s.listener));
	scene_close(&s);
}
END_TEST

START_TEST(write_after_a_gap_with_a_reply_owed_is_not_replayed_alone)
{
	/* The FIN of a server that had A in hand is in flight when B is written
	 * after a quiet gap: B alone must not be resent (its reply would be
	 * read as A's); A was acknowledged, so neither is. */
	struct scene s = scene_open();

	hc_cfg.probe_after_ms = 60000;
	hc_cfg.write_gap_ms = 20;
	exchange(s.fd, s.server);
	ck_assert_int_eq(app_write(s.fd, "BLPOP q 0\r\n"), 11);
	assert_received(s.server, "BLPOP q 0\r\n");
	close_early(&s.server);
	ck_assert(wait_for_events(s.fd, POLLRDHUP) & POLLRDHUP);
	sleep_ms(40);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_eof_not_replayed(&s);
	scene_close(&s);
}
END_TEST

START_TEST(reply_bytes_end_the_request_kept_for_a_replay)
{
	struct scene s = scene_open();
	char buf[16];

	hc_cfg.probe_after_ms = 60000;
	exchange(s.fd, s.server);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_received(s.server, "GET k\r\n");
	ck_assert_int_eq(write(s.server, "$1\r\n", 4), 4); /* part of the reply, then the close */
	close_early(&s.server);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 4);
	assert_eof_not_replayed(&s);
	scene_close(&s);
}
END_TEST

/* A test case of the suite: the clean core of setup, and a 30 s bound. */
static TCase *conn_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, scene_setup, scene_teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *conn_suite(void)
{
	Suite *s = suite_create("conn");

	TCase *tc = conn_tcase(s, "healing");
	tcase_add_test(tc, stale_fin_reconnects_at_same_fd);
	tcase_add_test(tc, stale_in_active_use_fails_with_epipe_and_sends_nothing);
	tcase_add_test(tc, failed_reconnect_fails_the_write_with_epipe);
	tcase_add_test(tc, goodbye_bytes_are_left_for_the_program_by_default);
	tcase_add_test(tc, goodbye_bytes_are_discarded_with_unread_discard);
	tcase_add_test(tc, max_idle_retires_a_connection_the_probe_says_alive);
	tcase_add_test(tc, nonblocking_connect_becomes_managed_once_established);

	tc = conn_tcase(s, "boundaries");
	tcase_add_test(tc, write_inside_a_request_is_never_probed_or_redirected);
	tcase_add_test(tc, write_after_a_quiet_gap_is_a_boundary);
	tcase_add_test(tc, write_after_a_quiet_gap_with_a_reply_owed_is_never_swapped);

	tc = conn_tcase(s, "left alone");
	tcase_add_test(tc, program_that_read_eof_is_left_to_decide);
	tcase_add_test(tc, tls_connection_is_never_managed);
	tcase_add_test(tc, shutdown_by_the_program_ends_management);
	tcase_add_test(tc, duplicated_socket_is_never_swapped);
	tcase_add_test(tc, excluded_peer_is_passed_through);
	tcase_add_test(tc, an_option_too_big_to_replay_ends_management);
	tcase_add_test(tc, socket_bound_to_a_fixed_local_port_is_passed_through);
	tcase_add_test(tc, failed_connect_with_a_bad_address_is_not_read);
	tcase_add_test(tc, udp_and_unix_sockets_are_not_tracked);
	tcase_add_test(tc, close_and_close_range_forget_the_fd);
	tcase_add_test(tc, every_hook_preserves_errno);

	tc = conn_tcase(s, "review fixes");
	tcase_add_test(tc, bind_and_connect_given_a_sockaddr_storage_length_are_managed_and_replayed);
	tcase_add_test(tc, dead_fd_number_reused_behind_our_back_is_not_failed);
	tcase_add_test(tc, connect_after_af_unspec_is_recorded_afresh_and_heals_to_the_new_peer);
	tcase_add_test(tc, max_idle_never_retires_a_connection_with_unread_data);
	tcase_add_test(tc, failed_retirement_keeps_the_old_connection_and_is_no_reconnect_failure);
	tcase_add_test(tc, fd_created_by_accept_forgets_what_an_unseen_close_left);
	tcase_add_test(tc, udp_socket_at_a_number_an_unseen_close_left_forgets_it);

	tc = conn_tcase(s, "threads");
	tcase_add_test(tc, stale_socket_another_thread_is_reading_is_not_swapped);
	tcase_add_test(tc, max_idle_never_retires_a_connection_another_thread_is_reading);
	tcase_add_test(tc, a_read_that_starts_during_a_swap_waits_for_the_new_socket);
	tcase_add_test(tc, a_heal_lets_other_sockets_go_on_and_holds_its_own);

	tc = conn_tcase(s, "counters");
	tcase_add_test(tc, unreplayable_option_set_before_connect_counts_as_passthrough);
	tcase_add_test(tc, socket_filter_option_is_never_replayed);
	tcase_add_test(tc, refused_nonblocking_connect_is_not_counted_as_managed);
	tcase_add_test(tc, min_idle_refusal_counts_a_reconnect_failure_and_a_stale_connection);
	tcase_add_test(tc, unread_goodbye_left_to_the_program_counts_stale_and_unread_kept);

	tc = conn_tcase(s, "write arguments and TLS");
	tcase_add_test(tc, write_with_no_iovec_or_a_bad_buffer_fails_with_efault_as_without_the_library);
	tcase_add_test(tc, tls_after_starttls_at_a_later_boundary_ends_management);
	tcase_add_test(tc, tls_record_header_split_across_iovecs_is_detected);
	tcase_add_test(tc, every_tls_record_type_at_a_boundary_ends_management);
	tcase_add_test(tc, sctp_sockets_are_not_tracked);
	tcase_add_test(tc, tcp_and_mptcp_protocol_sockets_are_tracked);

	tc = conn_tcase(s, "replay");
	tcase_add_test(tc, request_reset_before_any_reply_is_resent_and_the_read_gets_the_reply);
	tcase_add_test(tc, nonblocking_read_after_a_replay_says_eagain_until_the_reply_comes);
	tcase_add_test(tc, a_reset_without_a_fin_first_is_never_replayed);
	tcase_add_test(tc, request_the_peer_acknowledged_is_never_resent);
	tcase_add_test(tc, request_after_active_use_is_never_resent);
	tcase_add_test(tc, request_longer_than_replay_max_is_never_resent);
	tcase_add_test(tc, replayed_request_the_new_peer_read_then_dropped_is_not_resent);
	tcase_add_test(tc, reply_bytes_end_the_request_kept_for_a_replay);
	tcase_add_test(tc, write_after_a_gap_with_a_reply_owed_is_not_replayed_alone);

	tc = conn_tcase(s, "fork");
	tcase_add_test(tc, forked_child_gets_a_usable_table_while_another_thread_uses_it);
	tcase_add_test(tc, forked_child_does_not_inherit_the_parents_readers);
	tcase_add_test(tc, a_read_that_never_ended_does_not_stop_the_next_socket_at_its_number);

	return s;
}
