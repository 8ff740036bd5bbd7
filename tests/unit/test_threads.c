/* test_threads.c - a heal among the program's other threads and its forks:
 * a reader holds its socket, other sockets go on, a child gets a usable table. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "config.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* ---- readers and heals -------------------------------------------- */

START_TEST(stale_socket_another_thread_is_reading_is_not_swapped)
{
	/* A thread inside read() holds the old connection (the wrappers count it
	 * with hc_read_begin/end); a swap would leave it there. */
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	hc_read_begin(s.fd);

	assert_write_fails_with_epipe(s.fd);
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(reconnects, 0);
	assert_stat(reconnect_failures, 1);
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

START_TEST(max_idle_never_retires_a_connection_another_thread_is_reading)
{
	hc_cfg.max_idle_ms = 20;
	struct scene s = scene_open();
	exchange(s.fd, s.server);
	sleep_ms(40);
	hc_read_begin(s.fd);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_received(s.server, "GET k\r\n"); /* on the old connection, where the reader waits */
	ck_assert(!listener_has_a_connection(s.listener));
	assert_stat(retired, 0);
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

static _Atomic int reader_started, reader_in;

static void *begin_a_read(void *arg)
{
	int fd = *(int *)arg;
	reader_started = 1;
	hc_read_begin(fd); /* returns once it may read the fd */
	reader_in = 1;
	hc_read_end(fd);
	return NULL;
}

START_TEST(a_read_that_starts_during_a_swap_waits_for_the_new_socket)
{
	/* Either the swap sees the reader or the reader sees the swap: one atomic
	 * word for both. A swap under way holds the table lock; the reader waits
	 * for it. */
	pthread_t t;
	int fd = 7;
	reader_started = reader_in = 0;
	hc_table_lock();
	ck_assert(hc_swap_begin(fd));
	ck_assert_int_eq(pthread_create(&t, NULL, begin_a_read, &fd), 0);
	while (!reader_started)
		sleep_ms(1);
	sleep_ms(50);
	ck_assert_int_eq(reader_in, 0); /* still waiting */
	hc_swap_end(fd);
	hc_table_unlock();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(reader_in, 1);
	ck_assert(hc_swap_begin(fd)); /* all clear again */
	hc_swap_end(fd);
}
END_TEST

static _Atomic int healer_done;

static void *write_on_stale(void *arg)
{
	int fd = *(int *)arg;
	ck_assert_int_eq(app_write(fd, "GET k\r\n"), -1); /* every reconnect refused */
	healer_done = 1;
	return NULL;
}

/* True while fd's entry is marked healing (the lock is free then). */
static bool healing_now(int fd)
{
	hc_table_lock();
	struct hc_conn *c = hc_table_find(fd);
	bool h = c != NULL && c->healing;
	hc_table_unlock();
	return h;
}

START_TEST(a_heal_lets_other_sockets_go_on_and_holds_its_own)
{
	/* The reconnect runs without the table lock: another connection's write
	 * goes through at once, while a dup2 onto the healing fd waits for the
	 * heal to end (here: refused 4 times, 350 ms of backoff, then EPIPE). */
	hc_cfg.retries = 3;
	struct scene a = scene_open(), b = scene_open();
	exchange(b.fd, b.server);
	scene_serve_then_idle_out(&a);
	close_early(&a.listener); /* every reconnect is refused */
	healer_done = 0;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, write_on_stale, &a.fd), 0);
	while (!healing_now(a.fd))
		sleep_ms(1);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(app_write(b.fd, "GET b\r\n"), 7);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(ms < 150, "a write on another socket waited %ld ms for the heal", ms);
	assert_received(b.server, "GET b\r\n");

	hc_before_replace(a.fd); /* returns once the heal is over */
	hc_table_lock();
	ck_assert_int_eq(hc_table_find(a.fd)->state, HC_CONN_DEAD);
	hc_table_unlock();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(healer_done);
	scene_close(&a);
	scene_close(&b);
}
END_TEST

START_TEST(a_read_that_never_ended_does_not_stop_the_next_socket_at_its_number)
{
	/* A reader cancelled or longjmp'ed out of its read never ends its count;
	 * a new socket at that number starts from zero. */
	struct scene s = scene_open();
	int fd = s.fd;
	hc_read_begin(fd);
	scene_hang_up(&s);
	scene_connect(&s);
	ck_assert_int_eq(s.fd, fd);
	scene_serve_then_idle_out(&s);

	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	assert_stat(reconnects, 1);
	hc_read_end(fd); /* late: it must not go below zero */
	ck_assert(hc_swap_begin(fd));
	hc_swap_end(fd);
	scene_close(&s);
}
END_TEST

/* ---- fork --------------------------------------------------------- */

static atomic_int churning;

/* Another thread of the program, opening and closing sockets all the time. */
static void *churn(void *arg)
{
	(void)arg;
	while (atomic_load(&churning)) {
		hc_on_socket(900, AF_INET, SOCK_STREAM, 0);
		hc_forget_fd(900);
	}
	return NULL;
}

/* Waits for pid at most WAIT_MS; a child stuck on an inherited lock is killed. */
static int wait_child(pid_t pid)
{
	int status = 0;
	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("forked child hung (a table lock inherited locked?)");
	return -1;
}

START_TEST(forked_child_gets_a_usable_table_while_another_thread_uses_it)
{
	/* hc_init registered the pthread_atfork handlers: fork takes the lock in
	 * prepare, so the child never inherits it held mid-update. */
	struct scene s = scene_open();
	atomic_store(&churning, 1);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, churn, NULL), 0);
	for (int k = 0; k < 20; k++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			hc_table_lock();
			struct hc_conn *c = hc_table_find(s.fd);
			bool ok = c != NULL && c->state == HC_CONN_MANAGED && hc_table_add(901) != NULL;
			hc_table_unlock();
			hc_forget_fd(901);
			_exit(ok ? 0 : 1);
		}
		int status = wait_child(pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", k, status);
	}
	atomic_store(&churning, 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert(hc_fd_managed(s.fd)); /* the parent's table and lock are fine too */
	hc_table_lock();
	ck_assert_ptr_null(hc_table_find(901));
	hc_table_unlock();
	scene_close(&s);
}
END_TEST

START_TEST(forked_child_does_not_inherit_the_parents_readers)
{
	/* A parent thread inside a read does not come along into the child,
	 * which must be able to heal that socket. */
	struct scene s = scene_open();
	hc_read_begin(s.fd);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		bool ok = hc_swap_begin(s.fd);
		_exit(ok ? 0 : 1);
	}
	int status = wait_child(pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
	ck_assert(!hc_swap_begin(s.fd)); /* the parent's reader is still there */
	hc_read_end(s.fd);
	scene_close(&s);
}
END_TEST

Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");

	TCase *tc = scene_tcase(s, "threads", 30);
	tcase_add_test(tc, stale_socket_another_thread_is_reading_is_not_swapped);
	tcase_add_test(tc, max_idle_never_retires_a_connection_another_thread_is_reading);
	tcase_add_test(tc, a_read_that_starts_during_a_swap_waits_for_the_new_socket);
	tcase_add_test(tc, a_heal_lets_other_sockets_go_on_and_holds_its_own);
	tcase_add_test(tc, a_read_that_never_ended_does_not_stop_the_next_socket_at_its_number);

	tc = scene_tcase(s, "fork", 30);
	tcase_add_test(tc, forked_child_gets_a_usable_table_while_another_thread_uses_it);
	tcase_add_test(tc, forked_child_does_not_inherit_the_parents_readers);
	return s;
}
