/* test_reliability.c - what other parts of the program do while a heal is
 * under way: a signal handler that writes or closes, a thread that is
 * cancelled, a thread that changes the socket's settings, a fork; and the
 * bounds of a heal (a non-blocking socket's budget, a signal that ends it).
 * Each test makes the heal slow on purpose: refused reconnects with backoff,
 * or a listener whose accept queue is full (its SYNs go unanswered). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* A managed connection whose server idled out, and whose reconnects are
 * refused (the listener is gone) for a while: a heal of it waits in backoff. */
static struct scene stale_and_refused(void)
{
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	close_early(&s.listener);
	return s;
}

/* A managed connection whose server idled out, with the listener's accept
 * queue full: a reconnect's SYN is never answered, so its connect waits for
 * HALFCLOSE_CONNECT_TIMEOUT_MS. *filler: the connection that fills it. */
static struct scene stale_and_unanswered(int *filler)
{
	struct scene s = { .fd = -1, .server = -1, .fresh = -1 };
	s.listener = listen_loopback_backlog(&s.addr, 0);
	scene_connect(&s);
	*filler = connect_to(&s.addr); /* queued, never accepted: the queue (backlog 0: one) is full */
	scene_serve_then_idle_out(&s);
	return s;
}

static uint64_t ms_since(uint64_t t0)
{
	return (hc_now_ns() - t0) / 1000000u;
}

/* A write as the wrappers make it, with no Check assertion: for signal
 * handlers and for threads that are cancelled (Check's own calls take a lock
 * and are cancellation points). Returns what the write returned; errno. */
static ssize_t raw_write(int fd, const char *s)
{
	struct iovec v = { (void *)s, strlen(s) };
	struct hc_write w;
	ssize_t r;

	if (hc_before_write(fd, &w) == HC_WRITE_FAIL) {
		errno = EPIPE;
		return -1;
	}
	r = write(fd, s, v.iov_len);
	hc_after_write(fd, &w, &v, 1, r);
	return r;
}

/* ---- a signal handler inside a heal ---------------------------------------- */

static volatile int handler_fd = -1;
static volatile ssize_t handler_wrote = -2;

static void write_in_handler(int sig)
{
	int saved = errno;
	(void)sig;
	handler_wrote = raw_write(handler_fd, "x");
	errno = saved;
}

static void on_alarm(void (*fn)(int), long us)
{
	struct sigaction sa;
	struct itimerval t = { .it_value = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 } };
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &t, NULL), 0);
}

/* The handler interrupts the heal of the very fd it writes: the heal holds
 * that fd (healing), so waiting for it would wait for ever. It passes straight
 * through; the signal ends the heal (the program's own timeout must work), so
 * the interrupted write takes the failure path at once. */
START_TEST(a_signal_handler_writing_the_fd_its_thread_heals_passes_through)
{
	struct scene s = stale_and_refused();
	uint64_t t0;

	hc_cfg.retries = 5; /* backoff 50 + 100 + 200 + 400 + 800 ms */
	handler_fd = s.fd;
	handler_wrote = -2;
	on_alarm(write_in_handler, 80000);
	t0 = hc_now_ns();
	assert_write_fails_with_epipe(s.fd);
	ck_assert_msg(handler_wrote != -2, "the handler never returned");
	ck_assert_msg(ms_since(t0) < 1000, "the signal did not end the heal (%llu ms)",
		      (unsigned long long)ms_since(t0));
	signal(SIGALRM, SIG_DFL);
	scene_close(&s);
}
END_TEST

struct pumper {
	int fd, server;
	volatile bool stop;
	unsigned long rounds;
};

/* Requests and replies on one managed connection, as fast as it goes. */
static void pump(struct pumper *p, unsigned ms)
{
	uint64_t t0 = hc_now_ns();
	char buf[16];
	while (ms_since(t0) < ms) {
		ck_assert_int_eq(app_write(p->fd, "PING\r\n"), 6);
		ck_assert_int_eq(read_within(p->server, buf, 6), 6);
		ck_assert_int_eq(write(p->server, "+PONG\r\n", 7), 7);
		ck_assert_int_eq(app_read_within(p->fd, buf, sizeof buf), 7);
		p->rounds++;
	}
}

static void write_b_in_handler(int sig)
{
	int saved = errno;
	(void)sig;
	raw_write(handler_fd, "x");
	errno = saved;
}

/* A handler that writes another managed socket, often, while the thread goes
 * in and out of the table's lock: a handler that came while the lock was
 * held would wait for its own thread. */
START_TEST(a_signal_handler_writing_another_socket_while_the_lock_is_held_never_deadlocks)
{
	struct scene a = scene_open(), b;
	struct pumper p = { .fd = a.fd, .server = a.server };
	struct itimerval t = { .it_interval = { 0, 100 }, .it_value = { 0, 100 } };
	struct sigaction sa;

	b = scene_listen();
	scene_connect(&b);
	/* The handler's writes must not allocate (malloc is no async-signal-safe
	 * call: see README, Limits): b is classified by a first exchange, and
	 * keeps no request for a replay. */
	exchange(b.fd, b.server);
	hc_cfg.replay_max = 0;
	handler_fd = b.fd;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = write_b_in_handler;
	sa.sa_flags = SA_RESTART;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &t, NULL), 0);
	pump(&p, 1500);
	memset(&t, 0, sizeof t);
	setitimer(ITIMER_REAL, &t, NULL);
	signal(SIGALRM, SIG_DFL);
	ck_assert_uint_gt(p.rounds, 100);
	scene_close(&b);
	scene_close(&a);
}
END_TEST

static struct sockaddr_in handler_addr;

/* Closes the fd (as the library's close wrapper would, hooks first) and
 * brings the listener back, with async-signal-safe calls only. */
static void close_in_handler(int sig)
{
	int saved = errno, one = 1, l;
	(void)sig;
	hc_forget_fd(handler_fd);
	close(handler_fd);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(l, (struct sockaddr *)&handler_addr, sizeof handler_addr) == 0)
		listen(l, 16);
	errno = saved;
}

/* A SIGTERM handler that closes its connections while its thread heals one
 * of them: the close passes straight through, and the heal must not put its
 * new socket at a number the program has closed. */
START_TEST(a_signal_handler_closing_the_fd_its_thread_heals_does_not_get_it_back)
{
	struct scene s = stale_and_refused();

	hc_cfg.retries = 3; /* the listener comes back during the backoff */
	handler_fd = s.fd;
	handler_addr = s.addr;
	on_alarm(close_in_handler, 30000);
	errno = 0;
	ck_assert_int_eq(raw_write(s.fd, "GET k\r\n"), -1);
	ck_assert(fcntl(s.fd, F_GETFD) == -1 && errno == EBADF); /* still closed: nothing installed there */
	signal(SIGALRM, SIG_DFL);
	s.fd = -1; /* closed by the handler */
	scene_close(&s);
}
END_TEST

/* ---- cancellation ------------------------------------------------------------ */

struct healer {
	int fd;
	ssize_t ret;
	int err;
	atomic_bool done;
};

static void *heal_then_wait(void *arg)
{
	struct healer *h = arg;
	h->ret = raw_write(h->fd, "GET k\r\n");
	h->err = errno;
	h->done = true;
	for (;;)
		pause(); /* a cancellation point of the program's own */
	return NULL;
}

static void join_within(pthread_t t, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	ck_assert_msg(pthread_timedjoin_np(t, NULL, &ts) == 0, "the thread did not end within %u ms", ms);
}

/* A thread cancelled in a heal's backoff: cancellation waits until the
 * library is done (its waits are no cancellation points of the program's),
 * so the heal ends and a later close of the fd returns. */
START_TEST(a_thread_cancelled_in_a_heal_leaves_the_fd_usable)
{
	struct scene s = stale_and_refused();
	struct healer h = { .fd = s.fd };
	pthread_t t;

	hc_cfg.retries = 4; /* backoff 50 + 100 + 200 + 400 ms */
	ck_assert_int_eq(pthread_create(&t, NULL, heal_then_wait, &h), 0);
	sleep_ms(120);
	ck_assert_int_eq(pthread_cancel(t), 0);
	join_within(t, 5000);
	ck_assert(h.done); /* the write came back (EPIPE) before the thread was cancelled */
	ck_assert_int_eq(h.ret, -1);
	ck_assert_int_eq(h.err, EPIPE);
	app_close(s.fd); /* would wait for ever for a heal that never ends */
	s.fd = -1;
	scene_close(&s);
}
END_TEST

/* A thread cancelled while it waits for another thread's heal of the same fd
 * must not die holding the table's lock. */
START_TEST(a_thread_cancelled_while_waiting_for_a_heal_does_not_keep_the_lock)
{
	struct scene s = stale_and_refused();
	struct healer h1 = { .fd = s.fd }, h2 = { .fd = s.fd };
	pthread_t t1, t2;

	hc_cfg.retries = 4;
	ck_assert_int_eq(pthread_create(&t1, NULL, heal_then_wait, &h1), 0);
	sleep_ms(30);
	ck_assert_int_eq(pthread_create(&t2, NULL, heal_then_wait, &h2), 0); /* waits for t1's heal */
	sleep_ms(30);
	ck_assert_int_eq(pthread_cancel(t2), 0);
	sleep_ms(30);
	ck_assert_int_eq(pthread_cancel(t1), 0);
	join_within(t1, 5000);
	join_within(t2, 5000);
	hc_table_lock(); /* free again */
	hc_table_unlock();
	app_close(s.fd);
	s.fd = -1;
	scene_close(&s);
}
END_TEST

/* ---- settings made by another thread during a heal ------------------------------- */

START_TEST(settings_made_by_another_thread_during_a_heal_reach_the_new_socket)
{
	struct scene s = stale_and_refused();
	struct sockaddr_in addr = s.addr;
	struct healer h = { .fd = s.fd };
	pthread_t t;
	int one = 1, got = 0, l;
	socklen_t len = sizeof got;

	hc_cfg.retries = 4;
	ck_assert_int_eq(pthread_create(&t, NULL, heal_then_wait, &h), 0);
	sleep_ms(60); /* the heal is in its backoff: refused at 0 and 50 ms, next at 150 */
	l = listen_at(&addr, ntohs(s.addr.sin_port), 16);
	/* Each waits for the heal: made at once, the option would reach the old
	 * socket only, and be recorded after the new one had been given the
	 * options recorded before. */
	ck_assert_int_eq(hc_setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETFL, O_NONBLOCK), 0);
	while (!h.done)
		sleep_ms(10);
	ck_assert_int_eq(h.ret, 7); /* healed */
	ck_assert_int_eq(pthread_cancel(t), 0);
	join_within(t, 5000);
	ck_assert(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(getsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &got, &len), 0);
	ck_assert_int_eq(got, 1);
	close(l);
	scene_close(&s);
}
END_TEST

/* The owner and signal of signal-driven I/O (F_SETOWN, F_SETSIG, FIOASYNC)
 * belong to the open file, which a swap replaces: they are carried over. */
START_TEST(signal_driven_io_settings_survive_a_swap)
{
	struct scene s = scene_open();
	int on = 1;

	signal(SIGRTMIN + 1, SIG_IGN); /* the I/O signal itself is not what is tested */
	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETOWN, getpid()), 0);
	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETSIG, SIGRTMIN + 1), 0);
	ck_assert_int_eq(hc_ioctl_set(s.fd, FIOASYNC, &on), 0);
	scene_serve_then_idle_out(&s);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7);
	assert_stat(reconnects, 1);
	ck_assert_int_eq(fcntl(s.fd, F_GETOWN), getpid());
	ck_assert_int_eq(fcntl(s.fd, F_GETSIG), SIGRTMIN + 1);
	ck_assert(fcntl(s.fd, F_GETFL) & O_ASYNC);
	scene_close(&s);
	signal(SIGRTMIN + 1, SIG_DFL);
}
END_TEST

/* ---- fork during a heal ------------------------------------------------------------ */

struct forker {
	int fds_before;
	int child_fds;
};

START_TEST(a_child_forked_during_a_heal_does_not_hold_the_new_socket)
{
	int filler;
	struct scene s = stale_and_unanswered(&filler);
	struct healer h = { .fd = s.fd };
	pthread_t t;
	int status, before;
	pid_t pid;

	hc_cfg.connect_timeout_ms = 800;
	hc_cfg.retries = 0;
	before = count_open_fds();
	ck_assert_int_eq(pthread_create(&t, NULL, heal_then_wait, &h), 0);
	sleep_ms(200); /* the heal's socket exists, its connect unanswered */
	pid = fork();
	if (pid == 0)
		_exit(count_open_fds() == before ? 0 : 1); /* the heal's socket would be one more */
	ck_assert_int_ge(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child inherited the socket being made");
	while (!h.done)
		sleep_ms(10);
	ck_assert_int_eq(pthread_cancel(t), 0);
	join_within(t, 5000);
	close(filler);
	scene_close(&s);
}
END_TEST

/* ---- the bounds of a heal ------------------------------------------------------------ */

/* An event loop must not stall: a non-blocking socket gets one attempt,
 * within HALFCLOSE_NONBLOCK_CONNECT_MS, then the failure path. */
START_TEST(a_nonblocking_socket_heals_within_its_own_small_budget)
{
	int filler;
	struct scene s = stale_and_unanswered(&filler);
	uint64_t t0;

	hc_cfg.connect_timeout_ms = 2000;
	hc_cfg.retries = 2;
	hc_cfg.nonblock_connect_ms = 100;
	ck_assert_int_eq(hc_fcntl_set(fcntl, s.fd, F_SETFL, O_NONBLOCK), 0);
	t0 = hc_now_ns();
	assert_write_fails_with_epipe(s.fd);
	ck_assert_msg(ms_since(t0) < 600, "a non-blocking write was held %llu ms", (unsigned long long)ms_since(t0));
	close(filler);
	scene_close(&s);
}
END_TEST

static void nothing(int sig)
{
	(void)sig;
}

/* A signal the program waits for (its own alarm) ends a heal: the write takes
 * the failure path at once, and the program's timeout works. */
START_TEST(a_signal_ends_a_heal_in_its_connect)
{
	int filler;
	struct scene s = stale_and_unanswered(&filler);
	uint64_t t0;

	hc_cfg.connect_timeout_ms = 3000;
	hc_cfg.retries = 0;
	on_alarm(nothing, 100000);
	t0 = hc_now_ns();
	assert_write_fails_with_epipe(s.fd);
	ck_assert_msg(ms_since(t0) < 1000, "the heal went on after the signal (%llu ms)",
		      (unsigned long long)ms_since(t0));
	signal(SIGALRM, SIG_DFL);
	close(filler);
	scene_close(&s);
}
END_TEST

/* ---- EPOLLONESHOT across a swap ----------------------------------------------- */

static int wait_one(int ep, int ms, uint64_t *data)
{
	struct epoll_event got;
	int n = epoll_wait(ep, &got, 1, ms);
	if (n == 1)
		*data = got.data.u64;
	return n;
}

/* A worker got the event and owns the fd until it re-arms it: a swap must
 * not re-arm it behind its back (a second worker would get an event for an
 * fd the first still owns); the worker's own MOD re-arms it on the new socket. */
START_TEST(a_fired_oneshot_registration_stays_disarmed_across_a_swap)
{
	struct scene s = scene_open();
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 7 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t data = 0;
	char buf[16];

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(hc_epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev), 0);
	ck_assert_int_eq(app_write(s.fd, "PING\r\n"), 6);
	assert_received(s.server, "PING\r\n");
	ck_assert_int_eq(write(s.server, "+PONG\r\n", 7), 7);
	ck_assert_int_eq(wait_one(ep, WAIT_MS, &data), 1); /* fired: disarmed now */
	ck_assert_uint_eq(data, 7);
	ck_assert_int_eq(app_read(s.fd, buf, sizeof buf), 7);
	server_idles_out(s.fd, s.server);
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* healed */
	assert_stat(reconnects, 1);
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	ck_assert_int_eq(write(s.fresh, "$1\r\nv\r\n", 7), 7);
	ck_assert_int_eq(wait_one(ep, 300, &data), 0); /* still the first worker's */
	ev.events = EPOLLIN | EPOLLONESHOT;
	ck_assert_int_eq(hc_epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev), 0); /* its re-arm */
	ck_assert_int_eq(wait_one(ep, WAIT_MS, &data), 1);
	ck_assert_uint_eq(data, 7);
	close(ep);
	scene_close(&s);
}
END_TEST

/* One that has not fired is carried over armed; a DEL of a left-out one works. */
START_TEST(an_armed_oneshot_registration_stays_armed_and_a_left_out_one_can_be_deleted)
{
	struct scene s = scene_open();
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 9 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t data = 0;
	char buf[16];

	ck_assert_int_eq(hc_epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev), 0);
	scene_serve_then_idle_out(&s); /* the FIN arms nothing: EPOLLIN... */
	ck_assert_int_eq(wait_one(ep, WAIT_MS, &data), 1); /* ...fires it (EOF is readable) */
	/* not read: the program has not seen the EOF, the connection is still managed */
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* healed; the registration left out */
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET k\r\n");
	ck_assert_int_eq(write(s.fresh, "+OK\r\n", 5), 5);
	ck_assert_int_eq(app_read_within(s.fd, buf, sizeof buf), 5);
	ck_assert_int_eq(hc_epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, NULL), 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, NULL), -1); /* gone for the kernel too */
	ev.data.u64 = 10;
	ck_assert_int_eq(hc_epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev), 0);
	server_idles_out(s.fd, s.fresh);
	close_early(&s.fresh);
	ck_assert_int_eq(app_write(s.fd, "GET j\r\n"), 7); /* healed again, this time armed */
	scene_accept_fresh(&s);
	assert_received(s.fresh, "GET j\r\n");
	ck_assert_int_eq(write(s.fresh, "+OK\r\n", 5), 5);
	ck_assert_int_eq(wait_one(ep, WAIT_MS, &data), 1);
	ck_assert_uint_eq(data, 10);
	close(ep);
	scene_close(&s);
}
END_TEST

Suite *reliability_suite(void)
{
	Suite *s = suite_create("reliability");
	TCase *tc = scene_tcase(s, "signals", 20);
	tcase_add_test(tc, a_signal_handler_writing_the_fd_its_thread_heals_passes_through);
	tcase_add_test(tc, a_signal_handler_writing_another_socket_while_the_lock_is_held_never_deadlocks);
	tcase_add_test(tc, a_signal_handler_closing_the_fd_its_thread_heals_does_not_get_it_back);
	tcase_add_test(tc, a_signal_ends_a_heal_in_its_connect);

	tc = scene_tcase(s, "threads and fork", 20);
	tcase_add_test(tc, a_thread_cancelled_in_a_heal_leaves_the_fd_usable);
	tcase_add_test(tc, a_thread_cancelled_while_waiting_for_a_heal_does_not_keep_the_lock);
	tcase_add_test(tc, settings_made_by_another_thread_during_a_heal_reach_the_new_socket);
	tcase_add_test(tc, signal_driven_io_settings_survive_a_swap);
	tcase_add_test(tc, a_child_forked_during_a_heal_does_not_hold_the_new_socket);
	tcase_add_test(tc, a_nonblocking_socket_heals_within_its_own_small_budget);

	tc = scene_tcase(s, "epoll", 20);
	tcase_add_test(tc, a_fired_oneshot_registration_stays_disarmed_across_a_swap);
	tcase_add_test(tc, an_armed_oneshot_registration_stays_armed_and_a_left_out_one_can_be_deleted);
	return s;
}
