/* test_heal.c - a stale connection at a request boundary, through the core's
 * hooks as the wrappers call them: healed at the same fd, failed with EPIPE,
 * or left to the program with the server's last words; MAX_IDLE's retirement. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "config.h"
#include "loopback.h"
#include "probe.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* ---- healed at the same fd ---------------------------------------- */

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

/* ---- failed with EPIPE -------------------------------------------- */

START_TEST(stale_in_active_use_fails_with_epipe_and_sends_nothing)
{
	/* Quiet for less than MIN_IDLE: a reply might still be owed, never swap. */
	struct scene s = scene_stale_in_active_use();

	assert_write_fails_with_epipe(s.fd);
	assert_write_fails_with_epipe(s.fd); /* and stays failed */
	ck_assert(!listener_has_a_connection(s.listener));
	char buf[16];
	ck_assert_int_eq(recv(s.server, buf, sizeof buf, MSG_DONTWAIT), -1); /* nothing was sent */
	ck_assert_int_eq(errno, EAGAIN);
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

START_TEST(min_idle_refusal_counts_a_reconnect_failure_and_a_stale_connection)
{
	struct scene s = scene_stale_in_active_use();

	assert_write_fails_with_epipe(s.fd);
	assert_stat(stale, 1);
	assert_stat(reconnect_failures, 1);
	assert_stat(reconnects, 0);
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

	assert_write_fails_with_epipe(s.fd);
	assert_stat(reconnect_failures, 1);
	scene_close(&s);
}
END_TEST

/* ---- the server said goodbye -------------------------------------- */

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

/* ---- MAX_IDLE ----------------------------------------------------- */

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

Suite *heal_suite(void)
{
	Suite *s = suite_create("heal");

	TCase *tc = scene_tcase(s, "healed", 30);
	tcase_add_test(tc, stale_fin_reconnects_at_same_fd);
	tcase_add_test(tc, nonblocking_connect_becomes_managed_once_established);
	tcase_add_test(tc, bind_and_connect_given_a_sockaddr_storage_length_are_managed_and_replayed);
	tcase_add_test(tc, connect_after_af_unspec_is_recorded_afresh_and_heals_to_the_new_peer);

	tc = scene_tcase(s, "failed with EPIPE", 30);
	tcase_add_test(tc, stale_in_active_use_fails_with_epipe_and_sends_nothing);
	tcase_add_test(tc, min_idle_refusal_counts_a_reconnect_failure_and_a_stale_connection);
	tcase_add_test(tc, failed_reconnect_fails_the_write_with_epipe);

	tc = scene_tcase(s, "goodbye", 30);
	tcase_add_test(tc, goodbye_bytes_are_left_for_the_program_by_default);
	tcase_add_test(tc, unread_goodbye_left_to_the_program_counts_stale_and_unread_kept);
	tcase_add_test(tc, goodbye_bytes_are_discarded_with_unread_discard);

	tc = scene_tcase(s, "max idle", 30);
	tcase_add_test(tc, max_idle_retires_a_connection_the_probe_says_alive);
	tcase_add_test(tc, max_idle_never_retires_a_connection_with_unread_data);
	tcase_add_test(tc, failed_retirement_keeps_the_old_connection_and_is_no_reconnect_failure);
	return s;
}
