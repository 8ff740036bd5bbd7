/* test_proto.c - the class of a connection from its first bytes, what each
 * class gets under each HALFCLOSE_HEAL policy, and the scan of HTTP/1.x
 * request heads for what binds a connection to its state. */
#define _GNU_SOURCE
#include <string.h>

#include "proto.h"
#include "suites.h"

static enum hc_proto classify(const char *s, size_t n)
{
	return hc_proto_classify((const unsigned char *)s, n, false);
}

#define CLASSIFY(lit) classify((lit), sizeof(lit) - 1)

START_TEST(first_writes_are_classified_by_their_bytes)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum hc_proto want;
	} cases[] = {
#define C(lit, p) { (lit), sizeof(lit) - 1, (p) }
		C("GET / HTTP/1.1\r\nHost: x\r\n\r\n", HC_PROTO_HTTP1),
		C("POST /api HTTP/1.0\r\n", HC_PROTO_HTTP1),
		C("PROPFIND /dav HTTP/1.1\r\n", HC_PROTO_HTTP1),
		C("CONNECT example.org:443 HTTP/1.1\r\n\r\n", HC_PROTO_HTTP1_BOUND),
		C("get foo\r\n", HC_PROTO_MEMCACHED),
		C("set foo 0 0 3\r\nbar\r\n", HC_PROTO_MEMCACHED),
		C("version\r\n", HC_PROTO_MEMCACHED),
		C("mg foo v\r\n", HC_PROTO_MEMCACHED),
		C("*1\r\n$4\r\nPING\r\n", HC_PROTO_RESP),
		C("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", HC_PROTO_RESP),
		C("*12\r", HC_PROTO_RESP),
		C("*2\r\n", HC_PROTO_RESP),
		C("\x00\x00\x00\x08\x04\xd2\x16\x2f", HC_PROTO_POSTGRES),             /* SSLRequest */
		C("\x00\x00\x00\x08\x04\xd2\x16\x30", HC_PROTO_POSTGRES),             /* GSSENCRequest */
		C("\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x00\x01\x00\x00\x00\x02", HC_PROTO_POSTGRES), /* Cancel */
		C("\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00", HC_PROTO_POSTGRES), /* StartupMessage 3.0 */
		C("\x3a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00", HC_PROTO_MONGODB), /* OP_MSG */
		C("AMQP\x00\x00\x09\x01", HC_PROTO_AMQP),
		C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HC_PROTO_HTTP2),
		C("PRI * HT", HC_PROTO_HTTP2),
		C("SSH-2.0-OpenSSH_9.2\r\n", HC_PROTO_SSH),
		C("\x16\x03\x01\x02\x00\x01", HC_PROTO_TLS),
		C("AUTH secret\r\n", HC_PROTO_REDIS_INLINE),
		C("select 2\r\n", HC_PROTO_REDIS_INLINE),
		C("\x80\x21\x00\x05", HC_PROTO_MEMCACHED_SASL),
		C("\x80\x00\x00\x03", HC_PROTO_OTHER), /* memcached binary get */
		C("Halo", HC_PROTO_OTHER),               /* the seed's own protocol */
		C("PING\r\n", HC_PROTO_OTHER),
		C("get", HC_PROTO_MEMCACHED),
		C("getx foo\r\n", HC_PROTO_OTHER),
		C("Get / HTTP/1.1\r\n", HC_PROTO_OTHER), /* methods are case-sensitive */
		C("*", HC_PROTO_OTHER),
		C("*a\r\n", HC_PROTO_OTHER),
		C("\x00\x00\x00\x08\x00\x00\x00\x00", HC_PROTO_OTHER),
#undef C
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum hc_proto got = classify(cases[i].bytes, cases[i].len);
		ck_assert_msg(got == cases[i].want, "case %zu: got %s, want %s", i, hc_proto_name(got),
			      hc_proto_name(cases[i].want));
	}
	ck_assert_int_eq(hc_proto_classify(NULL, 0, false), HC_PROTO_OTHER);
}
END_TEST

/* word_in looks at most as far as the longest word of each list: the longest
 * are still seen, one letter more is not. */
START_TEST(the_longest_words_of_each_list_are_seen)
{
	ck_assert_int_eq(CLASSIFY("MKCALENDAR /c HTTP/1.1\r\n"), HC_PROTO_HTTP1);
	ck_assert_int_eq(CLASSIFY("PROPPATCH /c HTTP/1.1\r\n"), HC_PROTO_HTTP1);
	ck_assert_int_eq(CLASSIFY("MKCALENDARS /c HTTP/1.1\r\n"), HC_PROTO_OTHER);
	ck_assert_int_eq(CLASSIFY("cache_memlimit 100\r\n"), HC_PROTO_MEMCACHED);
	ck_assert_int_eq(CLASSIFY("flush_all\r\n"), HC_PROTO_MEMCACHED);
	ck_assert_int_eq(CLASSIFY("cache_memlimits 100\r\n"), HC_PROTO_OTHER);
	ck_assert_int_eq(CLASSIFY("SSUBSCRIBE ch\r\n"), HC_PROTO_REDIS_INLINE);
	ck_assert_int_eq(CLASSIFY("psubscribe ch\r\n"), HC_PROTO_REDIS_INLINE);
	ck_assert_int_eq(CLASSIFY("readwrite\r\n"), HC_PROTO_REDIS_INLINE);
	ck_assert_int_eq(CLASSIFY("readwrites\r\n"), HC_PROTO_OTHER);
	ck_assert_int_eq(CLASSIFY("get1 k\r\n"), HC_PROTO_OTHER);
	ck_assert_int_eq(CLASSIFY("GET"), HC_PROTO_HTTP1); /* the write ends with the word */
}
END_TEST

START_TEST(a_server_that_spoke_first_wins_over_any_bytes)
{
	ck_assert_int_eq(hc_proto_classify((const unsigned char *)"GET / HTTP/1.1\r\n", 16, true),
			 HC_PROTO_SERVER_FIRST);
	ck_assert_int_eq(hc_proto_classify((const unsigned char *)"EHLO x\r\n", 8, true), HC_PROTO_SERVER_FIRST);
	ck_assert_int_eq(hc_proto_classify(NULL, 0, true), HC_PROTO_SERVER_FIRST);
}
END_TEST

START_TEST(later_boundaries_can_only_make_a_class_stricter)
{
	const unsigned char tls[] = { 0x16, 0x03, 0x03, 0x00, 0x10 };
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_OTHER, (const unsigned char *)"AUTH pw\r\n", 9),
			 HC_PROTO_REDIS_INLINE);
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_OTHER, (const unsigned char *)"hello\r\n", 7),
			 HC_PROTO_REDIS_INLINE);
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_OTHER, (const unsigned char *)"Halo", 4), HC_PROTO_OTHER);
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_OTHER, tls, sizeof tls), HC_PROTO_TLS);
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_HTTP1, tls, sizeof tls), HC_PROTO_TLS);
	/* memcached has no AUTH word; HTTP heads are scanned by hc_http_scan. */
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_MEMCACHED, (const unsigned char *)"touch k 0\r\n", 11),
			 HC_PROTO_MEMCACHED);
	ck_assert_int_eq(hc_proto_reclassify(HC_PROTO_HTTP1, (const unsigned char *)"AUTH x\r\n", 8), HC_PROTO_HTTP1);
}
END_TEST

START_TEST(the_heal_policy_decides_per_class)
{
	for (int p = HC_PROTO_NONE; p <= HC_PROTO_TLS; p++) {
		enum hc_proto_kind k = hc_proto_kind((enum hc_proto)p);
		bool known = p == HC_PROTO_HTTP1 || p == HC_PROTO_MEMCACHED || p == HC_PROTO_RESP;
		ck_assert_msg(hc_proto_heals((enum hc_proto)p, HC_HEAL_ALL) == (k != HC_KIND_NEVER), "%d all", p);
		ck_assert_msg(hc_proto_heals((enum hc_proto)p, HC_HEAL_KNOWN) == known, "%d known", p);
		ck_assert_str_ne(hc_proto_name((enum hc_proto)p), "?");
	}
	ck_assert_int_eq(hc_proto_kind(HC_PROTO_RESP), HC_KIND_SESSION);
	ck_assert_int_eq(hc_proto_kind(HC_PROTO_OTHER), HC_KIND_STATELESS);
	ck_assert_int_eq(hc_proto_kind(HC_PROTO_POSTGRES), HC_KIND_NEVER);
	ck_assert_str_eq(hc_proto_name(HC_PROTO_OTHER), "");
	ck_assert_str_eq(hc_proto_name(HC_PROTO_RESP), "redis");
}
END_TEST

static bool scan(struct hc_http_scan *s, const char *text, bool boundary)
{
	return hc_http_scan(s, (const unsigned char *)text, strlen(text), boundary);
}

START_TEST(http_heads_that_bind_the_connection_are_seen)
{
	static const char *const bound[] = {
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"GET / HTTP/1.1\r\nupgrade: h2c\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: NTLM TlRMTVNTUAABAAAAB4IIog==\r\n\r\n",
		"GET / HTTP/1.1\r\nAUTHORIZATION:   Negotiate YIIG\r\n\r\n",
		"GET / HTTP/1.1\r\nProxy-Authorization: NTLM abc\r\n\r\n",
		"CONNECT host:443 HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\nUpgrade: websocket\n\n",
	};
	static const char *const stateless[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Bearer ntlm\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\nUpgrade: websocket\r\n", /* the body is not a header */
		"GET / HTTP/1.1\r\nX-Upgrade: no\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bound / sizeof bound[0]; i++) {
		struct hc_http_scan s;
		memset(&s, 0, sizeof s);
		ck_assert_msg(scan(&s, bound[i], true), "not bound: %s", bound[i]);
		/* Cut anywhere: still seen. */
		for (size_t cut = 1; cut < strlen(bound[i]); cut++) {
			char a[256];
			memcpy(a, bound[i], cut);
			a[cut] = '\0';
			bool got = scan(&s, a, true);
			if (!got)
				got = scan(&s, bound[i] + cut, false);
			ck_assert_msg(got, "cut at %zu: not bound: %s", cut, bound[i]);
		}
	}
	for (size_t i = 0; i < sizeof stateless / sizeof stateless[0]; i++) {
		struct hc_http_scan s;
		memset(&s, 0, sizeof s);
		ck_assert_msg(!scan(&s, stateless[i], true), "bound: %s", stateless[i]);
	}
}
END_TEST

START_TEST(each_request_head_is_scanned_from_its_boundary)
{
	struct hc_http_scan s;
	memset(&s, 0, sizeof s);
	ck_assert(!scan(&s, "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", true));
	ck_assert(!scan(&s, "Upgrade: ", false)); /* the body, not scanned */
	ck_assert(scan(&s, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", true));
	/* A very long header line before it does not hide it. */
	char big[600];
	memset(&s, 0, sizeof s);
	strcpy(big, "GET / HTTP/1.1\r\nCookie: ");
	memset(big + strlen(big), 'c', 400);
	strcpy(big + 25 + 400, "\r\nUpgrade: websocket\r\n\r\n");
	ck_assert(scan(&s, big, true));
}
END_TEST

START_TEST(tls_record_head_is_content_type_20_to_23_and_version_3_0_to_3_4)
{
	static const unsigned char hello[] = { 0x16, 0x03, 0x01 }, alert[] = { 0x15, 0x03, 0x04 },
				   ccs[] = { 0x14, 0x03, 0x00 }, data[] = { 0x17, 0x03, 0x03 },
				   heartbeat[] = { 0x18, 0x03, 0x03 }, v35[] = { 0x16, 0x03, 0x05 },
				   get[] = { 'G', 'E', 'T' };

	ck_assert(hc_tls_record_head(hello, 3));
	ck_assert(hc_tls_record_head(alert, 3));
	ck_assert(hc_tls_record_head(ccs, 3));
	ck_assert(hc_tls_record_head(data, 3));
	ck_assert(!hc_tls_record_head(hello, 2)); /* too short to tell */
	ck_assert(!hc_tls_record_head(heartbeat, 3));
	ck_assert(!hc_tls_record_head(v35, 3));
	ck_assert(!hc_tls_record_head(get, 3));
}
END_TEST

Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("classes");
	tcase_add_test(tc, first_writes_are_classified_by_their_bytes);
	tcase_add_test(tc, the_longest_words_of_each_list_are_seen);
	tcase_add_test(tc, a_server_that_spoke_first_wins_over_any_bytes);
	tcase_add_test(tc, later_boundaries_can_only_make_a_class_stricter);
	tcase_add_test(tc, the_heal_policy_decides_per_class);
	tcase_add_test(tc, tls_record_head_is_content_type_20_to_23_and_version_3_0_to_3_4);
	suite_add_tcase(s, tc);
	tc = tcase_create("http heads");
	tcase_add_test(tc, http_heads_that_bind_the_connection_are_seen);
	tcase_add_test(tc, each_request_head_is_scanned_from_its_boundary);
	suite_add_tcase(s, tc);
	return s;
}
