/* test_left_alone.c - connections the core leaves to the program: what the
 * program did (read the EOF, shutdown, dup), TARGETS/EXCLUDE, a fixed local
 * port, a socket option that cannot be replayed. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <netinet/ip.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* The program connects s->fd, which it set up its own way, to the listener,
 * and the server accepts: the core passes the connection through, never
 * counted as managed. */
static void connect_passed_through(struct scene *s)
{
	app_connect_to(s->fd, (struct sockaddr *)&s->addr, sizeof s->addr);
	assert_left_alone(s->fd, passthrough);
	assert_stat(managed, 0);
	s->server = accept_within(s->listener);
}

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
	assert_left_alone(s.fd, passthrough);
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
	connect_passed_through(&s);
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

START_TEST(unreplayable_option_set_before_connect_counts_as_passthrough)
{
	struct scene s = scene_listen();
	s.fd = app_socket(SOCK_STREAM);
	unsigned char opts[36]; /* more than HC_OPT_MAX bytes */
	memset(opts, IPOPT_NOP, sizeof opts);
	ck_assert_int_eq(hc_setsockopt(s.fd, IPPROTO_IP, IP_OPTIONS, opts, sizeof opts), 0);
	connect_passed_through(&s);
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
	assert_left_alone(s.fd, passthrough);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* the old connection's business */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	scene_close(&s);
}
END_TEST

Suite *left_alone_suite(void)
{
	Suite *s = suite_create("left alone");

	TCase *tc = scene_tcase(s, "left alone", 30);
	tcase_add_test(tc, program_that_read_eof_is_left_to_decide);
	tcase_add_test(tc, shutdown_by_the_program_ends_management);
	tcase_add_test(tc, duplicated_socket_is_never_swapped);
	tcase_add_test(tc, excluded_peer_is_passed_through);
	tcase_add_test(tc, socket_bound_to_a_fixed_local_port_is_passed_through);
	tcase_add_test(tc, an_option_too_big_to_replay_ends_management);
	tcase_add_test(tc, unreplayable_option_set_before_connect_counts_as_passthrough);
	tcase_add_test(tc, socket_filter_option_is_never_replayed);
	return s;
}
