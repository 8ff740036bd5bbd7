/* scene.c - the core driven as the wrappers drive it (scene.h). */
#define _GNU_SOURCE
#include "scene.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "loopback.h"
#include "table.h"

extern char **environ;

static struct hc_config saved_cfg;

/* The core is initialised from a clean environment, then each test sets the
 * few settings it is about directly in hc_cfg. */
void scene_setup(void)
{
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; *e != NULL; e++) {
			if (strncmp(*e, "HALFCLOSE_", 10) == 0) {
				char name[256];
				size_t len = strcspn(*e, "=");
				if (len >= sizeof name)
					continue;
				memcpy(name, *e, len);
				name[len] = '\0';
				unsetenv(name);
				again = 1;
				break;
			}
		}
	}
	hc_init();
	ck_assert(hc_active());
	saved_cfg = hc_cfg;
	hc_cfg.log_level = HC_LOG_OFF;
	/* Probe every boundary, swap whatever is stale: the tests of the probe
	 * path set the quiet times they are about themselves. */
	hc_cfg.min_idle_ms = 0;
	hc_cfg.probe_after_ms = 0;
	hc_stats_reset();
}

void scene_teardown(void)
{
	hc_table_lock();
	hc_table_remove_range(0, ~0u);
	hc_table_unlock();
	hc_cfg = saved_cfg;
}

TCase *scene_tcase(Suite *s, const char *name, double timeout_s)
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, scene_setup, scene_teardown);
	tcase_set_timeout(tc, timeout_s);
	suite_add_tcase(s, tc);
	return tc;
}

/* socket() as the wrappers report it. */
int app_socket(int type)
{
	int fd = socket(AF_INET, type, 0);
	ck_assert_int_ge(fd, 0);
	hc_on_socket(fd, AF_INET, type, 0);
	return fd;
}

/* A connect() that must succeed, as the wrappers report it; len as the program passes it. */
void app_connect_to(int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = connect(fd, addr, len);
	hc_on_connect(fd, addr, len, r, r == 0 ? 0 : errno);
	ck_assert_int_eq(r, 0);
}

/* socket() + connect() as the wrappers report them. */
int app_connect(const struct sockaddr_in *addr)
{
	int fd = app_socket(SOCK_STREAM);
	app_connect_to(fd, (const struct sockaddr *)addr, sizeof *addr);
	return fd;
}

/* connect() of a non-blocking socket as the wrapper reports it; r is 0 or -1 EINPROGRESS. */
int app_connect_nonblocking(int fd, const struct sockaddr_in *addr)
{
	int r = connect(fd, (const struct sockaddr *)addr, sizeof *addr);
	int e = errno;
	hc_on_connect(fd, (const struct sockaddr *)addr, sizeof *addr, r, r == 0 ? 0 : e);
	ck_assert_msg(r == 0 || e == EINPROGRESS, "non-blocking connect: %s", strerror(e));
	return r;
}

/* hc_before_write as the wrappers call it: errno kept. */
enum hc_write_action before_write_to(int fd, struct hc_write *w)
{
	errno = SENTINEL_ERRNO;
	enum hc_write_action act = hc_before_write(fd, w);
	ck_assert_msg(errno == SENTINEL_ERRNO, "hc_before_write changed errno to %d", errno);
	ck_assert_int_eq(act, w->act);
	return act;
}

/* The same, for a write that is never made. */
enum hc_write_action before_write(int fd)
{
	struct hc_write w;
	return before_write_to(fd, &w);
}

/* writev() as the wrapper does it: -1 EPIPE without sending when told to
 * fail; the iovecs handed to the core only after the kernel took them. */
ssize_t app_writev(int fd, const struct iovec *iov, int cnt)
{
	struct hc_write w;
	if (before_write_to(fd, &w) == HC_WRITE_FAIL) {
		errno = EPIPE;
		return -1;
	}
	ssize_t r = writev(fd, iov, cnt);
	int e = errno;
	hc_after_write(fd, &w, iov, cnt > 0 ? (size_t)cnt : 0, r);
	ck_assert_int_eq(errno, e);
	return r;
}

/* write() as the wrapper does it. */
ssize_t app_send(int fd, const void *s, size_t n)
{
	struct iovec v = { (void *)s, n };
	return app_writev(fd, &v, 1);
}

ssize_t app_write(int fd, const char *s)
{
	return app_send(fd, s, strlen(s));
}

/* read() as the wrapper makes it: again after a replay. */
ssize_t app_read(int fd, char *buf, size_t n)
{
	enum hc_read_action act;
	ssize_t r;
	int e;

	struct iovec v = { buf, n };

	hc_read_begin(fd);
	do {
		r = read(fd, buf, n);
		e = errno;
		act = hc_after_read(fd, &v, 1, 0, r);
		ck_assert_int_eq(errno, e);
	} while (act == HC_READ_AGAIN);
	hc_read_end(fd);
	errno = e;
	return r;
}

/* app_read once fd is readable (failing the test if it is not within WAIT_MS). */
ssize_t app_read_within(int fd, char *buf, size_t n)
{
	ck_assert(wait_for_events(fd, POLLIN) & POLLIN);
	return app_read(fd, buf, n);
}

void app_close(int fd)
{
	hc_forget_fd(fd);
	close(fd);
}

void assert_write_fails_with_epipe(int fd)
{
	errno = 0;
	ck_assert_int_eq(app_write(fd, "GET k\r\n"), -1);
	ck_assert_int_eq(errno, EPIPE);
}

/* One request/response exchange on a live connection. */
void exchange(int fd, int server)
{
	char buf[16];
	ck_assert_int_eq(app_write(fd, "PING\r\n"), 6);
	ck_assert_int_eq(read_within(server, buf, sizeof buf), 6);
	ck_assert_int_eq(write(server, "+PONG\r\n", 7), 7);
	ck_assert_int_eq(app_read_within(fd, buf, sizeof buf), 7);
}

/* The server's idle timer fires: it half-closes; the client's kernel sees the FIN. */
void server_idles_out(int fd, int server)
{
	ck_assert_int_eq(shutdown(server, SHUT_WR), 0);
	ck_assert(wait_for_events(fd, POLLRDHUP) & POLLRDHUP);
}

bool listener_has_a_connection(int listener)
{
	struct pollfd p = { .fd = listener, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

unsigned long stat_of(atomic_ulong *f)
{
	return atomic_load(f);
}




void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}



/* The listener alone: the test makes the application's connection its own way. */
struct scene scene_listen(void)
{
	struct scene s = { .fd = -1, .server = -1, .fresh = -1 };
	s.listener = listen_loopback(&s.addr);
	return s;
}

/* The application connects (socket + connect, through the hooks) and the server accepts. */
void scene_connect(struct scene *s)
{
	s->fd = app_connect(&s->addr);
	s->server = accept_within(s->listener);
}

struct scene scene_open(void)
{
	struct scene s = scene_listen();
	scene_connect(&s);
	return s;
}

/* A request is served, then the server's idle timer fires. */
void scene_serve_then_idle_out(struct scene *s)
{
	exchange(s->fd, s->server);
	server_idles_out(s->fd, s->server);
}

struct scene scene_stale_in_active_use(void)
{
	hc_cfg.min_idle_ms = 60000;
	struct scene s = scene_open();
	scene_serve_then_idle_out(&s);
	return s;
}

/* The same, but the server says goodbye ("-ERR idle\r\n", 11 bytes) before it half-closes. */
void scene_serve_then_say_goodbye(struct scene *s)
{
	exchange(s->fd, s->server);
	ck_assert_int_eq(write(s->server, "-ERR idle\r\n", 11), 11);
	server_idles_out(s->fd, s->server);
}

/* The listener's next connection: where the healed fd now writes. */
void scene_accept_fresh(struct scene *s)
{
	s->fresh = accept_within(s->listener);
}

/* Closes the connections that are open; the listener stays. */
void scene_hang_up(struct scene *s)
{
	close_early(&s->fresh);
	close_early(&s->server);
	if (s->fd >= 0)
		app_close(s->fd);
	s->fd = -1;
}

void scene_close(struct scene *s)
{
	scene_hang_up(s);
	close_early(&s->listener);
}

