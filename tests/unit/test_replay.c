/* test_replay.c - the proof that a request never reached the peer, on real
 * loopback connections, and the bytes kept for a replay. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "loopback.h"
#include "replay.h"
#include "table.h"
#include "suites.h"

#define SENTINEL_ERRNO 4242

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
	return s;
}
