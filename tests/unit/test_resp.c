/* test_resp.c - a RESP connection's session, from the bytes each way: which
 * commands are kept, when their replies count, what ends management, and
 * the check of the record's replies on a new connection. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "suites.h"

#define MAX 4096

/* A command as redis-cli sends it: *N\r\n then each argument as a bulk. */
static size_t cmd(char *out, size_t cap, int argc, const char *const *argv)
{
	size_t n = (size_t)snprintf(out, cap, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	return n;
}

/* The number of arguments of a variadic macro's list of strings. */
#define N_ARGS(...) ((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)))

/* CMD(array, ...): the command into a char array; CMD_AT(array, off, ...): at off in it. */
#define CMD_AT(buf, off, ...) \
	cmd((buf) + (off), sizeof(buf) - (off), N_ARGS(__VA_ARGS__), (const char *[]){ __VA_ARGS__ })
#define CMD(buf, ...) CMD_AT(buf, 0, __VA_ARGS__)

static bool wrote(struct hc_resp *r, const char *s, size_t n)
{
	return hc_resp_wrote(r, (const unsigned char *)s, n);
}

/* WROTE_CMD(r, ...): the program writes the command, in one write. */
#define WROTE_CMD(r, ...) wrote_argv(r, N_ARGS(__VA_ARGS__), (const char *[]){ __VA_ARGS__ })
static bool wrote_argv(struct hc_resp *r, int argc, const char *const *argv)
{
	char b[256];
	return wrote(r, b, cmd(b, sizeof b, argc, argv));
}

static bool read_str(struct hc_resp *r, const char *s)
{
	return hc_resp_read(r, (const unsigned char *)s, strlen(s));
}

/* The record as a string (it holds no NUL in these tests). */
static const char *record(const struct hc_resp *r)
{
	static char buf[MAX + 1];
	size_t len;
	const unsigned char *p = hc_resp_record(r, &len);
	ck_assert_uint_le(len, MAX);
	if (len > 0)
		memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static const char *describe(const struct hc_resp *r)
{
	static char buf[128];
	return hc_resp_describe(r, buf, sizeof buf);
}

#define SELECT2 "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
#define GETK "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"

START_TEST(select_is_kept_once_its_reply_was_ok)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(hc_resp_watching(&r));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_PENDING);
	ck_assert_str_eq(record(&r), "");
	ck_assert(read_str(&r, "+OK\r\n"));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), SELECT2);
	ck_assert_uint_eq(hc_resp_record_count(&r), 1);
	ck_assert_str_eq(describe(&r), "db 2");
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	hc_resp_free(&r);
}
END_TEST

START_TEST(a_failed_session_command_changes_nothing)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(read_str(&r, "-ERR DB index is out of range\r\n"));
	ck_assert_str_eq(record(&r), "");
	ck_assert(WROTE_CMD(&r, "AUTH", "wrong"));
	ck_assert(read_str(&r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"));
	ck_assert_str_eq(record(&r), "");
	ck_assert_uint_eq(hc_resp_record_count(&r), 0);
	hc_resp_free(&r);
}
END_TEST

/* SELECT 2 and GET k in one write; the replies come in every possible split. */
START_TEST(pipelined_select_and_get_with_replies_split_anywhere)
{
	static const char replies[] = "+OK\r\n$5\r\nvalue\r\n";
	for (size_t cut = 0; cut <= strlen(replies); cut++) {
		struct hc_resp r;
		hc_resp_init(&r, true, MAX);
		ck_assert(wrote(&r, SELECT2 GETK, strlen(SELECT2 GETK)));
		ck_assert(hc_resp_read(&r, (const unsigned char *)replies, cut));
		if (hc_resp_watching(&r))
			ck_assert(hc_resp_read(&r, (const unsigned char *)replies + cut, strlen(replies) - cut));
		ck_assert_msg(strcmp(record(&r), SELECT2) == 0, "cut at %zu: record \"%s\"", cut, record(&r));
		hc_resp_free(&r);
	}
}
END_TEST

/* SELECT 2 and GET in one write, then SELECT 99 (refused) and GET: the
 * replies of the first pipeline are all counted, so the second SELECT's
 * place is known and its error keeps it out. */
START_TEST(replies_are_counted_until_the_pipeline_with_a_session_command_is_in)
{
	struct hc_resp r;
	static const char select99[] = "*2\r\n$6\r\nSELECT\r\n$2\r\n99\r\n";
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2 GETK, strlen(SELECT2 GETK)));
	ck_assert(read_str(&r, "+OK\r\n"));
	ck_assert(hc_resp_watching(&r)); /* GET's reply is still to come */
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OWED);
	ck_assert(read_str(&r, "$5\r\nvalue\r\n"));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	char both[128];
	snprintf(both, sizeof both, "%s%s", select99, GETK);
	ck_assert(wrote(&r, both, strlen(both)));
	ck_assert(read_str(&r, "-ERR DB index is out of range\r\n$-1\r\n"));
	ck_assert_str_eq(record(&r), SELECT2);
	ck_assert_str_eq(describe(&r), "db 2");
	hc_resp_free(&r);
}
END_TEST

/* GET's reply comes first: SELECT's is the second one. */
START_TEST(the_session_reply_is_counted_after_the_replies_before_it)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, GETK SELECT2, strlen(GETK SELECT2)));
	ck_assert(read_str(&r, "+OK\r\n")); /* a GET never says +OK, but this one's place is GET's */
	ck_assert(hc_resp_watching(&r));
	ck_assert(read_str(&r, "-ERR DB index is out of range\r\n"));
	ck_assert_str_eq(record(&r), "");
	hc_resp_free(&r);

	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, GETK SELECT2, strlen(GETK SELECT2)));
	ck_assert(read_str(&r, "*3\r\n$1\r\na\r\n*1\r\n:5\r\n%1\r\n+x\r\n_\r\n+OK\r\n"));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);
}
END_TEST

/* Pushes and attributes (RESP3) are not replies to a command. */
START_TEST(pushes_and_attributes_are_not_replies)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(read_str(&r, ">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n"));
	ck_assert(hc_resp_watching(&r));
	ck_assert(read_str(&r, "|1\r\n+ttl\r\n:3\r\n+OK\r\n"));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);
}
END_TEST

/* After a command whose reply nobody counts, the place of a later session
 * command's reply cannot be known: it is kept as written, to be checked on
 * the new connection. */
START_TEST(after_an_uncounted_command_session_commands_are_kept_as_written)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, GETK, strlen(GETK)));
	ck_assert(!hc_resp_watching(&r));
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);
}
END_TEST

START_TEST(the_supervisor_keeps_session_commands_as_written)
{
	struct hc_resp r;
	hc_resp_init(&r, false, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), SELECT2);
	/* A RESET's outcome decides the session, and is not seen. */
	ck_assert(!WROTE_CMD(&r, "RESET"));
	ck_assert_int_eq(r.end, HC_RESP_END_UNKNOWN);
	hc_resp_free(&r);
}
END_TEST

START_TEST(a_later_select_takes_the_place_of_the_earlier)
{
	struct hc_resp r;
	char want[256];
	size_t n = 0;
	hc_resp_init(&r, false, MAX);
	ck_assert(WROTE_CMD(&r, "AUTH", "pw1"));
	ck_assert(WROTE_CMD(&r, "SELECT", "1"));
	ck_assert(WROTE_CMD(&r, "CLIENT", "x")); /* not a session command */
	/* A longer password in AUTH's place: the SELECT after it moves up. */
	ck_assert(WROTE_CMD(&r, "AUTH", "a-much-longer-password"));
	ck_assert(WROTE_CMD(&r, "SELECT", "12"));
	ck_assert_uint_eq(hc_resp_record_count(&r), 2);
	/* AUTH stays first: the SELECT after it needed it. */
	n += CMD_AT(want, n, "AUTH", "a-much-longer-password");
	n += CMD_AT(want, n, "SELECT", "12");
	ck_assert_str_eq(record(&r), want);
	ck_assert_str_eq(describe(&r), "db 12, auth");
	/* And back to a short one. */
	ck_assert(WROTE_CMD(&r, "AUTH", "p"));
	ck_assert(WROTE_CMD(&r, "SELECT", "3"));
	n = CMD(want, "AUTH", "p");
	n += CMD_AT(want, n, "SELECT", "3");
	ck_assert_str_eq(record(&r), want);
	ck_assert_str_eq(describe(&r), "db 3, auth");
	hc_resp_free(&r);
}
END_TEST

/* HELLO ... AUTH sets the protocol too: a later AUTH does not replace it,
 * and the user is the one set last. */
START_TEST(hello_with_auth_and_setname_then_auth_keeps_both_in_order)
{
	struct hc_resp r;
	char hello[128], auth[64], both[256];
	size_t hn = CMD(hello, "HELLO", "3", "AUTH", "u1", "secret1", "SETNAME", "app");
	size_t an = CMD(auth, "AUTH", "u2", "secret2");
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, hello, hn));
	ck_assert(read_str(&r, "%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n"));
	ck_assert(wrote(&r, auth, an));
	ck_assert(read_str(&r, "+OK\r\n"));
	memcpy(both, hello, hn);
	memcpy(both + hn, auth, an);
	both[hn + an] = '\0';
	ck_assert_str_eq(record(&r), both);
	ck_assert_str_eq(describe(&r), "auth, resp3, name");
	ck_assert(strstr(describe(&r), "secret") == NULL && strstr(describe(&r), "u1") == NULL);
	hc_resp_free(&r);
}
END_TEST

START_TEST(hello_refused_is_not_kept_and_bare_hello_changes_nothing)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(WROTE_CMD(&r, "HELLO", "3"));
	ck_assert(read_str(&r, "-NOPROTO unsupported protocol version\r\n"));
	ck_assert(WROTE_CMD(&r, "HELLO"));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), "");
	hc_resp_free(&r);
}
END_TEST

START_TEST(reset_clears_all_but_client_setinfo)
{
	struct hc_resp r;
	char b[128];
	size_t n = CMD(b, "CLIENT", "SETINFO", "LIB-NAME", "redis-py");
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, b, n));
	ck_assert(read_str(&r, "+OK\r\n"));
	ck_assert(WROTE_CMD(&r, "SELECT", "3"));
	ck_assert(read_str(&r, "+OK\r\n"));
	ck_assert(WROTE_CMD(&r, "RESET"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_PENDING);
	ck_assert(read_str(&r, "+RESET\r\n"));
	b[n] = '\0';
	ck_assert_str_eq(record(&r), b);
	ck_assert_str_eq(describe(&r), "lib info");
	hc_resp_free(&r);
}
END_TEST

START_TEST(multi_and_watch_forbid_a_swap_until_exec_or_discard)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(WROTE_CMD(&r, "MULTI"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_MULTI);
	ck_assert(WROTE_CMD(&r, "INCR", "n"));
	ck_assert(WROTE_CMD(&r, "EXEC"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	ck_assert(WROTE_CMD(&r, "WATCH", "k"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_WATCH);
	ck_assert(WROTE_CMD(&r, "UNWATCH"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	ck_assert(WROTE_CMD(&r, "WATCH", "k"));
	ck_assert(WROTE_CMD(&r, "MULTI"));
	ck_assert(WROTE_CMD(&r, "DISCARD"));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	hc_resp_free(&r);
}
END_TEST

START_TEST(a_session_command_inside_multi_ends_management)
{
	struct hc_resp r;
	hc_resp_init(&r, false, MAX);
	ck_assert(WROTE_CMD(&r, "MULTI"));
	ck_assert(!WROTE_CMD(&r, "SELECT", "2"));
	ck_assert_int_eq(r.end, HC_RESP_END_IN_MULTI);
	hc_resp_free(&r);
}
END_TEST

START_TEST(modes_that_cannot_be_rebuilt_end_management)
{
	static const char *const cases[][3] = {
		{ "SUBSCRIBE", "ch", NULL },   { "psubscribe", "c*", NULL }, { "SSUBSCRIBE", "s", NULL },
		{ "MONITOR", NULL, NULL },     { "SYNC", NULL, NULL },       { "PSYNC", "?", NULL },
		{ "REPLCONF", "x", NULL },     { "CLIENT", "TRACKING", "on" }, { "client", "reply", "OFF" },
		{ "CLIENT", "REPLY", "skip" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hc_resp r;
		char b[128];
		int argc = cases[i][1] == NULL ? 1 : cases[i][2] == NULL ? 2 : 3;
		size_t n = cmd(b, sizeof b, argc, cases[i]);
		hc_resp_init(&r, true, MAX);
		ck_assert_msg(!wrote(&r, b, n), "%s %s did not end management", cases[i][0], cases[i][1]);
		ck_assert_int_eq(r.end, HC_RESP_END_MODE);
		hc_resp_free(&r);
	}
}
END_TEST

START_TEST(tracking_off_and_reply_on_are_plain_commands)
{
	struct hc_resp r;
	char b[128];
	size_t n = CMD(b, "CLIENT", "TRACKING", "off");
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, b, n));
	n = CMD(b, "CLIENT", "REPLY", "ON");
	ck_assert(wrote(&r, b, n));
	ck_assert_str_eq(record(&r), "");
	hc_resp_free(&r);
}
END_TEST

START_TEST(inline_commands_and_garbage_end_management)
{
	static const char *const bad[] = { "PING\r\n", "*2\r\nGET\r\n", "*1\r\n$4\r\nPINGX\r\n", "*x\r\n",
					   "*1\r\n$-1\r\n", "\r\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct hc_resp r;
		hc_resp_init(&r, true, MAX);
		ck_assert_msg(!wrote(&r, bad[i], strlen(bad[i])), "\"%s\" parsed", bad[i]);
		ck_assert_int_eq(r.end, HC_RESP_END_UNPARSABLE);
		hc_resp_free(&r);
	}
}
END_TEST

/* redis ignores *0 and *-1: no command, no reply. */
START_TEST(empty_multibulks_are_no_commands)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, "*0\r\n*-1\r\n" SELECT2, strlen("*0\r\n*-1\r\n" SELECT2)));
	ck_assert(read_str(&r, "+OK\r\n"));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);
}
END_TEST

/* The same commands written a byte at a time, or cut anywhere: the same record. */
START_TEST(commands_split_across_writes_anywhere_give_the_same_record)
{
	char all[512];
	size_t n = 0, ends[3];
	n += cmd(all + n, sizeof all - n, 3, (const char *[]){ "AUTH", "user", "pass" });
	ends[0] = n;
	n += cmd(all + n, sizeof all - n, 3, (const char *[]){ "SET", "big", "0123456789012345678901234567890123" });
	ends[1] = n;
	n += cmd(all + n, sizeof all - n, 2, (const char *[]){ "SELECT", "7" });
	ends[2] = n;
	for (size_t cut = 1; cut < n; cut++) {
		struct hc_resp r;
		bool at_end = cut == ends[0] || cut == ends[1] || cut == ends[2];
		hc_resp_init(&r, false, MAX);
		ck_assert(wrote(&r, all, cut));
		ck_assert_int_eq(hc_resp_swappable(&r), at_end ? HC_RESP_SWAP_OK : HC_RESP_SWAP_MID_COMMAND);
		ck_assert(wrote(&r, all + cut, n - cut));
		ck_assert_uint_eq(hc_resp_record_count(&r), 2);
		ck_assert_str_eq(describe(&r), "db 7, auth");
		hc_resp_free(&r);
	}
	struct hc_resp r;
	hc_resp_init(&r, false, MAX);
	for (size_t i = 0; i < n; i++)
		ck_assert(wrote(&r, all + i, 1));
	ck_assert_uint_eq(hc_resp_record_count(&r), 2);
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	hc_resp_free(&r);
}
END_TEST

START_TEST(a_write_that_ends_inside_a_command_is_no_place_to_swap)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, GETK, 9));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_MID_COMMAND);
	ck_assert(wrote(&r, GETK + 9, strlen(GETK) - 9));
	ck_assert_int_eq(hc_resp_swappable(&r), HC_RESP_SWAP_OK);
	hc_resp_free(&r);
}
END_TEST

START_TEST(a_session_longer_than_the_bound_ends_management)
{
	struct hc_resp r;
	char pw[200];
	memset(pw, 'p', sizeof pw - 1);
	pw[sizeof pw - 1] = '\0';
	hc_resp_init(&r, false, 100);
	ck_assert(!WROTE_CMD(&r, "AUTH", pw));
	ck_assert_int_eq(r.end, HC_RESP_END_TOO_BIG);
	hc_resp_free(&r);

	/* Many small ones: the record would outgrow it. */
	hc_resp_init(&r, false, 100);
	ck_assert(WROTE_CMD(&r, "SELECT", "1"));
	ck_assert(WROTE_CMD(&r, "AUTH", "a"));
	ck_assert(WROTE_CMD(&r, "READONLY"));
	char b[128];
	size_t n = CMD(b, "CLIENT", "SETNAME", "a-rather-long-connection-name");
	ck_assert(!wrote(&r, b, n));
	ck_assert_int_eq(r.end, HC_RESP_END_TOO_BIG);
	hc_resp_free(&r);

	/* A long command that is no session command is fine. */
	hc_resp_init(&r, false, 100);
	ck_assert(WROTE_CMD(&r, "GET", pw));
	ck_assert(WROTE_CMD(&r, "CLIENT", pw));
	ck_assert_int_eq(r.end, HC_RESP_END_NONE);
	hc_resp_free(&r);

	/* 0: no session at all may be kept. */
	hc_resp_init(&r, false, 0);
	ck_assert(wrote(&r, GETK, strlen(GETK)));
	ck_assert(!wrote(&r, SELECT2, strlen(SELECT2)));
	hc_resp_free(&r);
}
END_TEST

START_TEST(losing_sight_of_replies_keeps_pending_commands_but_not_a_reset)
{
	struct hc_resp r;
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(hc_resp_lost_sight(&r));
	ck_assert(!hc_resp_watching(&r));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);

	hc_resp_init(&r, true, MAX);
	ck_assert(WROTE_CMD(&r, "RESET"));
	ck_assert(!hc_resp_lost_sight(&r));
	ck_assert_int_eq(r.end, HC_RESP_END_UNKNOWN);
	hc_resp_free(&r);

	/* A reply that is no RESP: the same. */
	hc_resp_init(&r, true, MAX);
	ck_assert(wrote(&r, SELECT2, strlen(SELECT2)));
	ck_assert(read_str(&r, "HTTP/1.1 400\r\n"));
	ck_assert_str_eq(record(&r), SELECT2);
	hc_resp_free(&r);
}
END_TEST

static struct hc_resp three(void)
{
	struct hc_resp r;
	char b[128];
	size_t n = CMD(b, "HELLO", "3", "AUTH", "u", "p");
	hc_resp_init(&r, false, MAX);
	ck_assert(wrote(&r, b, n));
	ck_assert(WROTE_CMD(&r, "SELECT", "2"));
	n = CMD(b, "CLIENT", "SETNAME", "app");
	ck_assert(wrote(&r, b, n));
	ck_assert_uint_eq(hc_resp_record_count(&r), 3);
	return r;
}

static enum hc_resp_verdict check_all(const struct hc_resp *r, const char *replies, size_t step)
{
	struct hc_resp_check k;
	enum hc_resp_verdict v = HC_RESP_MORE;
	size_t len = strlen(replies);
	hc_resp_check_begin(&k, r);
	for (size_t i = 0; i < len && v == HC_RESP_MORE; i += step)
		v = hc_resp_check_feed(&k, (const unsigned char *)replies + i, i + step <= len ? step : len - i);
	return v;
}

START_TEST(the_check_wants_every_reply_right_and_nothing_more)
{
	struct hc_resp r = three();
	static const char good[] = "%1\r\n+proto\r\n:3\r\n+OK\r\n+OK\r\n";
	for (size_t step = 1; step <= strlen(good); step++)
		ck_assert_int_eq(check_all(&r, good, step), HC_RESP_GOOD);
	ck_assert_int_eq(check_all(&r, "%1\r\n+proto\r\n:3\r\n+OK\r\n", 100), HC_RESP_MORE);
	ck_assert_int_eq(check_all(&r, "%1\r\n+proto\r\n:3\r\n-ERR no\r\n+OK\r\n", 100), HC_RESP_BAD);
	ck_assert_int_eq(check_all(&r, "-WRONGPASS x\r\n+OK\r\n+OK\r\n", 100), HC_RESP_BAD);
	ck_assert_int_eq(check_all(&r, "%1\r\n+proto\r\n:3\r\n+OK\r\n+OKAY\r\n", 100), HC_RESP_BAD);
	ck_assert_int_eq(check_all(&r, "%1\r\n+proto\r\n:3\r\n+OK\r\n+OK\r\n+OK\r\n", 100), HC_RESP_BAD);
	ck_assert_int_eq(check_all(&r, "+OK\r\n+OK\r\n+OK\r\n", 100), HC_RESP_BAD);
	hc_resp_free(&r);
}
END_TEST

START_TEST(an_empty_record_checks_good_at_once)
{
	struct hc_resp r;
	struct hc_resp_check k;
	hc_resp_init(&r, true, MAX);
	hc_resp_check_begin(&k, &r);
	ck_assert_int_eq(hc_resp_check_feed(&k, NULL, 0), HC_RESP_GOOD);
	ck_assert_int_eq(hc_resp_check_feed(&k, (const unsigned char *)"+x\r\n", 4), HC_RESP_BAD);
	hc_resp_free(&r);
}
END_TEST

START_TEST(every_swap_reason_and_end_has_a_name)
{
	for (int s = HC_RESP_SWAP_OK; s <= HC_RESP_SWAP_OWED; s++)
		ck_assert_str_ne(hc_resp_swap_name((enum hc_resp_swap)s), "?");
	for (int e = HC_RESP_END_NONE; e <= HC_RESP_END_UNKNOWN; e++)
		ck_assert_str_ne(hc_resp_end_name((enum hc_resp_end)e), "?");
}
END_TEST

Suite *resp_suite(void)
{
	Suite *s = suite_create("resp");
	TCase *tc = tcase_create("requests and replies");
	tcase_add_test(tc, select_is_kept_once_its_reply_was_ok);
	tcase_add_test(tc, a_failed_session_command_changes_nothing);
	tcase_add_test(tc, pipelined_select_and_get_with_replies_split_anywhere);
	tcase_add_test(tc, the_session_reply_is_counted_after_the_replies_before_it);
	tcase_add_test(tc, replies_are_counted_until_the_pipeline_with_a_session_command_is_in);
	tcase_add_test(tc, pushes_and_attributes_are_not_replies);
	tcase_add_test(tc, after_an_uncounted_command_session_commands_are_kept_as_written);
	tcase_add_test(tc, the_supervisor_keeps_session_commands_as_written);
	tcase_add_test(tc, losing_sight_of_replies_keeps_pending_commands_but_not_a_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("the record");
	tcase_add_test(tc, a_later_select_takes_the_place_of_the_earlier);
	tcase_add_test(tc, hello_with_auth_and_setname_then_auth_keeps_both_in_order);
	tcase_add_test(tc, hello_refused_is_not_kept_and_bare_hello_changes_nothing);
	tcase_add_test(tc, reset_clears_all_but_client_setinfo);
	tcase_add_test(tc, a_session_longer_than_the_bound_ends_management);
	suite_add_tcase(s, tc);

	tc = tcase_create("modes and framing");
	tcase_add_test(tc, multi_and_watch_forbid_a_swap_until_exec_or_discard);
	tcase_add_test(tc, a_session_command_inside_multi_ends_management);
	tcase_add_test(tc, modes_that_cannot_be_rebuilt_end_management);
	tcase_add_test(tc, tracking_off_and_reply_on_are_plain_commands);
	tcase_add_test(tc, inline_commands_and_garbage_end_management);
	tcase_add_test(tc, empty_multibulks_are_no_commands);
	tcase_add_test(tc, commands_split_across_writes_anywhere_give_the_same_record);
	tcase_add_test(tc, a_write_that_ends_inside_a_command_is_no_place_to_swap);
	suite_add_tcase(s, tc);

	tc = tcase_create("the check");
	tcase_add_test(tc, the_check_wants_every_reply_right_and_nothing_more);
	tcase_add_test(tc, an_empty_record_checks_good_at_once);
	tcase_add_test(tc, every_swap_reason_and_end_has_a_name);
	suite_add_tcase(s, tc);
	return s;
}
