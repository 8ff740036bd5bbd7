/* test_real.c - the real libc functions: bound once, lazily, by any number of
 * threads at the same time, never left NULL, errno untouched. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/* ---- system-call fallbacks of the fortified reads ------------------------------ */

/* The value of the function symbol name in this executable's own symbol table
 * (local symbols included; the unit tests are never stripped), or 0. */
static uintptr_t symtab_value(const char *name)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open /proc/self/exe: %s", strerror(errno));
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	const unsigned char *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ck_assert(img != MAP_FAILED);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(img + eh->e_shoff);
	uintptr_t value = 0;
	for (unsigned i = 0; i < eh->e_shnum && value == 0; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(img + sh[i].sh_offset);
		const char *names = (const char *)(img + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++) {
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && strcmp(names + sym[k].st_name, name) == 0) {
				value = (uintptr_t)sym[k].st_value;
				break;
			}
		}
	}
	munmap((void *)img, (size_t)st.st_size);
	return value;
}

/* The address of real.c's static function name: the fallbacks are reached
 * only while dlsym re-enters a wrapper, which a unit test cannot arrange. */
static void *static_function(const char *name)
{
	uintptr_t anchor = symtab_value("hc_real_bind"), value = symtab_value(name);
	ck_assert_msg(anchor != 0 && value != 0, "%s not in the symbol table of /proc/self/exe", name);
	return (void *)((uintptr_t)hc_real_bind - anchor + value);
}

typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*recv_chk_fn)(int, void *, size_t, size_t, int);
typedef ssize_t (*recvfrom_chk_fn)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);

/* A socket pair with "abcdefgh" waiting on [0]. */
static void pair_with_data(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], "abcdefgh", 8), 8);
}

START_TEST(fallback_fortified_reads_within_the_buffer_read)
{
	read_chk_fn rd = (read_chk_fn)static_function("sys_read_chk");
	recv_chk_fn rv = (recv_chk_fn)static_function("sys_recv_chk");
	recvfrom_chk_fn rf = (recvfrom_chk_fn)static_function("sys_recvfrom_chk");
	int sv[2];
	char buf[8];
	pair_with_data(sv);
	ck_assert_int_eq(rd(sv[0], buf, 3, sizeof buf), 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_int_eq(rv(sv[0], buf, 3, 3, 0), 3);
	ck_assert_mem_eq(buf, "def", 3);
	ck_assert_int_eq(rf(sv[0], buf, 2, sizeof buf, 0, NULL, NULL), 2);
	ck_assert_mem_eq(buf, "gh", 2);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Each asks for 8 bytes into a buffer declared 4 long (the real one is larger,
 * so a missing check reads without overflowing): glibc would abort. */
START_TEST(fallback_read_chk_aborts_when_asked_for_more_than_the_buffer)
{
	read_chk_fn rd = (read_chk_fn)static_function("sys_read_chk");
	int sv[2];
	char buf[64];
	pair_with_data(sv);
	rd(sv[0], buf, 8, 4);
	ck_abort_msg("__read_chk fallback returned instead of aborting");
}
END_TEST

START_TEST(fallback_recv_chk_aborts_when_asked_for_more_than_the_buffer)
{
	recv_chk_fn rv = (recv_chk_fn)static_function("sys_recv_chk");
	int sv[2];
	char buf[64];
	pair_with_data(sv);
	rv(sv[0], buf, 8, 4, 0);
	ck_abort_msg("__recv_chk fallback returned instead of aborting");
}
END_TEST

START_TEST(fallback_recvfrom_chk_aborts_when_asked_for_more_than_the_buffer)
{
	recvfrom_chk_fn rf = (recvfrom_chk_fn)static_function("sys_recvfrom_chk");
	int sv[2];
	char buf[64];
	pair_with_data(sv);
	rf(sv[0], buf, 8, 4, 0, NULL, NULL);
	ck_abort_msg("__recvfrom_chk fallback returned instead of aborting");
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

	tc = tcase_create("fallbacks");
	tcase_add_test(tc, fallback_fortified_reads_within_the_buffer_read);
	tcase_add_test_raise_signal(tc, fallback_read_chk_aborts_when_asked_for_more_than_the_buffer, SIGABRT);
	tcase_add_test_raise_signal(tc, fallback_recv_chk_aborts_when_asked_for_more_than_the_buffer, SIGABRT);
	tcase_add_test_raise_signal(tc, fallback_recvfrom_chk_aborts_when_asked_for_more_than_the_buffer, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
