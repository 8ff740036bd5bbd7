/* test_table.c - the per-fd table: entries, fd reuse, the lock-free known and
 * managed bits, option recording, and its limits. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "table.h"

static void assert_table_count(unsigned want)
{
	hc_table_lock();
	unsigned n = hc_table_count();
	hc_table_unlock();
	ck_assert_uint_eq(n, want);
}

/* The table is process-global: every test leaves it empty. */
static void assert_table_empty(void)
{
	assert_table_count(0);
}

static struct hc_conn *add(int fd)
{
	hc_table_lock();
	struct hc_conn *c = hc_table_add(fd);
	hc_table_unlock();
	ck_assert_ptr_nonnull(c);
	return c;
}

static struct hc_conn *find(int fd)
{
	hc_table_lock();
	struct hc_conn *c = hc_table_find(fd);
	hc_table_unlock();
	return c;
}

static void forget(int fd)
{
	hc_table_lock();
	hc_table_remove(fd);
	hc_table_unlock();
}

static void set_state(struct hc_conn *c, enum hc_conn_state s)
{
	hc_table_lock();
	hc_conn_set_state(c, s);
	hc_table_unlock();
}

static int record(struct hc_conn *c, int level, int name, const void *val, socklen_t len)
{
	hc_table_lock();
	int r = hc_conn_record_option(c, level, name, val, len);
	hc_table_unlock();
	return r;
}

static void remove_range(unsigned first, unsigned last)
{
	hc_table_lock();
	hc_table_remove_range(first, last);
	hc_table_unlock();
}

static void teardown(void)
{
	remove_range(0, ~0u);
}

/* ---- entries ------------------------------------------------------------ */

START_TEST(added_entry_is_found_zeroed_and_unconnected)
{
	struct hc_conn *c = add(7);
	ck_assert_int_eq(c->fd, 7);
	ck_assert_int_eq(c->state, HC_CONN_UNCONNECTED);
	ck_assert_int_eq(c->domain, 0);
	ck_assert_int_eq(c->type, 0);
	ck_assert(!c->wrote);
	ck_assert(!c->read_since_write);
	ck_assert(!c->unreplayable);
	ck_assert_uint_eq(c->nopts, 0);
	ck_assert_ptr_null(c->opts);
	ck_assert_uint_eq(c->peer_len, 0);
	ck_assert_uint_eq(c->bind_len, 0);
	ck_assert_ptr_eq(find(7), c);
	forget(7);
	assert_table_empty();
}
END_TEST

START_TEST(lookup_of_an_unknown_fd_is_null)
{
	ck_assert_ptr_null(find(7));
	add(8);
	ck_assert_ptr_null(find(7));
	ck_assert_ptr_null(find(9));
	ck_assert_ptr_null(find(-1));
	forget(8);
}
END_TEST

START_TEST(removed_entry_is_gone)
{
	add(7);
	add(8);
	forget(7);
	ck_assert_ptr_null(find(7));
	ck_assert_ptr_nonnull(find(8));
	forget(8);
	assert_table_empty();
}
END_TEST

START_TEST(removing_an_unknown_fd_is_harmless)
{
	add(5);
	forget(6);
	forget(-1);
	forget((int)HC_FD_LIMIT);
	assert_table_count(1);
	forget(5);
}
END_TEST

START_TEST(reused_fd_number_gets_a_fresh_zeroed_entry)
{
	struct hc_conn *c = add(9);
	c->domain = AF_INET;
	c->type = SOCK_STREAM;
	c->wrote = true;
	set_state(c, HC_CONN_MANAGED);
	int one = 1;
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	forget(9);

	c = add(9); /* the kernel gave the number to a new socket */
	ck_assert_int_eq(c->state, HC_CONN_UNCONNECTED);
	ck_assert_int_eq(c->domain, 0);
	ck_assert(!c->wrote);
	ck_assert_uint_eq(c->nopts, 0);
	ck_assert_ptr_null(c->opts);
	ck_assert(!hc_fd_managed(9));
	ck_assert(hc_fd_known(9));
	forget(9);
}
END_TEST

START_TEST(add_over_an_existing_entry_replaces_it)
{
	/* A close the shim never saw (glibc-internal, close_range): the next socket()
	 * at that number must not inherit the old connection's state. */
	struct hc_conn *c = add(11);
	c->domain = AF_INET6;
	c->unreplayable = true;
	set_state(c, HC_CONN_MANAGED);
	int one = 1;
	ck_assert_int_eq(record(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);

	c = add(11);
	ck_assert_int_eq(c->fd, 11);
	ck_assert_int_eq(c->state, HC_CONN_UNCONNECTED);
	ck_assert_int_eq(c->domain, 0);
	ck_assert(!c->unreplayable);
	ck_assert_uint_eq(c->nopts, 0);
	ck_assert_ptr_eq(find(11), c);
	assert_table_count(1);
	ck_assert(hc_fd_known(11));
	ck_assert(!hc_fd_managed(11));
	forget(11);
	assert_table_empty();
}
END_TEST

START_TEST(ten_thousand_entries_are_all_found_and_all_removed)
{
	enum { N = 10000 };
	for (int fd = 0; fd < N; fd++) {
		struct hc_conn *c = add(fd * 3 + 1);
		c->domain = fd; /* a tag to tell entries apart */
	}
	hc_table_lock();
	ck_assert_uint_eq(hc_table_count(), N);
	for (int fd = 0; fd < N; fd++) {
		struct hc_conn *c = hc_table_find(fd * 3 + 1);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->fd, fd * 3 + 1);
		ck_assert_int_eq(c->domain, fd);
		ck_assert_ptr_null(hc_table_find(fd * 3 + 2));
	}
	hc_table_unlock();
	for (int fd = 0; fd < N; fd++) {
		ck_assert(hc_fd_known(fd * 3 + 1));
		ck_assert(!hc_fd_known(fd * 3 + 2));
	}
	for (int fd = 0; fd < N; fd++)
		forget(fd * 3 + 1);
	assert_table_empty();
	for (int fd = 0; fd < N; fd++)
		ck_assert(!hc_fd_known(fd * 3 + 1));
}
END_TEST

START_TEST(an_entry_without_options_fits_the_256_byte_budget)
{
	/* DESIGN: <= 256 bytes of table per socket; allow malloc's header and
	 * uthash's bucket share on top of the struct. */
	ck_assert_uint_le(sizeof(struct hc_conn) + 16 + sizeof(UT_hash_bucket), 256);
}
END_TEST

/* ---- known and managed bits ----------------------------------------------- */

START_TEST(add_sets_the_known_bit_only)
{
	ck_assert(!hc_fd_known(20));
	add(20);
	ck_assert(hc_fd_known(20));
	ck_assert(!hc_fd_managed(20));
	ck_assert(!hc_fd_known(19));
	ck_assert(!hc_fd_known(21));
	forget(20);
}
END_TEST

START_TEST(managed_bit_follows_the_state)
{
	static const struct {
		enum hc_conn_state state;
		bool managed;
	} states[] = {
		{ HC_CONN_CONNECTING, true }, { HC_CONN_MANAGED, true },      { HC_CONN_DEAD, true },
		{ HC_CONN_UNMANAGED, false }, { HC_CONN_UNCONNECTED, false }, { HC_CONN_MANAGED, true },
		{ HC_CONN_UNMANAGED, false },
	};
	struct hc_conn *c = add(63); /* the last bit of a word */
	for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
		set_state(c, states[k].state);
		ck_assert_int_eq(c->state, states[k].state);
		ck_assert_msg(hc_fd_managed(63) == states[k].managed, "state %d: managed bit %d", states[k].state,
			      hc_fd_managed(63));
		ck_assert(hc_fd_known(63));
		ck_assert(!hc_fd_managed(62) && !hc_fd_managed(64));
	}
	forget(63);
}
END_TEST

START_TEST(remove_clears_both_bits)
{
	struct hc_conn *c = add(64); /* the first bit of a word */
	set_state(c, HC_CONN_MANAGED);
	ck_assert(hc_fd_known(64) && hc_fd_managed(64));
	forget(64);
	ck_assert(!hc_fd_known(64));
	ck_assert(!hc_fd_managed(64));
}
END_TEST

START_TEST(remove_range_forgets_exactly_the_range)
{
	for (int fd = 8; fd <= 22; fd++)
		set_state(add(fd), HC_CONN_MANAGED);
	remove_range(10, 20);
	assert_table_count(4);
	for (int fd = 8; fd <= 22; fd++) {
		bool kept = fd < 10 || fd > 20;
		ck_assert_msg(hc_fd_known(fd) == kept, "fd %d known=%d", fd, hc_fd_known(fd));
		ck_assert_msg(hc_fd_managed(fd) == kept, "fd %d managed=%d", fd, hc_fd_managed(fd));
		ck_assert_msg((find(fd) != NULL) == kept, "fd %d entry", fd);
	}
	teardown();
	assert_table_empty();
}
END_TEST

START_TEST(remove_range_to_uint_max_is_quick_and_complete)
{
	/* close_range(3, ~0U) is what programs call before exec. */
	int fds[] = { 3, 100, 4095, 70000, (int)HC_FD_LIMIT - 1 };
	for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++)
		set_state(add(fds[k]), HC_CONN_MANAGED);
	add(2);
	remove_range(3, ~0u);
	assert_table_count(1);
	for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
		ck_assert(!hc_fd_known(fds[k]));
		ck_assert(!hc_fd_managed(fds[k]));
	}
	ck_assert(hc_fd_known(2));
	forget(2);
}
END_TEST

START_TEST(remove_range_of_one_fd)
{
	add(30);
	add(31);
	remove_range(31, 31);
	ck_assert(hc_fd_known(30));
	ck_assert(!hc_fd_known(31));
	forget(30);
}
END_TEST

START_TEST(fds_outside_the_limit_are_never_known)
{
	ck_assert(!hc_fd_known(-1));
	ck_assert(!hc_fd_known(-64));
	ck_assert(!hc_fd_known((int)HC_FD_LIMIT));
	ck_assert(!hc_fd_managed(-1));

	hc_table_lock();
	struct hc_conn *c = hc_table_add((int)HC_FD_LIMIT);
	if (c != NULL)
		hc_conn_set_state(c, HC_CONN_MANAGED);
	hc_table_unlock();
	ck_assert(!hc_fd_known((int)HC_FD_LIMIT));
	ck_assert(!hc_fd_managed((int)HC_FD_LIMIT));
	ck_assert(!hc_fd_known(0));

	struct hc_conn *top = add((int)HC_FD_LIMIT - 1);
	set_state(top, HC_CONN_MANAGED);
	ck_assert(hc_fd_known((int)HC_FD_LIMIT - 1));
	ck_assert(hc_fd_managed((int)HC_FD_LIMIT - 1));
	teardown();
}
END_TEST

START_TEST(any_known_sees_an_entry_only_inside_the_range_across_word_boundaries)
{
	ck_assert(!hc_table_any_known(0, ~0u)); /* an empty table */
	add(63);  /* the last bit of word 0 */
	add(128); /* the first bit of word 2 */
	ck_assert(hc_table_any_known(63, 63));
	ck_assert(hc_table_any_known(0, 63));
	ck_assert(hc_table_any_known(60, 70));
	ck_assert(!hc_table_any_known(0, 62));
	ck_assert(!hc_table_any_known(64, 127)); /* all of word 1, between the two */
	ck_assert(!hc_table_any_known(65, 126));
	ck_assert(hc_table_any_known(64, 128));
	ck_assert(hc_table_any_known(100, 200));
	ck_assert(!hc_table_any_known(129, 1000));
	ck_assert(!hc_table_any_known(70, 60)); /* first > last: nothing */
	forget(63);
	ck_assert(!hc_table_any_known(0, 127));
	forget(128);
	ck_assert(!hc_table_any_known(0, ~0u));
}
END_TEST

START_TEST(any_known_clamps_ranges_beyond_the_fd_limit)
{
	int top = (int)HC_FD_LIMIT - 1;
	ck_assert(!hc_table_any_known(HC_FD_LIMIT, ~0u));
	ck_assert(!hc_table_any_known(3, ~0u));
	add(top);
	ck_assert(hc_table_any_known(3, ~0u)); /* closefrom(3) */
	ck_assert(hc_table_any_known((unsigned)top, (unsigned)top));
	ck_assert(hc_table_any_known((unsigned)top, HC_FD_LIMIT + 100));
	ck_assert(!hc_table_any_known(HC_FD_LIMIT, ~0u));
	ck_assert(!hc_table_any_known(~0u, ~0u));
	ck_assert(!hc_table_any_known(0, (unsigned)top - 1));
	forget(top);
	ck_assert(!hc_table_any_known(3, ~0u));
}
END_TEST

/* ---- option recording ------------------------------------------------------- */

START_TEST(options_are_recorded_in_the_order_first_set)
{
	struct hc_conn *c = add(40);
	int one = 1;
	struct timeval tv = { .tv_sec = 7, .tv_usec = 0 };
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	ck_assert_int_eq(record(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	ck_assert_int_eq(record(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);
	ck_assert_uint_eq(c->nopts, 3);
	ck_assert_int_eq(c->opts[0].level, IPPROTO_TCP);
	ck_assert_int_eq(c->opts[0].name, TCP_NODELAY);
	ck_assert_uint_eq(c->opts[0].len, sizeof one);
	ck_assert_mem_eq(c->opts[0].val, &one, sizeof one);
	ck_assert_int_eq(c->opts[1].level, SOL_SOCKET);
	ck_assert_int_eq(c->opts[1].name, SO_RCVTIMEO);
	ck_assert_uint_eq(c->opts[1].len, sizeof tv);
	ck_assert_mem_eq(c->opts[1].val, &tv, sizeof tv);
	ck_assert_int_eq(c->opts[2].name, SO_KEEPALIVE);
	ck_assert(!c->unreplayable);
	forget(40);
}
END_TEST

START_TEST(setting_an_option_again_replaces_it_in_place)
{
	struct hc_conn *c = add(41);
	int one = 1, zero = 0, big = 1 << 20;
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	ck_assert_int_eq(record(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof big), 0);
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero), 0);
	ck_assert_uint_eq(c->nopts, 2);
	ck_assert_int_eq(c->opts[0].name, TCP_NODELAY);
	ck_assert_mem_eq(c->opts[0].val, &zero, sizeof zero);
	ck_assert_int_eq(c->opts[1].name, SO_SNDBUF);
	forget(41);
}
END_TEST

START_TEST(same_name_at_another_level_is_another_option)
{
	struct hc_conn *c = add(42);
	int one = 1;
	/* TCP_NODELAY == 1 == SO_DEBUG: only the pair (level, name) identifies an option. */
	ck_assert_int_eq(record(c, IPPROTO_TCP, 1, &one, sizeof one), 0);
	ck_assert_int_eq(record(c, SOL_SOCKET, 1, &one, sizeof one), 0);
	ck_assert_uint_eq(c->nopts, 2);
	forget(42);
}
END_TEST

START_TEST(option_value_of_hc_opt_max_bytes_is_recorded)
{
	struct hc_conn *c = add(43);
	unsigned char val[HC_OPT_MAX];
	for (size_t k = 0; k < sizeof val; k++)
		val[k] = (unsigned char)(k + 1);
	ck_assert_int_eq(record(c, SOL_SOCKET, SO_BINDTODEVICE, val, sizeof val), 0);
	ck_assert_uint_eq(c->nopts, 1);
	ck_assert_uint_eq(c->opts[0].len, HC_OPT_MAX);
	ck_assert_mem_eq(c->opts[0].val, val, HC_OPT_MAX);
	ck_assert(!c->unreplayable);
	forget(43);
}
END_TEST

START_TEST(too_large_option_value_makes_the_conn_unreplayable)
{
	struct hc_conn *c = add(44);
	unsigned char val[HC_OPT_MAX + 1];
	memset(val, 0xab, sizeof val);
	int one = 1;
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	ck_assert_int_eq(record(c, IPPROTO_TCP, TCP_CONGESTION, val, sizeof val), 0);
	ck_assert(c->unreplayable);
	for (unsigned k = 0; k < c->nopts; k++)
		ck_assert_uint_le(c->opts[k].len, HC_OPT_MAX);
	ck_assert_int_eq(c->opts[0].name, TCP_NODELAY);
	forget(44);
}
END_TEST

START_TEST(more_options_than_nopts_can_count_make_the_conn_unreplayable)
{
	/* nopts is an unsigned char: the 256th distinct option must not wrap it. */
	struct hc_conn *c = add(45);
	int one = 1;
	for (int name = 1; name <= 300; name++)
		ck_assert_int_eq(record(c, 1000, name, &one, sizeof one), 0);
	ck_assert_msg(c->unreplayable, "%u of 300 options kept, yet the conn claims to be replayable", c->nopts);
	for (unsigned k = 0; k < c->nopts; k++)
		ck_assert_int_eq(c->opts[k].name, (int)k + 1);
	forget(45);
}
END_TEST

/* ---- locking ------------------------------------------------------------- */

struct churn {
	int base;
	int bad;
};

static void *churn_thread(void *arg)
{
	struct churn *ch = arg;
	for (int round = 0; round < 200; round++) {
		for (int k = 0; k < 16; k++) {
			hc_table_lock();
			struct hc_conn *c = hc_table_add(ch->base + k);
			if (c != NULL)
				hc_conn_set_state(c, HC_CONN_MANAGED);
			hc_table_unlock();
		}
		for (int k = 0; k < 16; k++) {
			if (!hc_fd_known(ch->base + k) || !hc_fd_managed(ch->base + k))
				ch->bad++;
			hc_table_lock();
			hc_table_remove(ch->base + k);
			hc_table_unlock();
			if (hc_fd_known(ch->base + k))
				ch->bad++;
		}
	}
	return NULL;
}

START_TEST(threads_changing_neighbouring_fds_do_not_disturb_each_other)
{
	/* Neighbours share a 64-bit word of the bitmaps: updates must be atomic. */
	enum { T = 4 };
	pthread_t th[T];
	struct churn ch[T];
	for (int t = 0; t < T; t++) {
		ch[t].base = 128 + 16 * t;
		ch[t].bad = 0;
		ck_assert_int_eq(pthread_create(&th[t], NULL, churn_thread, &ch[t]), 0);
	}
	for (int t = 0; t < T; t++) {
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
		ck_assert_msg(ch[t].bad == 0, "thread %d saw %d wrong bits", t, ch[t].bad);
	}
	assert_table_empty();
}
END_TEST

/* A test case of the suite, every test ending with the table emptied. */
static TCase *table_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, NULL, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *table_suite(void)
{
	Suite *s = suite_create("table");

	TCase *tc = table_tcase(s, "entries");
	tcase_add_test(tc, added_entry_is_found_zeroed_and_unconnected);
	tcase_add_test(tc, lookup_of_an_unknown_fd_is_null);
	tcase_add_test(tc, removed_entry_is_gone);
	tcase_add_test(tc, removing_an_unknown_fd_is_harmless);
	tcase_add_test(tc, reused_fd_number_gets_a_fresh_zeroed_entry);
	tcase_add_test(tc, add_over_an_existing_entry_replaces_it);
	tcase_add_test(tc, ten_thousand_entries_are_all_found_and_all_removed);
	tcase_add_test(tc, an_entry_without_options_fits_the_256_byte_budget);

	tc = table_tcase(s, "bits");
	tcase_add_test(tc, add_sets_the_known_bit_only);
	tcase_add_test(tc, managed_bit_follows_the_state);
	tcase_add_test(tc, remove_clears_both_bits);
	tcase_add_test(tc, remove_range_forgets_exactly_the_range);
	tcase_add_test(tc, remove_range_to_uint_max_is_quick_and_complete);
	tcase_add_test(tc, remove_range_of_one_fd);
	tcase_add_test(tc, fds_outside_the_limit_are_never_known);
	tcase_add_test(tc, any_known_sees_an_entry_only_inside_the_range_across_word_boundaries);
	tcase_add_test(tc, any_known_clamps_ranges_beyond_the_fd_limit);

	tc = table_tcase(s, "options");
	tcase_add_test(tc, options_are_recorded_in_the_order_first_set);
	tcase_add_test(tc, setting_an_option_again_replaces_it_in_place);
	tcase_add_test(tc, same_name_at_another_level_is_another_option);
	tcase_add_test(tc, option_value_of_hc_opt_max_bytes_is_recorded);
	tcase_add_test(tc, too_large_option_value_makes_the_conn_unreplayable);
	tcase_add_test(tc, more_options_than_nopts_can_count_make_the_conn_unreplayable);

	tc = table_tcase(s, "locking");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, threads_changing_neighbouring_fds_do_not_disturb_each_other);

	return s;
}
