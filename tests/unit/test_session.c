/* test_session.c - what a connection carries, through the core's hooks on real
 * loopback connections: a RESP session rebuilt and checked on the new
 * connection before the request goes out, a refused rebuild failing the
 * write with nothing sent, and the classes that are never swapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

#define AUTH_PW "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"
#define SELECT2 "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
#define GETK "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"

/* The server's side of one command: reads it whole, answers reply. */
static void serve(int server, const char *want, const char *reply)
{
	assert_received(server, want);
	ck_assert_int_eq(write(server, reply, strlen(reply)), (ssize_t)strlen(reply));
}

/* The program's side: writes cmd, reads the reply (which must be reply). */
static void ask(struct scene *s, const char *cmd, const char *reply)
{
	char buf[64];
	ck_assert_int_eq(app_write(s->fd, cmd), (ssize_t)strlen(cmd));
	serve(s->server, cmd, reply);
	ck_assert_int_eq(app_read_within(s->fd, buf, sizeof buf), (ssize_t)strlen(reply));
}

/* The listener's next connection as a redis server meets a rebuild: reads
 * the record (want bytes), answers replies. Runs beside the program's write,
 * which waits for those replies. */
struct fresh_server {
	int listener, fd;
	const char *want, *replies;
	char got[256];
};

static void *fresh_serve(void *arg)
{
	struct fresh_server *f = arg;
	size_t want = strlen(f->want), n = 0;

	f->fd = accept_within(f->listener);
	while (n < want) {
		ssize_t r = read_within(f->fd, f->got + n, want - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	f->got[n] = '\0';
	if (n == want && write(f->fd, f->replies, strlen(f->replies)) < 0)
		f->got[0] = '\0';
	return NULL;
}

/* A redis connection with AUTH and SELECT done, then idled out by the server. */
static struct scene authenticated_in_db2(void)
{
	struct scene s = scene_open();
	ask(&s, AUTH_PW, "+OK\r\n");
	ask(&s, SELECT2, "+OK\r\n");
	ask(&s, GETK, "$3\r\ndb2\r\n");
	server_idles_out(s.fd, s.server);
	return s;
}

START_TEST(a_redis_session_is_rebuilt_before_the_request_goes_out)
{
	struct scene s = authenticated_in_db2();
	struct fresh_server f = { .listener = s.listener, .want = AUTH_PW SELECT2, .replies = "+OK\r\n+OK\r\n" };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, fresh_serve, &f), 0);
	ck_assert_int_eq(app_write(s.fd, GETK), (ssize_t)strlen(GETK));
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* The record came first, byte for byte, then the program's request. */
	ck_assert_str_eq(f.got, AUTH_PW SELECT2);
	assert_received(f.fd, GETK);
	ck_assert(hc_fd_managed(s.fd));
	assert_stat(reconnects, 1);
	assert_stat(session_rebuilds, 1);
	assert_stat(session_failures, 0);
	close(f.fd);
	scene_close(&s);
}
END_TEST

START_TEST(a_refused_rebuild_resets_the_new_connection_and_fails_the_write)
{
	struct scene s = authenticated_in_db2();
	struct fresh_server f = { .listener = s.listener, .want = AUTH_PW SELECT2,
				  .replies = "-WRONGPASS invalid username-password pair\r\n+OK\r\n" };
	pthread_t t;
	char buf[64];

	ck_assert_int_eq(pthread_create(&t, NULL, fresh_serve, &f), 0);
	errno = 0;
	ck_assert_int_eq(app_write(s.fd, GETK), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* The new connection was reset, and the request never reached it. */
	ck_assert(wait_for_events(f.fd, POLLIN) & (POLLIN | POLLHUP | POLLERR));
	ck_assert_int_eq(read(f.fd, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	assert_stat(session_failures, 1);
	assert_stat(reconnect_failures, 1);
	assert_stat(reconnects, 0);
	close(f.fd);
	scene_close(&s);
}
END_TEST

START_TEST(a_wrong_password_is_not_part_of_the_session)
{
	struct scene s = scene_open();
	struct fresh_server f = { .listener = s.listener, .want = SELECT2, .replies = "+OK\r\n" };
	pthread_t t;

	ask(&s, "*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n", "-WRONGPASS invalid username-password pair\r\n");
	ask(&s, SELECT2, "+OK\r\n");
	server_idles_out(s.fd, s.server);
	ck_assert_int_eq(pthread_create(&t, NULL, fresh_serve, &f), 0);
	ck_assert_int_eq(app_write(s.fd, GETK), (ssize_t)strlen(GETK));
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(f.got, SELECT2);
	assert_received(f.fd, GETK);
	assert_stat(session_rebuilds, 1);
	close(f.fd);
	scene_close(&s);
}
END_TEST

/* MULTI open: a swap would lose the queued commands; the write goes into
 * the old connection exactly as without the library. */
START_TEST(an_open_multi_leaves_a_stale_connection_untouched)
{
	struct scene s = scene_open();
	char buf[16];

	ask(&s, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n");
	server_idles_out(s.fd, s.server);
	unsigned long probes = stat_of(&hc_stats.probes);
	ck_assert_int_eq(app_write(s.fd, GETK), (ssize_t)strlen(GETK));
	assert_received(s.server, GETK); /* SHUT_WR: the server still reads */
	ck_assert(!listener_has_a_connection(s.listener));
	ck_assert_uint_eq(stat_of(&hc_stats.probes), probes); /* not even probed */
	assert_stat(reconnects, 0);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0); /* the EOF, as without it */
	scene_close(&s);
}
END_TEST

START_TEST(subscribe_ends_management)
{
	struct scene s = scene_open();
	ck_assert_int_eq(app_write(s.fd, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n"), 27);
	assert_left_alone(s.fd, stateful_skipped);
	scene_close(&s);
}
END_TEST

START_TEST(a_server_that_spoke_first_is_never_swapped)
{
	struct scene s = scene_open();
	char buf[64];

	/* A MySQL-like greeting, read by the program before its first write. */
	ck_assert_int_eq(write(s.server, "220 mail ESMTP\r\n", 16), 16);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 16);
	ck_assert_int_eq(app_write(s.fd, "EHLO me\r\n"), 9);
	assert_left_alone(s.fd, stateful_skipped);
	scene_close(&s);
}
END_TEST

START_TEST(an_unread_greeting_may_heal_the_first_write_but_not_later_ones)
{
	struct scene s = scene_open();
	ck_assert_int_eq(write(s.server, "+OK POP3 ready\r\n", 16), 16);
	ck_assert(wait_for_events(s.fd, POLLIN) & POLLIN);
	ck_assert_int_eq(app_write(s.fd, "CAPA\r\n"), 6);
	assert_left_alone(s.fd, stateful_skipped);
	scene_close(&s);
}
END_TEST

START_TEST(first_writes_of_stateful_protocols_end_management)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8 },                 /* PostgreSQL SSLRequest */
		{ "\x00\x00\x00\x09\x00\x03\x00\x00\x00", 9 },             /* StartupMessage */
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24 },                /* HTTP/2 */
		{ "AMQP\x00\x00\x09\x01", 8 },
		{ "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 40 },
		{ "AUTH pw\r\n", 9 },                                      /* redis inline */
	};
	struct scene s = scene_listen();
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		scene_connect(&s);
		ck_assert_int_eq(app_send(s.fd, cases[k].bytes, cases[k].len), (ssize_t)cases[k].len);
		ck_assert_msg(!hc_fd_managed(s.fd), "case %zu still managed", k);
		scene_hang_up(&s);
	}
	assert_stat(stateful_skipped, sizeof cases / sizeof cases[0]);
	scene_close(&s);
}
END_TEST

/* The line that says why a connection is left alone (it once passed its
 * reason to the log before the call that sets it had run). */
START_TEST(a_connection_left_alone_is_named_in_the_log_with_its_reason)
{
	char path[] = "/tmp/hc-session-log.XXXXXX", buf[512];
	int lf = mkstemp(path);
	struct scene s = scene_open();
	ssize_t n;

	ck_assert_int_ge(lf, 0);
	hc_cfg.log_level = HC_LOG_INFO;
	snprintf(hc_cfg.log_file, sizeof hc_cfg.log_file, "%s", path);
	ck_assert_int_eq(app_send(s.fd, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8), 8);
	ck_assert(!hc_fd_managed(s.fd));
	n = pread(lf, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "postgres; never swapped, left to the program") != NULL, "log: %s", buf);
	close(lf);
	unlink(path);
	scene_close(&s);
}
END_TEST

START_TEST(heal_known_leaves_unrecognised_protocols_alone)
{
	struct scene s = scene_listen();
	hc_cfg.heal = HC_HEAL_KNOWN;
	scene_connect(&s);
	ck_assert_int_eq(app_write(s.fd, "Halo"), 4);
	assert_left_alone(s.fd, unknown_skipped);
	scene_hang_up(&s);
	scene_connect(&s);
	ck_assert_int_eq(app_write(s.fd, "GET / HTTP/1.1\r\n\r\n"), 18);
	ck_assert(hc_fd_managed(s.fd));
	scene_hang_up(&s);
	scene_connect(&s);
	ck_assert_int_eq(app_write(s.fd, GETK), (ssize_t)strlen(GETK));
	ck_assert(hc_fd_managed(s.fd));
	assert_stat(unknown_skipped, 1);
	scene_close(&s);
}
END_TEST

/* A reply peeked at is read again: counted once, when it is read. */
START_TEST(a_peeked_reply_is_counted_when_it_is_read)
{
	struct scene s = scene_open();
	char buf[32];
	struct iovec v = { buf, sizeof buf };

	ck_assert_int_eq(app_write(s.fd, GETK SELECT2), (ssize_t)strlen(GETK SELECT2));
	serve(s.server, GETK SELECT2, "+OK\r\n");
	ck_assert(wait_for_events(s.fd, POLLIN) & POLLIN);
	ssize_t n = recv(s.fd, buf, sizeof buf, MSG_PEEK);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(hc_after_read(s.fd, &v, 1, MSG_PEEK, n), HC_READ_DONE);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 5); /* GET's place */
	ck_assert_int_eq(write(s.server, "-ERR no\r\n", 9), 9);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 9); /* SELECT's: refused */
	hc_table_lock();
	struct hc_conn *c = hc_table_find(s.fd);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(hc_resp_record_count(c->ps.resp), 0);
	hc_table_unlock();
	scene_close(&s);
}
END_TEST

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = scene_tcase(s, "rebuilt", 30);
	tcase_add_test(tc, a_redis_session_is_rebuilt_before_the_request_goes_out);
	tcase_add_test(tc, a_refused_rebuild_resets_the_new_connection_and_fails_the_write);
	tcase_add_test(tc, a_wrong_password_is_not_part_of_the_session);
	tcase_add_test(tc, a_peeked_reply_is_counted_when_it_is_read);

	tc = scene_tcase(s, "never swapped", 30);
	tcase_add_test(tc, an_open_multi_leaves_a_stale_connection_untouched);
	tcase_add_test(tc, subscribe_ends_management);
	tcase_add_test(tc, a_server_that_spoke_first_is_never_swapped);
	tcase_add_test(tc, an_unread_greeting_may_heal_the_first_write_but_not_later_ones);
	tcase_add_test(tc, first_writes_of_stateful_protocols_end_management);
	tcase_add_test(tc, heal_known_leaves_unrecognised_protocols_alone);
	tcase_add_test(tc, a_connection_left_alone_is_named_in_the_log_with_its_reason);
	return s;
}
