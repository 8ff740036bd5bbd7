/* test_page.c - the live-counter page: which directories may hold one, what
 * a created page holds (layout, key names, owner), that HC_COUNT lands in it
 * when it is live, and that it is created private and never through a link. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "page.h"
#include "suites.h"

static char dir[] = "/tmp/hc-page-test-XXXXXX";
static char path[PATH_MAX];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/hc-page-test-XXXXXX")));
	snprintf(path, sizeof path, "%s/halfclose.%d", dir, (int)getpid());
}

static void teardown(void)
{
	char p[PATH_MAX];
	static const char *names[] = { "target", "sub" };
	unlink(path);
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[k]);
		unlink(p);
		rmdir(p);
	}
	rmdir(dir);
	atomic_store(&hc_stats_live, &hc_stats);
}

/* A stat of a directory with mode (type bits added) owned by uid. */
static struct stat dir_stat(mode_t mode, uid_t uid)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_mode = S_IFDIR | mode;
	st.st_uid = uid;
	return st;
}

static struct hc_page *create_own(char *why, size_t len)
{
	struct hc_page_owner o;
	ck_assert_int_eq(hc_page_owner_of(getpid(), getpid(), 0, &o), 0);
	return hc_page_create(dir, &o, why, len);
}

START_TEST(a_private_or_sticky_own_directory_may_hold_pages)
{
	struct stat st;
	st = dir_stat(0700, 1000);
	ck_assert_ptr_null(hc_page_dir_refusal(&st, 1000));
	st = dir_stat(0755, 0); /* root's /run/halfclose for a user's process */
	ck_assert_ptr_null(hc_page_dir_refusal(&st, 1000));
	st = dir_stat(01777, 1000);
	ck_assert_ptr_null(hc_page_dir_refusal(&st, 1000));
	st = dir_stat(01770, 1000);
	ck_assert_ptr_null(hc_page_dir_refusal(&st, 1000));
}
END_TEST

START_TEST(a_directory_others_can_write_is_refused)
{
	struct stat st;
	st = dir_stat(0777, 1000);
	ck_assert_str_eq(hc_page_dir_refusal(&st, 1000), "writable by others (allowed only if it is sticky and yours)");
	st = dir_stat(0770, 1000); /* group members are others too */
	ck_assert_ptr_nonnull(hc_page_dir_refusal(&st, 1000));
	st = dir_stat(01777, 0); /* /tmp: sticky, but not yours */
	ck_assert_ptr_nonnull(hc_page_dir_refusal(&st, 1000));
	st = dir_stat(0755, 1001);
	ck_assert_str_eq(hc_page_dir_refusal(&st, 1000), "owned by another user");
	st = dir_stat(0700, 0);
	st.st_mode = S_IFREG | 0600;
	ck_assert_str_eq(hc_page_dir_refusal(&st, 0), "not a directory");
}
END_TEST

START_TEST(owner_is_this_process_with_its_start_time_and_comm)
{
	struct hc_page_owner o;
	char buf[1024], comm[64];
	unsigned long long start;
	FILE *f = fopen("/proc/self/stat", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	/* field 22 counted the plain way: the unit test binary's comm has no spaces */
	ck_assert_int_eq(sscanf(buf, "%*d (%63[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
				     "%*d %*d %llu",
				comm, &start),
			 2);
	ck_assert_int_eq(hc_page_owner_of(getpid(), 42, HC_PAGE_SUPERVISED, &o), 0);
	ck_assert_int_eq(o.pid, getpid());
	ck_assert_int_eq(o.writer, 42);
	ck_assert_uint_eq(o.flags, HC_PAGE_SUPERVISED);
	ck_assert_uint_eq(o.start_ticks, start);
	ck_assert_str_eq(o.comm, comm);
	ck_assert_uint_ne(o.pidns, 0);
	ck_assert_int_eq(hc_page_owner_of(0x7ffffff0, 1, 0, &o), -1);
}
END_TEST

START_TEST(a_page_is_private_one_page_long_and_carries_its_key_names)
{
	char why[256] = "";
	struct stat st;
	struct hc_page *pg = create_own(why, sizeof why);

	ck_assert_msg(pg != NULL, "%s", why);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, HC_PAGE_SIZE);
	ck_assert_uint_eq(atomic_load(&pg->magic), HC_PAGE_MAGIC);
	ck_assert_uint_eq(pg->version, HC_PAGE_VERSION);
	ck_assert_uint_eq(pg->nkeys, hc_stats_nkeys);
	ck_assert_uint_eq(pg->counter_size, 8);
	ck_assert_int_eq(pg->pid, getpid());
	const char *k = (const char *)pg + pg->keys_off;
	for (size_t i = 0; i < hc_stats_nkeys; i++) {
		ck_assert_str_eq(k, hc_stats_keys[i]);
		k += strlen(k) + 1;
	}
	ck_assert_ptr_eq(k, (const char *)pg + pg->keys_off + pg->keys_len);
	ck_assert_uint_le(pg->keys_off + pg->keys_len, pg->size);
	hc_page_unmap(pg);
}
END_TEST

START_TEST(counts_land_in_the_page_once_it_is_live)
{
	char why[256] = "";
	struct hc_page *pg = create_own(why, sizeof why);
	ck_assert_msg(pg != NULL, "%s", why);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	const struct hc_page *reader = mmap(NULL, HC_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(reader, MAP_FAILED);
	const _Atomic uint64_t *counters = (const _Atomic uint64_t *)((const char *)reader + reader->counters_off);

	HC_COUNT(reconnects); /* not live yet: the private counters */
	ck_assert_uint_eq(atomic_load(&counters[3]), 0);
	atomic_store(&hc_stats_live, hc_page_counters(pg));
	HC_COUNT(reconnects);
	HC_COUNT(reconnects);
	HC_COUNT(unknown_skipped);
	ck_assert_str_eq(hc_stats_keys[3], "reconnects");
	ck_assert_uint_eq(atomic_load(&counters[3]), 2);
	ck_assert_uint_eq(atomic_load(&counters[hc_stats_nkeys - 1]), 1);
	char line[1024];
	hc_stats_format(line, sizeof line, 7);
	ck_assert_ptr_nonnull(strstr(line, " reconnects=2 "));
	munmap((void *)reader, HC_PAGE_SIZE);
	hc_page_unmap(pg);
}
END_TEST

START_TEST(a_page_replaces_whatever_had_its_name_and_never_follows_a_link)
{
	char why[256] = "", target[PATH_MAX];
	struct stat st;
	snprintf(target, sizeof target, "%s/target", dir);
	int fd = open(target, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(symlink(target, path), 0);

	struct hc_page *pg = create_own(why, sizeof why);
	ck_assert_msg(pg != NULL, "%s", why);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode)); /* the link is gone, a page is there */
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, 4); /* and the link's target untouched */
	hc_page_unmap(pg);
}
END_TEST

START_TEST(no_page_in_a_directory_others_can_write_or_through_a_linked_directory)
{
	char why[256] = "", sub[PATH_MAX], link[PATH_MAX];
	struct hc_page_owner o;
	ck_assert_int_eq(hc_page_owner_of(getpid(), getpid(), 0, &o), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_ptr_null(hc_page_create(dir, &o, why, sizeof why));
	ck_assert_str_eq(why, "refused: writable by others (allowed only if it is sticky and yours)");
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(chmod(dir, 0700), 0);

	snprintf(sub, sizeof sub, "%s/sub", dir);
	snprintf(link, sizeof link, "%s/target", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(symlink(sub, link), 0);
	ck_assert_ptr_null(hc_page_create(link, &o, why, sizeof why));
	ck_assert_msg(strstr(why, "cannot open the directory") != NULL, "%s", why);
}
END_TEST

START_TEST(remove_takes_the_page_away)
{
	char why[256] = "";
	struct hc_page *pg = create_own(why, sizeof why);
	ck_assert_msg(pg != NULL, "%s", why);
	hc_page_remove(dir, getpid());
	ck_assert_int_eq(access(path, F_OK), -1);
	hc_page_unmap(pg);
}
END_TEST

Suite *page_suite(void)
{
	Suite *s = suite_create("page");
	TCase *tc = tcase_create("directory");
	tcase_add_test(tc, a_private_or_sticky_own_directory_may_hold_pages);
	tcase_add_test(tc, a_directory_others_can_write_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("page");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, owner_is_this_process_with_its_start_time_and_comm);
	tcase_add_test(tc, a_page_is_private_one_page_long_and_carries_its_key_names);
	tcase_add_test(tc, counts_land_in_the_page_once_it_is_live);
	tcase_add_test(tc, a_page_replaces_whatever_had_its_name_and_never_follows_a_link);
	tcase_add_test(tc, no_page_in_a_directory_others_can_write_or_through_a_linked_directory);
	tcase_add_test(tc, remove_takes_the_page_away);
	suite_add_tcase(s, tc);
	return s;
}
