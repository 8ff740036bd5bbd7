/* test_tracking.c - which sockets the core tracks, how it forgets an fd
 * (close, close_range, a close it never saw), and errno across every hook. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "loopback.h"
#include "scene.h"
#include "suites.h"
#include "table.h"

/* ---- what is tracked ---------------------------------------------- */

/* socket() as the wrappers report it, for a socket the core must not track. */
static void assert_not_tracked(int fd, int domain, int type, int protocol)
{
	hc_on_socket(fd, domain, type, protocol);
	ck_assert(!hc_fd_known(fd));
}

START_TEST(udp_and_unix_sockets_are_not_tracked)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(u, 0);
	assert_not_tracked(u, AF_INET, SOCK_DGRAM, 0);
	int x = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(x, 0);
	assert_not_tracked(x, AF_UNIX, SOCK_STREAM, 0);
	close(u);
	close(x);
}
END_TEST

START_TEST(sctp_sockets_are_not_tracked)
{
	/* SCTP's one-to-one style is SOCK_STREAM too; a TCP socket stands in where
	 * the kernel has no SCTP: the hook only sees the arguments. */
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	if (fd < 0)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	assert_not_tracked(fd, AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	assert_not_tracked(fd, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	close(fd);
}
END_TEST

START_TEST(tcp_and_mptcp_protocol_sockets_are_tracked)
{
	static const int protocols[] = { 0, IPPROTO_TCP, IPPROTO_MPTCP };
	for (size_t k = 0; k < sizeof protocols / sizeof protocols[0]; k++) {
		/* MPTCP may be disabled in this kernel: the hook only sees the arguments. */
		int fd = socket(AF_INET, SOCK_STREAM, protocols[k]);
		if (fd < 0)
			fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		hc_on_socket(fd, AF_INET, SOCK_STREAM, protocols[k]);
		ck_assert_msg(hc_fd_known(fd), "protocol %d", protocols[k]);
		app_close(fd);
	}
}
END_TEST

START_TEST(failed_connect_with_a_bad_address_is_not_read)
{
	int fd = app_socket(SOCK_STREAM);
	/* The kernel said EFAULT: the hook must not touch the address (or crash). */
	errno = SENTINEL_ERRNO;
	hc_on_connect(fd, (const struct sockaddr *)(uintptr_t)16, sizeof(struct sockaddr_in), -1, EFAULT);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	hc_on_connect(fd, (const struct sockaddr *)(uintptr_t)16, 0, -1, EINVAL);
	ck_assert(!hc_fd_managed(fd));
	assert_stat(managed, 0);
	app_close(fd);
}
END_TEST

START_TEST(refused_nonblocking_connect_is_not_counted_as_managed)
{
	struct sockaddr_in addr;
	close(listen_loopback(&addr)); /* nobody listens there any more */
	int fd = app_socket(SOCK_STREAM | SOCK_NONBLOCK);
	int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	int e = errno;
	hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, r, r == 0 ? 0 : e);
	ck_assert_int_eq(r, -1);
	ck_assert_msg(e == EINPROGRESS, "connect: %s (the in-progress path is the point)", strerror(e));
	assert_stat(managed, 0);
	ck_assert(wait_for_events(fd, POLLOUT) & (POLLOUT | POLLERR | POLLHUP));
	/* The program asks again, as non-blocking clients do, and hears the outcome. */
	r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	e = errno;
	hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, r, r == 0 ? 0 : e);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(e, ECONNREFUSED);
	ck_assert(!hc_fd_managed(fd));
	assert_stat(managed, 0);
	app_close(fd);
}
END_TEST

/* ---- forgetting an fd --------------------------------------------- */

START_TEST(close_and_close_range_forget_the_fd)
{
	struct scene s = scene_listen();
	int a = app_connect(&s.addr), b = app_connect(&s.addr);
	ck_assert(hc_fd_known(a) && hc_fd_known(b));
	hc_forget_fd(a);
	ck_assert(!hc_fd_known(a));
	hc_on_close_range((unsigned)b, (unsigned)b);
	ck_assert(!hc_fd_known(b));
	close(a);
	close(b);
	scene_close(&s);
}
END_TEST

START_TEST(fd_created_by_accept_forgets_what_an_unseen_close_left)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int client = connect_to(&addr); /* first in the accept queue */
	int fd = app_connect(&addr);    /* managed, then closed without a hook */
	ck_assert(hc_fd_managed(fd));
	ck_assert_int_eq(syscall(SYS_close, fd), 0);

	int s = accept_within(l); /* client's connection, at the lowest free number */
	ck_assert_int_eq(s, fd);
	hc_forget_fd(s);
	ck_assert(!hc_fd_known(s));
	ck_assert(!hc_fd_managed(s));
	close(s);
	close(client);
	close(l); /* drops the unaccepted connection of the closed fd */
}
END_TEST

START_TEST(udp_socket_at_a_number_an_unseen_close_left_forgets_it)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int fd = app_connect(&addr); /* managed, then closed without a hook */
	ck_assert_int_eq(syscall(SYS_close, fd), 0);

	int u = socket(AF_INET, SOCK_DGRAM, 0); /* the lowest free number again */
	ck_assert_int_eq(u, fd);
	assert_not_tracked(u, AF_INET, SOCK_DGRAM, 0);
	close(u);
	close(l);
}
END_TEST

START_TEST(dead_fd_number_reused_behind_our_back_is_not_failed)
{
	struct scene s = scene_stale_in_active_use();
	assert_write_fails_with_epipe(s.fd); /* DEAD: stale within MIN_IDLE */

	/* A close no hook sees (glibc-internal, a raw system call), then the lowest
	 * free number goes to something else entirely. */
	ck_assert_int_eq(syscall(SYS_close, s.fd), 0);
	int reused = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_eq(reused, s.fd);
	ck_assert_int_eq(before_write(s.fd), HC_WRITE_PROCEED);
	ck_assert(!hc_fd_managed(s.fd));
	ck_assert_int_eq(app_write(s.fd, "GET k\r\n"), 7); /* /dev/null takes it */
	scene_close(&s);
}
END_TEST

/* ---- errno -------------------------------------------------------- */

START_TEST(every_hook_preserves_errno)
{
	struct sockaddr_in addr;
	int l = listen_loopback(&addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	int one = 1;
#define KEEPS_ERRNO(call)                                                                              \
	do {                                                                                           \
		errno = SENTINEL_ERRNO;                                                                \
		call;                                                                                  \
		ck_assert_msg(errno == SENTINEL_ERRNO, #call " changed errno to %d (%s)", errno,       \
			      strerror(errno));                                                        \
	} while (0)
	KEEPS_ERRNO(hc_init());
	KEEPS_ERRNO(hc_on_socket(fd, AF_INET, SOCK_STREAM, 0));
	KEEPS_ERRNO(hc_setsockopt(fd, IPPROTO_TCP, 1, &one, sizeof one));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	KEEPS_ERRNO(hc_on_connect(fd, (struct sockaddr *)&addr, sizeof addr, 0, 0));
	KEEPS_ERRNO(hc_fcntl_set(fcntl, fd, F_SETFL, O_RDWR));
	struct iovec x = { "x", 1 };
	struct hc_write w;
	KEEPS_ERRNO(hc_before_write(fd, &w));
	w.act = HC_WRITE_RECORD;
	KEEPS_ERRNO(hc_after_write(fd, &w, &x, 1, 1));
	KEEPS_ERRNO(hc_after_read(fd, &x, 1, 0, 1));
	KEEPS_ERRNO(hc_on_dup(fd, 1000));
	KEEPS_ERRNO(hc_shutdown(fd, SHUT_RDWR));
	KEEPS_ERRNO(hc_on_close_range(2000, 3000));
	KEEPS_ERRNO(hc_forget_fd(fd));
	KEEPS_ERRNO(hc_now_ns());
#undef KEEPS_ERRNO
	int server = accept_within(l);
	close(server);
	close(fd);
	close(l);
}
END_TEST

Suite *tracking_suite(void)
{
	Suite *s = suite_create("tracking");

	TCase *tc = scene_tcase(s, "tracked", 30);
	tcase_add_test(tc, udp_and_unix_sockets_are_not_tracked);
	tcase_add_test(tc, sctp_sockets_are_not_tracked);
	tcase_add_test(tc, tcp_and_mptcp_protocol_sockets_are_tracked);
	tcase_add_test(tc, failed_connect_with_a_bad_address_is_not_read);
	tcase_add_test(tc, refused_nonblocking_connect_is_not_counted_as_managed);

	tc = scene_tcase(s, "forgotten", 30);
	tcase_add_test(tc, close_and_close_range_forget_the_fd);
	tcase_add_test(tc, fd_created_by_accept_forgets_what_an_unseen_close_left);
	tcase_add_test(tc, udp_socket_at_a_number_an_unseen_close_left_forgets_it);
	tcase_add_test(tc, dead_fd_number_reused_behind_our_back_is_not_failed);

	tc = scene_tcase(s, "errno", 30);
	tcase_add_test(tc, every_hook_preserves_errno);
	return s;
}
