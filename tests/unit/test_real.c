/* test_real.c - the real libc functions: bound once, lazily, by any number of
 * threads at the same time, never left NULL, errno untouched. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "real.h"
#include "suites.h"

#define SENTINEL_ERRNO 4242

START_TEST(binding_leaves_no_entry_null)
{
	hc_real_bind();
	void *const *fns = (void *const *)&hc_real;
	for (size_t k = 0; k < sizeof hc_real / sizeof(void *); k++)
		ck_assert_msg(fns[k] != NULL, "entry %zu of hc_real is NULL after hc_real_bind", k);
}
END_TEST

START_TEST(binding_preserves_errno)
{
	errno = SENTINEL_ERRNO;
	hc_real_bind();
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	hc_real_bind(); /* the second call is a no-op, and keeps errno too */
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
}
END_TEST

START_TEST(first_use_through_hc_real_binds_and_calls_libc)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(HC_REAL(write)(fds[1], "abc", 3), 3);
	char buf[4];
	ck_assert_int_eq(HC_REAL(read)(fds[0], buf, sizeof buf), 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_int_eq(HC_REAL(close)(fds[1]), 0);
	ck_assert_int_eq(HC_REAL(close)(fds[0]), 0);
	errno = 0;
	ck_assert_int_eq(HC_REAL(close)(fds[0]), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static void *use_real_fns(void *arg)
{
	int *bad = arg;
	for (int k = 0; k < 100; k++) {
		errno = 0;
		if (HC_REAL(close)(-1) != -1 || errno != EBADF)
			(*bad)++;
		if (HC_REAL(dup)(-1) != -1)
			(*bad)++;
	}
	return NULL;
}

START_TEST(threads_racing_to_first_use_all_get_the_real_functions)
{
	/* Each test runs in a fresh child: nothing is bound yet. Under TSan this
	 * also checks that the lazy binding is race-free. */
	enum { T = 8 };
	pthread_t th[T];
	int bad[T];
	for (int t = 0; t < T; t++) {
		bad[t] = 0;
		ck_assert_int_eq(pthread_create(&th[t], NULL, use_real_fns, &bad[t]), 0);
	}
	for (int t = 0; t < T; t++) {
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
		ck_assert_int_eq(bad[t], 0);
	}
}
END_TEST

Suite *real_suite(void)
{
	Suite *s = suite_create("real");
	TCase *tc = tcase_create("binding");
	tcase_add_test(tc, threads_racing_to_first_use_all_get_the_real_functions);
	tcase_add_test(tc, binding_leaves_no_entry_null);
	tcase_add_test(tc, binding_preserves_errno);
	tcase_add_test(tc, first_use_through_hc_real_binds_and_calls_libc);
	suite_add_tcase(s, tc);
	return s;
}
