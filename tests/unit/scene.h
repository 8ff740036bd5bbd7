/* scene.h - the core driven as the wrappers drive it, on real loopback
 * connections: the application's calls (app_*), a listener playing the server,
 * and the fixture every conn-level suite runs under. */
#ifndef HC_TEST_SCENE_H
#define HC_TEST_SCENE_H

#include <check.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "conn.h"
#include "log.h"

#define SENTINEL_ERRNO 4242

/* The counter hc_stats.name is want. */
#define assert_stat(name, want) ck_assert_uint_eq(stat_of(&hc_stats.name), want)

/* A TLS handshake record: its header (type 0x16, version 0x0301, length 5), then 5 bytes. */
static const char tls_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };

/* What most tests start from: a listener (the server process), the application's
 * connection to it at fd, and the server's end of that connection; fresh is
 * the connection a heal opens to the listener, once accepted. -1: not open. */
struct scene {
	struct sockaddr_in addr; /* the listener's */
	int listener, fd, server, fresh;
};

/* The core is initialised from a clean environment, then each test sets the
 * few settings it is about directly in hc_cfg. */
void scene_setup(void);

void scene_teardown(void);

/* A test case named name added to suite s, every test under scene_setup and
 * scene_teardown and bounded to timeout_s seconds; returns it for its tests. */
TCase *scene_tcase(Suite *s, const char *name, double timeout_s);

/* socket() as the wrappers report it. */
int app_socket(int type);

/* A connect() that must succeed, as the wrappers report it; len as the program passes it. */
void app_connect_to(int fd, const struct sockaddr *addr, socklen_t len);

/* socket() + connect() as the wrappers report them. */
int app_connect(const struct sockaddr_in *addr);

/* connect() of a non-blocking socket as the wrapper reports it; r is 0 or -1 EINPROGRESS. */
int app_connect_nonblocking(int fd, const struct sockaddr_in *addr);

/* hc_before_write as the wrappers call it: errno kept. */
enum hc_write_action before_write_to(int fd, struct hc_write *w);

/* The same, for a write that is never made. */
enum hc_write_action before_write(int fd);

/* writev() as the wrapper does it: -1 EPIPE without sending when told to
 * fail; the iovecs handed to the core only after the kernel took them. */
ssize_t app_writev(int fd, const struct iovec *iov, int cnt);

/* write() as the wrapper does it. */
ssize_t app_send(int fd, const void *s, size_t n);

ssize_t app_write(int fd, const char *s);

/* read() as the wrapper makes it: again after a replay. */
ssize_t app_read(int fd, char *buf, size_t n);

/* app_read once fd is readable (failing the test if it is not within WAIT_MS). */
ssize_t app_read_within(int fd, char *buf, size_t n);

void app_close(int fd);

/* The program's request ("GET k\r\n") on fd fails with EPIPE: the failure path. */
void assert_write_fails_with_epipe(int fd);

/* One request/response exchange on a live connection. */
void exchange(int fd, int server);

/* The server's idle timer fires: it half-closes; the client's kernel sees the FIN. */
void server_idles_out(int fd, int server);

bool listener_has_a_connection(int listener);

unsigned long stat_of(atomic_ulong *f);

/* fd is left unmanaged, and it is the one connection counted under
 * hc_stats.counter (passthrough, tls_skipped, stateful_skipped, ...). */
#define assert_left_alone(fd, counter)         \
	do {                                   \
		ck_assert(!hc_fd_managed(fd)); \
		assert_stat(counter, 1);       \
	} while (0)

void sleep_ms(long ms);

/* The listener alone: the test makes the application's connection its own way. */
struct scene scene_listen(void);

/* The application connects (socket + connect, through the hooks) and the server accepts. */
void scene_connect(struct scene *s);

struct scene scene_open(void);

/* A request is served, then the server's idle timer fires. */
void scene_serve_then_idle_out(struct scene *s);

/* A scene whose server idled out a connection that was in active use:
 * MIN_IDLE (a minute) not reached, so it is stale but may not be swapped. */
struct scene scene_stale_in_active_use(void);

/* The same, but the server says goodbye ("-ERR idle\r\n", 11 bytes) before it half-closes. */
void scene_serve_then_say_goodbye(struct scene *s);

/* The listener's next connection: where the healed fd now writes. */
void scene_accept_fresh(struct scene *s);

/* Closes the connections that are open; the listener stays. */
void scene_hang_up(struct scene *s);

void scene_close(struct scene *s);

#endif
