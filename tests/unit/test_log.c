/* test_log.c - address formatting, log lines, and the stats line: its exact
 * keys, its counters, and where it is appended. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "suites.h"

#define SENTINEL_ERRNO 4242

static char dir[] = "/tmp/hc-log-test-XXXXXX";
static char path[PATH_MAX];
static struct hc_config saved_cfg;

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/hc-log-test-XXXXXX")));
	snprintf(path, sizeof path, "%s/out", dir);
	saved_cfg = hc_cfg;
	hc_stats_reset();
}

static void teardown(void)
{
	char p[PATH_MAX];
	static const char *names[] = { "out", "link", "target", "err", "fifo" };
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[k]);
		unlink(p);
	}
	rmdir(dir);
	hc_cfg = saved_cfg;
	hc_stats_reset();
}

/* The whole content of file p ("" if it does not exist). */
static const char *slurp(const char *p)
{
	static char buf[8192];
	buf[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Runs fn with fd 2 pointing at a file; returns what was written to it. */
static const char *capture_stderr(void (*fn)(void))
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/err", dir);
	int file = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(file, 0);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(file, STDERR_FILENO), STDERR_FILENO);
	fn();
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(file);
	return slurp(p);
}

/* ---- addresses -------------------------------------------------------------- */

START_TEST(ipv4_address_is_formatted_as_ip_colon_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(6379) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	char buf[64];
	ck_assert_ptr_eq(hc_addr_format((struct sockaddr *)&a, buf, sizeof buf), buf);
	ck_assert_str_eq(buf, "127.0.0.1:6379");
}
END_TEST

START_TEST(ipv6_address_is_formatted_in_brackets)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(6379) };
	inet_pton(AF_INET6, "::1", &a.sin6_addr);
	char buf[64];
	ck_assert_str_eq(hc_addr_format((struct sockaddr *)&a, buf, sizeof buf), "[::1]:6379");
	a.sin6_port = htons(443);
	inet_pton(AF_INET6, "fd00::1:2", &a.sin6_addr);
	ck_assert_str_eq(hc_addr_format((struct sockaddr *)&a, buf, sizeof buf), "[fd00::1:2]:443");
}
END_TEST

START_TEST(longest_ipv6_address_fits_a_64_byte_buffer)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(65535) };
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a.sin6_addr);
	char buf[64];
	hc_addr_format((struct sockaddr *)&a, buf, sizeof buf);
	ck_assert_str_eq(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}
END_TEST

START_TEST(short_buffer_is_terminated_and_not_overrun)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(6379) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	char buf[16];
	memset(buf, '#', sizeof buf);
	hc_addr_format((struct sockaddr *)&a, buf, 8);
	ck_assert_str_eq(buf, "127.0.0");
	for (size_t k = 8; k < sizeof buf; k++)
		ck_assert_int_eq(buf[k], '#');
}
END_TEST

/* ---- stats ------------------------------------------------------------------------ */

START_TEST(stats_line_has_every_key_in_order_all_zero)
{
	char buf[512], want[512];
	size_t n = hc_stats_format(buf, sizeof buf, 1234);
	snprintf(want, sizeof want,
		 "halfclose pid=1234 managed=0 probes=0 stale=0 reconnects=0 reconnect_failures=0 unread_kept=0 "
		 "retired=0 tls_skipped=0 passthrough=0 replays=0 session_rebuilds=0 session_failures=0 "
		 "stateful_skipped=0 unknown_skipped=0\n");
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
}
END_TEST

static void count(atomic_ulong *field, int times)
{
	for (int k = 0; k < times; k++)
		atomic_fetch_add_explicit(field, 1, memory_order_relaxed);
}

START_TEST(each_counter_shows_under_its_own_key)
{
	HC_COUNT(managed);
	count(&hc_stats.probes, 2);
	count(&hc_stats.stale, 3);
	count(&hc_stats.reconnects, 4);
	count(&hc_stats.reconnect_failures, 5);
	count(&hc_stats.unread_kept, 6);
	count(&hc_stats.retired, 7);
	count(&hc_stats.tls_skipped, 8);
	count(&hc_stats.passthrough, 9);
	for (int k = 0; k < 10; k++)
		HC_COUNT(replays);
	count(&hc_stats.session_rebuilds, 11);
	count(&hc_stats.session_failures, 12);
	count(&hc_stats.stateful_skipped, 13);
	count(&hc_stats.unknown_skipped, 14);
	char buf[512];
	hc_stats_format(buf, sizeof buf, 42);
	ck_assert_str_eq(buf, "halfclose pid=42 managed=1 probes=2 stale=3 reconnects=4 reconnect_failures=5 "
			      "unread_kept=6 retired=7 tls_skipped=8 passthrough=9 replays=10 session_rebuilds=11 "
			      "session_failures=12 stateful_skipped=13 unknown_skipped=14\n");
}
END_TEST

START_TEST(stats_reset_zeroes_every_counter)
{
	HC_COUNT(managed);
	HC_COUNT(replays);
	HC_COUNT(reconnect_failures);
	HC_COUNT(unknown_skipped);
	hc_stats_reset();
	char buf[512];
	hc_stats_format(buf, sizeof buf, 7);
	ck_assert_str_eq(buf, "halfclose pid=7 managed=0 probes=0 stale=0 reconnects=0 reconnect_failures=0 "
			      "unread_kept=0 retired=0 tls_skipped=0 passthrough=0 replays=0 session_rebuilds=0 "
			      "session_failures=0 stateful_skipped=0 unknown_skipped=0\n");
}
END_TEST

START_TEST(stats_write_appends_one_line_per_call)
{
	char line[512], want[1024];
	HC_COUNT(probes);
	hc_stats_format(line, sizeof line, getpid());
	errno = SENTINEL_ERRNO;
	hc_stats_write(path);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_str_eq(slurp(path), line);
	hc_stats_write(path);
	snprintf(want, sizeof want, "%s%s", line, line);
	ck_assert_str_eq(slurp(path), want);
}
END_TEST

START_TEST(stats_file_is_created_private)
{
	mode_t old = umask(0);
	hc_stats_write(path);
	umask(old);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(stats_file_is_never_written_through_a_symlink)
{
	char target[PATH_MAX], link[PATH_MAX];
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlink(target, link), 0);
	errno = SENTINEL_ERRNO;
	hc_stats_write(link);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_str_eq(slurp(target), "");
}
END_TEST

START_TEST(stats_write_to_an_unwritable_path_is_quiet_and_keeps_errno)
{
	errno = SENTINEL_ERRNO;
	hc_stats_write("/nonexistent-halfclose-dir/stats");
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
}
END_TEST

static void write_stats_to_dash(void) { hc_stats_write("-"); }

START_TEST(stats_dash_goes_to_stderr)
{
	char line[512];
	hc_stats_format(line, sizeof line, getpid());
	ck_assert_str_eq(capture_stderr(write_stats_to_dash), line);
}
END_TEST

/* ---- log lines -------------------------------------------------------------- */

/* Logging at level, into the test's file. */
static void log_to_path(enum hc_log_level level)
{
	hc_cfg.log_level = level;
	strcpy(hc_cfg.log_file, path);
}

START_TEST(log_line_has_the_pid_prefix_and_one_newline)
{
	log_to_path(HC_LOG_WARN);
	errno = SENTINEL_ERRNO;
	hc_log(HC_LOG_WARN, "fd %d %s stale (peer FIN)", 7, "127.0.0.1:6379");
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	char want[256];
	snprintf(want, sizeof want, "halfclose[%d]: fd 7 127.0.0.1:6379 stale (peer FIN)\n", (int)getpid());
	ck_assert_str_eq(slurp(path), want);
}
END_TEST

START_TEST(log_writes_only_levels_up_to_the_configured_one)
{
	log_to_path(HC_LOG_WARN);
	hc_log(HC_LOG_ERROR, "e");
	hc_log(HC_LOG_WARN, "w");
	hc_log(HC_LOG_INFO, "i");
	hc_log(HC_LOG_DEBUG, "d");
	char want[256];
	snprintf(want, sizeof want, "halfclose[%d]: e\nhalfclose[%d]: w\n", (int)getpid(), (int)getpid());
	ck_assert_str_eq(slurp(path), want);
}
END_TEST

START_TEST(log_off_writes_nothing)
{
	log_to_path(HC_LOG_OFF);
	hc_log(HC_LOG_ERROR, "e");
	hc_log(HC_LOG_OFF, "o");
	ck_assert_str_eq(slurp(path), "");
}
END_TEST

START_TEST(a_long_log_message_stays_one_line)
{
	log_to_path(HC_LOG_DEBUG);
	static char msg[4000];
	memset(msg, 'x', sizeof msg - 1);
	hc_log(HC_LOG_INFO, "%s", msg);
	const char *got = slurp(path);
	size_t len = strlen(got);
	ck_assert_uint_gt(len, 100);
	ck_assert_int_eq(got[len - 1], '\n');
	ck_assert_ptr_eq(strchr(got, '\n'), got + len - 1);
}
END_TEST

static void log_to_stderr_while_off(void)
{
	hc_cfg.log_level = HC_LOG_OFF;
	errno = SENTINEL_ERRNO;
	hc_log_stderr("HALFCLOSE_LOG=\"%s\": expected off, error, warn, info or debug", "loud");
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
}

START_TEST(configuration_errors_reach_stderr_whatever_the_log_level)
{
	char want[256];
	snprintf(want, sizeof want, "halfclose[%d]: HALFCLOSE_LOG=\"loud\": expected off, error, warn, info or debug\n",
		 (int)getpid());
	ck_assert_str_eq(capture_stderr(log_to_stderr_while_off), want);
}
END_TEST

START_TEST(log_file_that_is_a_fifo_without_a_reader_never_blocks)
{
	/* HALFCLOSE_LOG_FILE=/some/fifo with nobody reading: open must not wait for
	 * a reader inside the program's write(). A child, so that a hang is bounded
	 * (2 s, under the test case's 4 s timeout) and the child killed. */
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	hc_cfg.log_level = HC_LOG_WARN;
	strcpy(hc_cfg.log_file, fifo);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		errno = SENTINEL_ERRNO;
		hc_log(HC_LOG_WARN, "fd %d stale", 7);
		_exit(errno == SENTINEL_ERRNO ? 0 : 1);
	}
	int status = 0;
	pid_t r = 0;
	for (int waited = 0; waited < 2000 && (r = waitpid(pid, &status, WNOHANG)) == 0; waited += 10)
		usleep(10000);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("hc_log blocked opening a FIFO that has no reader");
	}
	ck_assert_int_eq(r, pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");

	TCase *tc = tcase_create("addresses");
	tcase_add_test(tc, ipv4_address_is_formatted_as_ip_colon_port);
	tcase_add_test(tc, ipv6_address_is_formatted_in_brackets);
	tcase_add_test(tc, longest_ipv6_address_fits_a_64_byte_buffer);
	tcase_add_test(tc, short_buffer_is_terminated_and_not_overrun);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stats_line_has_every_key_in_order_all_zero);
	tcase_add_test(tc, each_counter_shows_under_its_own_key);
	tcase_add_test(tc, stats_reset_zeroes_every_counter);
	tcase_add_test(tc, stats_write_appends_one_line_per_call);
	tcase_add_test(tc, stats_file_is_created_private);
	tcase_add_test(tc, stats_file_is_never_written_through_a_symlink);
	tcase_add_test(tc, stats_write_to_an_unwritable_path_is_quiet_and_keeps_errno);
	tcase_add_test(tc, stats_dash_goes_to_stderr);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, log_line_has_the_pid_prefix_and_one_newline);
	tcase_add_test(tc, log_writes_only_levels_up_to_the_configured_one);
	tcase_add_test(tc, log_off_writes_nothing);
	tcase_add_test(tc, a_long_log_message_stays_one_line);
	tcase_add_test(tc, configuration_errors_reach_stderr_whatever_the_log_level);
	tcase_add_test(tc, log_file_that_is_a_fifo_without_a_reader_never_blocks);
	suite_add_tcase(s, tc);

	return s;
}
