/* test_replay.c - the FIN-in-flight race: the proof that a request never
 * reached the peer, the bytes kept for a replay, and the replay through the
 * core's hooks (resent only when provably never delivered). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "loopback.h"
#include "replay.h"
#include "scene.h"
#include "table.h"
#include "suites.h"

static enum hc_delivery verdict(int fd, size_t len, unsigned wait_ms)
{
	errno = SENTINEL_ERRNO;
	enum hc_delivery d = hc_delivery_verdict(fd, len, wait_ms);
	ck_assert_msg(errno == SENTINEL_ERRNO, "hc_delivery_verdict changed errno to %d", errno);
	return d;
}

/* The peer closes; the client, having seen the FIN, writes len bytes into the
 * dead connection. The pair's server end is closed. */
static struct tcp_pair write_after_full_close(size_t len)
{
	struct tcp_pair p = tcp_pair_open();
	char req[64] = "GET k\r\n";

	close_early(&p.server);
	ck_assert(wait_for_events(p.client, POLLRDHUP) & POLLRDHUP);
	ck_assert_int_eq(write(p.client, req, len), (ssize_t)len);
	return p;
}

START_TEST(reset_with_all_the_bytes_unacknowledged_is_never_delivered)
{
	struct tcp_pair p = write_after_full_close(7);
	int err = 0;
	socklen_t elen = sizeof err;

	ck_assert_int_eq(verdict(p.client, 7, 1000), HC_NEVER_DELIVERED);
	/* Nothing the program could observe was consumed: the reset is still pending. */
	ck_assert_int_eq(getsockopt(p.client, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	ck_assert_int_eq(err, EPIPE);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(bytes_a_half_closed_peer_acknowledged_are_delivered)
{
	struct tcp_pair p = tcp_pair_open();
	char buf[16];

	ck_assert_int_eq(shutdown(p.server, SHUT_WR), 0);
	ck_assert(wait_for_events(p.client, POLLRDHUP) & POLLRDHUP);
	ck_assert_int_eq(write(p.client, "GET k\r\n", 7), 7);
	ck_assert_int_eq(read_within(p.server, buf, sizeof buf), 7);
	ck_assert_int_eq(verdict(p.client, 7, 1000), HC_DELIVERED);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(more_unacknowledged_bytes_than_the_request_prove_nothing)
{
	/* Bytes written by calls the library does not see (sendfile, splice)
	 * would be missing from a replay: never resend part of a request. */
	struct tcp_pair p = write_after_full_close(10);

	ck_assert_int_eq(verdict(p.client, 7, 50), HC_DELIVERY_UNKNOWN);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(no_answer_within_the_wait_is_unknown_and_the_wait_is_bounded)
{
	/* An open connection with nothing outstanding: neither RST nor ACK will come. */
	struct tcp_pair p = tcp_pair_open();
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(verdict(p.client, 0, 100), HC_DELIVERY_UNKNOWN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(ms >= 90 && ms < WAIT_MS, "waited %ld ms for a 100 ms bound", ms);
	tcp_pair_close(&p);
}
END_TEST

START_TEST(a_request_larger_than_a_fresh_send_buffer_goes_in_one_call)
{
	/* 200 KiB: more than a new socket's buffer takes (16 KiB by default)
	 * while the peer reads nothing. All of it or nothing is resent. */
	enum { LEN = 200 * 1024 };
	struct tcp_pair p = tcp_pair_open();
	char *req = malloc(LEN), *got = malloc(LEN);
	size_t have = 0;

	ck_assert_ptr_nonnull(req);
	ck_assert_ptr_nonnull(got);
	for (size_t i = 0; i < LEN; i++)
		req[i] = (char)('a' + i % 26);
	ck_assert_int_eq(fcntl(p.client, F_SETFL, O_NONBLOCK), 0);
	errno = SENTINEL_ERRNO;
	ck_assert_int_eq(hc_send_whole(p.client, req, LEN), 0);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	while (have < LEN) {
		ssize_t n = read_within(p.server, got + have, LEN - have);
		ck_assert_int_gt(n, 0);
		have += (size_t)n;
	}
	ck_assert_int_eq(memcmp(req, got, LEN), 0);
	free(req);
	free(got);
	tcp_pair_close(&p);
}
END_TEST

static struct iovec iov_of(const char *s)
{
	return (struct iovec){ (void *)s, strlen(s) };
}

START_TEST(request_bytes_are_kept_across_writes_as_the_kernel_took_them)
{
	struct hc_conn c = { .fd = -1 };
	struct iovec two[2] = { iov_of("GET "), iov_of("key\r\n") };
	struct iovec tail = iov_of("and more");

	hc_request_begin(&c.req);
	hc_request_append(&c.req, two, 2, 6, 1024); /* a short write: "GET ke" */
	hc_request_append(&c.req, &tail, 1, 3, 1024);
	ck_assert(c.req.open);
	ck_assert_uint_eq(c.req.b.len, 9);
	ck_assert_int_eq(memcmp(c.req.b.p, "GET keand", 9), 0);
	hc_request_begin(&c.req); /* the next request starts empty */
	ck_assert_uint_eq(c.req.b.len, 0);
	ck_assert(c.req.open);
	hc_request_forget(&c.req);
	ck_assert(!c.req.open);
	ck_assert_uint_eq(c.req.b.len, 0);
	ck_assert_ptr_nonnull(c.req.b.p); /* a small buffer is kept for the next request */
	hc_request_free(&c.req);
}
END_TEST

START_TEST(request_growing_past_the_maximum_is_dropped)
{
	struct hc_conn c = { .fd = -1 };
	char big[300];
	struct iovec v = { big, sizeof big };

	memset(big, 'x', sizeof big);
	hc_request_begin(&c.req);
	hc_request_append(&c.req, &v, 1, 200, 400);
	ck_assert(c.req.open);
	hc_request_append(&c.req, &v, 1, 201, 400);
	ck_assert(!c.req.open);
	ck_assert_uint_eq(c.req.b.len, 0);
	hc_request_append(&c.req, &v, 1, 10, 400); /* stays dropped until the next request */
	ck_assert(!c.req.open);
	hc_request_begin(&c.req);
	hc_request_append(&c.req, &v, 1, 300, 400); /* a buffer grown past the small size... */
	ck_assert_uint_eq(c.req.b.len, 300);
	hc_request_forget(&c.req);
	ck_assert_ptr_null(c.req.b.p); /* ...is freed when its request is over */
}
END_TEST

START_TEST(request_bytes_without_their_iovecs_are_dropped)
{
	struct hc_conn c = { .fd = -1 };
	struct iovec v = iov_of("abc");

	hc_request_begin(&c.req);
	hc_request_append(&c.req, NULL, 0, 5, 400); /* sendmmsg: not kept */
	ck_assert(!c.req.open);
	hc_request_begin(&c.req);
	hc_request_append(&c.req, &v, 1, 5, 400); /* more bytes than the iovecs hold */
	ck_assert(!c.req.open);
	hc_request_free(&c.req);
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

/* The race on a non-blocking connection: the program's read finds the EOF,
 * the request is resent and the read says EAGAIN; the server accepts the new
 * connection and reads the request there. */
static void scene_replay_nonblocking(struct scene *s)
{
	char buf[16];

	ck_assert_int_eq(hc_fcntl_set(fcntl, s->fd, F_SETFL, O_NONBLOCK), 0);
	scene_race_the_close(s, true);
	errno = 0;
	ck_assert_int_eq(app_read(s->fd, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EAGAIN);
	scene_accept_fresh(s);
	assert_received(s->fresh, "GET k\r\n");
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

START_TEST(nonblocking_read_after_a_replay_says_eagain_until_the_reply_comes)
{
	struct scene s = scene_open();
	char buf[16];

	scene_replay_nonblocking(&s);
	assert_stat(replays, 1);
	ck_assert_int_eq(write(s.fresh, "$1\r\nv\r\n", 7), 7);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 7);
	ck_assert(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
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

	scene_replay_nonblocking(&s);
	close_early(&s.fresh); /* the new connection dies before replying, with the request read */
	ck_assert(wait_for_events(s.fd, POLLRDHUP) & POLLRDHUP);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 0);
	assert_stat(replays, 1);
	ck_assert(!listener_has_a_connection(s.listener));
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

Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("delivery");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reset_with_all_the_bytes_unacknowledged_is_never_delivered);
	tcase_add_test(tc, bytes_a_half_closed_peer_acknowledged_are_delivered);
	tcase_add_test(tc, more_unacknowledged_bytes_than_the_request_prove_nothing);
	tcase_add_test(tc, no_answer_within_the_wait_is_unknown_and_the_wait_is_bounded);
	tcase_add_test(tc, a_request_larger_than_a_fresh_send_buffer_goes_in_one_call);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");
	tcase_add_test(tc, request_bytes_are_kept_across_writes_as_the_kernel_took_them);
	tcase_add_test(tc, request_growing_past_the_maximum_is_dropped);
	tcase_add_test(tc, request_bytes_without_their_iovecs_are_dropped);
	suite_add_tcase(s, tc);

	tc = scene_tcase(s, "at the connection", 30);
	tcase_add_test(tc, request_reset_before_any_reply_is_resent_and_the_read_gets_the_reply);
	tcase_add_test(tc, nonblocking_read_after_a_replay_says_eagain_until_the_reply_comes);
	tcase_add_test(tc, a_reset_without_a_fin_first_is_never_replayed);
	tcase_add_test(tc, request_the_peer_acknowledged_is_never_resent);
	tcase_add_test(tc, request_after_active_use_is_never_resent);
	tcase_add_test(tc, request_longer_than_replay_max_is_never_resent);
	tcase_add_test(tc, replayed_request_the_new_peer_read_then_dropped_is_not_resent);
	tcase_add_test(tc, reply_bytes_end_the_request_kept_for_a_replay);
	tcase_add_test(tc, write_after_a_gap_with_a_reply_owed_is_not_replayed_alone);
	return s;
}
