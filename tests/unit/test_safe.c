/* test_safe.c - which requests a replay may resend: hc_request_safe as a
 * table of requests, and on real connections the case that makes the rule
 * necessary: a server that half-closed, then read a request, acted on it and
 * aborted before its ACK went out. The kernel's view of that is exactly a
 * request never delivered (FIN, then RST, nothing acknowledged). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "loopback.h"
#include "replay.h"
#include "safe.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

static bool safe(enum hc_proto proto, const char *s)
{
	return hc_request_safe(proto, (const unsigned char *)s, strlen(s));
}

START_TEST(safe_requests_are_the_ones_that_change_nothing)
{
	static const struct {
		enum hc_proto proto;
		const char *req;
		bool safe;
	} cases[] = {
		{ HC_PROTO_HTTP1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ HC_PROTO_HTTP1, "HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", true },
		{ HC_PROTO_HTTP1, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ HC_PROTO_HTTP1, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", true }, /* pipelined, both safe */
		{ HC_PROTO_HTTP1, "GET / HTTP/1.0\n\n", true },                                /* bare LF */
		{ HC_PROTO_HTTP1, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", false },
		{ HC_PROTO_HTTP1, "PUT / HTTP/1.1\r\n\r\n", false }, /* idempotent, but it writes */
		{ HC_PROTO_HTTP1, "DELETE / HTTP/1.1\r\n\r\n", false },
		{ HC_PROTO_HTTP1, "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", false }, /* a body */
		{ HC_PROTO_HTTP1, "GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", false },
		{ HC_PROTO_HTTP1, "GET / HTTP/1.1\r\nHost: a\r\n", false },                      /* head not ended */
		{ HC_PROTO_HTTP1, "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\n\r\n", false },   /* one unsafe */
		{ HC_PROTO_HTTP1, "get / HTTP/1.1\r\n\r\n", false },                           /* methods are case-sensitive */
		{ HC_PROTO_RESP, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", true },
		{ HC_PROTO_RESP, "*1\r\n$4\r\nping\r\n*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n", true },
		{ HC_PROTO_RESP, "*4\r\n$6\r\nZRANGE\r\n$1\r\nz\r\n$1\r\n0\r\n$2\r\n-1\r\n", true },
		{ HC_PROTO_RESP, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", false },
		{ HC_PROTO_RESP, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n", false },
		{ HC_PROTO_RESP, "*2\r\n$6\r\nGETDEL\r\n$1\r\nk\r\n", false },
		{ HC_PROTO_RESP, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n", false },
		{ HC_PROTO_RESP, "*2\r\n$3\r\nGET\r\n$1\r\nk", false }, /* a command half written */
		{ HC_PROTO_RESP, "GET k\r\n", false },                  /* inline: not parsed, not known */
		{ HC_PROTO_MEMCACHED, "get a b\r\n", true },
		{ HC_PROTO_MEMCACHED, "gets a\r\nget b\r\n", true },
		{ HC_PROTO_MEMCACHED, "set a 0 0 1\r\nx\r\n", false },
		{ HC_PROTO_MEMCACHED, "incr a 1\r\n", false },
		{ HC_PROTO_MEMCACHED, "get a", false },
		{ HC_PROTO_OTHER, "REQ 1\n", false }, /* a protocol it does not know: never known safe */
		{ HC_PROTO_OTHER, "GET / HTTP/1.1\r\n\r\n", false },
		{ HC_PROTO_NONE, "GET / HTTP/1.1\r\n\r\n", false },
		{ HC_PROTO_HTTP1, "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(safe(cases[i].proto, cases[i].req) == cases[i].safe, "case %zu (%s)", i, cases[i].req);
	ck_assert(!hc_request_safe(HC_PROTO_HTTP1, NULL, 0));
}
END_TEST

/* ---- the server that half-closed, read, acted and aborted ------------------ */

struct aborter {
	int server;      /* the half-closed server's end */
	int listener;    /* where a replay would connect */
	char got[16];    /* what it read and acted on */
	char again[16];  /* what a second connection brought: the same request twice */
};

/* The server: a moment after the client's request arrived (the client's read
 * has its EOF by then), reads it, acts on it, and aborts, well inside its
 * delayed-ACK time: RST, the request never acknowledged. Then, if a new
 * connection comes, reads what it brings and answers it. */
static void *read_act_abort(void *arg)
{
	struct aborter *a = arg;
	struct pollfd p = { .fd = a->listener, .events = POLLIN };
	ssize_t n;

	sleep_ms(20);
	n = read_within(a->server, a->got, sizeof a->got - 1);
	a->got[n > 0 ? n : 0] = '\0';
	set_linger_zero(a->server);
	close_early(&a->server);
	if (poll(&p, 1, 500) == 1) {
		int fd = accept_within(a->listener);
		n = read_within(fd, a->again, sizeof a->again - 1);
		a->again[n > 0 ? n : 0] = '\0';
		ck_assert_int_eq(write(fd, "OK\n", 3), 3);
		sleep_ms(100);
		close(fd);
	}
	return NULL;
}

/* The scene up to the client's write: a busy connection (the server's end in
 * delayed-ACK mode), the server's idle half-close (its FIN is in), then the
 * request, written unprobed as it would be with the FIN still in flight. */
static void half_closed_server_gets(struct scene *s, struct aborter *a, pthread_t *t)
{
	int off = 0;

	hc_cfg.probe_after_ms = 60000;
	for (int i = 0; i < 4; i++)
		exchange(s->fd, s->server);
	ck_assert_int_eq(setsockopt(s->server, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off), 0);
	server_idles_out(s->fd, s->server);
	*a = (struct aborter){ .server = s->server, .listener = s->listener };
	s->server = -1; /* the thread owns it now */
	ck_assert_int_eq(app_write(s->fd, "REQ 7\n"), 6);
	ck_assert_int_eq(pthread_create(t, NULL, read_act_abort, a), 0);
}

START_TEST(by_default_a_request_the_half_closed_server_acted_on_is_not_resent)
{
	for (int round = 0; round < 5; round++) {
		struct scene s = scene_open();
		struct aborter a;
		pthread_t t;
		char buf[16];

		hc_stats_reset();
		half_closed_server_gets(&s, &a, &t);
		ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0); /* the EOF, as without the library */
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_str_eq(a.got, "REQ 7\n");
		/* What the kernel says now is what a never-delivered request looks
		 * like: the scene is the hazard, not a delivered request. */
		ck_assert_int_eq(hc_delivery_verdict(s.fd, 6, 200), HC_NEVER_DELIVERED);
		ck_assert_str_eq(a.again, "");
		assert_stat(replays, 0);
		assert_stat(reconnects, 0);
		scene_close(&s);
	}
}
END_TEST

/* HALFCLOSE_REPLAY=all trusts the kernel's word: here the server acts twice.
 * This is why it is not the default. */
START_TEST(replay_all_resends_it_and_the_server_acts_twice)
{
	struct scene s = scene_open();
	struct aborter a;
	pthread_t t;
	char buf[16];

	hc_cfg.replay = HC_REPLAY_ALL;
	half_closed_server_gets(&s, &a, &t);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 3); /* the reply to the resent request */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(a.got, "REQ 7\n");
	ck_assert_str_eq(a.again, "REQ 7\n");
	assert_stat(replays, 1);
	scene_close(&s);
}
END_TEST

/* The server that close()d: a safe request behind its FIN is resent by
 * default, an unsafe one is not (the program sees the EOF it would see). */
static void http_race_the_close(struct scene *s, const char *req)
{
	char buf[64];

	hc_cfg.probe_after_ms = 60000;
	ck_assert_int_eq(app_write(s->fd, "GET /a HTTP/1.1\r\n\r\n"), 19);
	ck_assert_int_eq(read_within(s->server, buf, sizeof buf), 19);
	ck_assert_int_eq(write(s->server, "HTTP/1.1 204 \r\n\r\n", 17), 17);
	ck_assert_int_eq(app_read_within(s->fd, buf, sizeof buf), 17);
	close_early(&s->server);
	ck_assert(wait_for_events(s->fd, POLLRDHUP) & POLLRDHUP);
	ck_assert_int_eq(app_write(s->fd, req), (ssize_t)strlen(req));
}

static void *accept_and_answer(void *arg)
{
	struct aborter *a = arg;
	int fd = accept_within(a->listener);
	ssize_t n = read_within(fd, a->again, sizeof a->again - 1);

	a->again[n > 0 ? n : 0] = '\0';
	ck_assert_int_eq(write(fd, "HTTP/1.1 204 \r\n\r\n", 17), 17);
	sleep_ms(100);
	close(fd);
	return NULL;
}

START_TEST(a_safe_request_behind_a_closed_servers_fin_is_resent_by_default)
{
	struct scene s = scene_open();
	struct aborter a = { .listener = s.listener };
	pthread_t t;
	char buf[64];

	http_race_the_close(&s, "GET /b HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(pthread_create(&t, NULL, accept_and_answer, &a), 0);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 17);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(memcmp(a.again, "GET /b HTTP/1.1", 15), 0);
	assert_stat(replays, 1);
	scene_close(&s);
}
END_TEST

START_TEST(an_unsafe_request_behind_a_closed_servers_fin_is_not_resent_by_default)
{
	struct scene s = scene_open();
	char buf[64];

	http_race_the_close(&s, "POST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);
	assert_stat(replays, 0);
	ck_assert(!listener_has_a_connection(s.listener));
	scene_close(&s);
}
END_TEST

Suite *safe_suite(void)
{
	Suite *s = suite_create("safe");
	TCase *tc = tcase_create("requests");

	tcase_add_test(tc, safe_requests_are_the_ones_that_change_nothing);
	suite_add_tcase(s, tc);
	tc = tcase_create("replays");
	tcase_add_checked_fixture(tc, scene_setup, scene_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, by_default_a_request_the_half_closed_server_acted_on_is_not_resent);
	tcase_add_test(tc, replay_all_resends_it_and_the_server_acts_twice);
	tcase_add_test(tc, a_safe_request_behind_a_closed_servers_fin_is_resent_by_default);
	tcase_add_test(tc, an_unsafe_request_behind_a_closed_servers_fin_is_not_resent_by_default);
	suite_add_tcase(s, tc);
	return s;
}
