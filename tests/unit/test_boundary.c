/* test_boundary.c - which writes are request boundaries, where a stale
 * connection is probed and may be healed, and what a boundary write's first
 * bytes say: a TLS record ends management. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "config.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* ---- request boundaries ------------------------------------------- */

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

	assert_write_fails_with_epipe(s.fd);
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	assert_stat(reconnect_failures, 1);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);
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

/* ---- TLS at a boundary -------------------------------------------- */

START_TEST(tls_connection_is_never_managed)
{
	struct scene s = scene_open();
	ck_assert_int_eq(app_send(s.fd, tls_hello, sizeof tls_hello), 10);
	assert_left_alone(s.fd, tls_skipped);
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
	assert_left_alone(s.fd, tls_skipped);
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
	assert_left_alone(s.fd, tls_skipped);
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

Suite *boundary_suite(void)
{
	Suite *s = suite_create("boundary");

	TCase *tc = scene_tcase(s, "boundaries", 30);
	tcase_add_test(tc, write_inside_a_request_is_never_probed_or_redirected);
	tcase_add_test(tc, write_after_a_quiet_gap_is_a_boundary);
	tcase_add_test(tc, write_after_a_quiet_gap_with_a_reply_owed_is_never_swapped);
	tcase_add_test(tc, write_with_no_iovec_or_a_bad_buffer_fails_with_efault_as_without_the_library);

	tc = scene_tcase(s, "TLS", 30);
	tcase_add_test(tc, tls_connection_is_never_managed);
	tcase_add_test(tc, tls_after_starttls_at_a_later_boundary_ends_management);
	tcase_add_test(tc, tls_record_header_split_across_iovecs_is_detected);
	tcase_add_test(tc, every_tls_record_type_at_a_boundary_ends_management);
	return s;
}
