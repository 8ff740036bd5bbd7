/* conn.c - the library's books from the calls that make and change a
 * socket: socket, connect, bind, options and settings, shutdown, close, dup,
 * epoll_ctl; and the library's start (configuration, fork handlers). What a
 * write and a read mean is conn_io.c's. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "page.h"
#include "real.h"
#include "reconnect.h"
#include "table.h"

extern char **environ;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool active; /* written once under init_once */

static void atfork_prepare(void)
{
	hc_real_bind(); /* no dlsym in a child of a threaded program */
	hc_table_atfork_prepare();
	hc_reconnect_atfork_prepare();
}

static void atfork_parent(void)
{
	hc_reconnect_atfork_parent();
	hc_table_atfork_parent();
}

static void atfork_child(void)
{
	hc_reconnect_atfork_child();
	hc_table_atfork_child(); /* closes the sockets of heals under way in other threads */
	hc_live_fork_child(); /* the child's stats line (and page) count the child's work */
}

static void write_stats_at_exit(void)
{
	hc_stats_write(hc_cfg.stats_file);
}

static void init_once_fn(void)
{
	char err[512];
	char *empty[] = { NULL };
	/* Secure execution (setuid and the like): the environment is not ours to trust. */
	char *const *env = getauxval(AT_SECURE) ? empty : environ;

	if (hc_config_parse(&hc_cfg, env, err, sizeof(err)) != 0) {
		hc_log_stderr("%s; halfclose is passing everything through", err);
		hc_config_defaults(&hc_cfg);
		hc_cfg.disabled = true;
		return;
	}
	hc_log_check_paths(&hc_cfg);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	hc_live_init();
	if (hc_cfg.stats_file[0] != '\0')
		atexit(write_stats_at_exit);
	active = !hc_cfg.disabled;
}

void hc_init(void)
{
	int saved = errno;
	pthread_once(&init_once, init_once_fn);
	errno = saved;
}

bool hc_active(void)
{
	hc_init();
	return active;
}

void hc_on_socket(int fd, int domain, int type, int protocol)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (hc_reentered())
		return; /* from a signal handler: straight through */

	/* TCP (and MPTCP, which falls back to it); not SCTP's one-to-one sockets. */
	if ((domain != AF_INET && domain != AF_INET6) || (type & 0xf) != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP && protocol != IPPROTO_MPTCP) || !hc_active()) {
		hc_forget_fd(fd); /* not ours, but the number may be known from an unseen close */
		return;
	}
	hc_table_enter(fd, &saved);
	hc_live_ensure(); /* the first TCP socket: the process's page, if it keeps one */
	c = hc_table_add(fd); /* replaces what a close we never saw left behind */
	if (c != NULL) {
		c->domain = domain;
		c->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
		c->protocol = protocol;
	}
	hc_table_leave(&saved);
}

/* Records what a successful setsockopt on c set. Caller holds the lock. */
static void note_option(struct hc_conn *c, int level, int name, const void *val, socklen_t len)
{
	if (c->state == HC_CONN_UNMANAGED)
		return;
	if (hc_option_holds_a_reference(level, name) || hc_conn_record_option(c, level, name, val, len) != 0)
		c->unreplayable = true;
	/* Before connect, note_connect counts it; after, stop now. */
	if (c->unreplayable && c->state != HC_CONN_UNCONNECTED)
		hc_conn_give_up(c);
}

int hc_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct hc_guard saved;
	struct hc_conn *c;
	int ret;

	if (hc_reentered())
		return HC_REAL(setsockopt)(fd, level, name, val, len);
	c = hc_table_enter(fd, &saved);
	ret = HC_REAL(setsockopt)(fd, level, name, val, len);
	if (ret != 0)
		saved.err = errno;
	else if (c != NULL)
		note_option(c, level, name, val, len);
	hc_table_leave(&saved);
	return ret;
}

int hc_fcntl_set(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	struct hc_guard saved;
	int ret;

	if (hc_reentered())
		return real(fd, cmd, arg);
	hc_table_enter(fd, &saved); /* waits out a heal of fd: the new socket gets what this sets */
	ret = real(fd, cmd, arg);
	if (ret < 0)
		saved.err = errno;
	hc_table_leave(&saved);
	return ret;
}

int hc_ioctl_set(int fd, unsigned long req, void *arg)
{
	struct hc_guard saved;
	int ret;

	if (hc_reentered())
		return HC_REAL(ioctl)(fd, req, arg);
	hc_table_enter(fd, &saved);
	ret = HC_REAL(ioctl)(fd, req, arg);
	if (ret < 0)
		saved.err = errno;
	hc_table_leave(&saved);
	return ret;
}

/* The entry of fd, a number the table knows, with the table entered (*c NULL
 * if it has none); false, with nothing entered, for a number the table does
 * not know or a call from a signal handler inside the library (straight
 * through). */
static bool enter_known(int fd, struct hc_guard *saved, struct hc_conn **c)
{
	if (!hc_fd_known(fd) || hc_reentered())
		return false;
	*c = hc_table_enter(fd, saved);
	return true;
}

void hc_on_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (sa == NULL || !enter_known(fd, &saved, &c))
		return;
	if (c != NULL) {
		c->bind_len = hc_inet_len(sa, len);
		if (c->bind_len == 0)
			c->unreplayable = true;
		else
			memcpy(&c->bound, sa, c->bind_len);
		/* A fixed local port cannot be bound again while the old connection
		 * holds it: such a socket could never be healed, so leave it alone. */
		if (c->bind_len > 0 && c->bound.in.sin_port != 0) /* sin_port and sin6_port share their offset */
			c->unreplayable = true;
	}
	hc_table_leave(&saved);
}

/* Records what a connect() on c meant. Caller holds the lock. */
static void note_connect(struct hc_conn *c, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	socklen_t alen;

	if (c->state == HC_CONN_UNMANAGED)
		return;
	if (ret != 0 && err != EINPROGRESS && err != EISCONN) {
		/* Failed, perhaps on a bad address (EFAULT): sa is not ours to read. */
		if (c->state == HC_CONN_CONNECTING && err != EALREADY)
			hc_conn_set_state(c, HC_CONN_UNCONNECTED);
		return;
	}
	if (len < sizeof(sa_family_t))
		return;
	if (sa->sa_family == AF_UNSPEC) {
		/* Dissolves the association: a later connect starts afresh. */
		if (ret == 0 && c->state != HC_CONN_UNCONNECTED)
			hc_conn_set_state(c, HC_CONN_UNCONNECTED);
		return;
	}
	if (c->state == HC_CONN_CONNECTING) {
		/* A second connect() on a non-blocking socket reports the outcome. */
		if (ret == 0 || err == EISCONN)
			hc_conn_manage(c);
		return;
	}
	if (c->state != HC_CONN_UNCONNECTED || err == EISCONN)
		return;
	alen = hc_inet_len(sa, len);
	if (alen == 0) {
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return;
	}
	if (c->unreplayable || !hc_config_manages(&hc_cfg, sa)) {
		HC_COUNT(passthrough);
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return;
	}
	memcpy(&c->peer, sa, alen);
	c->peer_len = alen;
	c->ino = hc_socket_inode(c->fd);
	c->wrote = false;
	c->read_since_write = false;
	c->ever_read = false;
	c->proto = HC_PROTO_NONE; /* a new association is another conversation */
	c->counted = false; /* a new association, after AF_UNSPEC, is another connection */
	c->last_io_ns = hc_now_ns();
	if (ret == 0)
		hc_conn_manage(c);
	else
		hc_conn_set_state(c, HC_CONN_CONNECTING);
}

void hc_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (sa == NULL || !enter_known(fd, &saved, &c))
		return;
	if (c != NULL)
		note_connect(c, sa, len, ret, err);
	hc_table_leave(&saved);
}

int hc_shutdown(int fd, int how)
{
	struct hc_guard saved;
	struct hc_conn *c;
	int ret;

	if (hc_reentered())
		return HC_REAL(shutdown)(fd, how);
	c = hc_table_enter(fd, &saved);
	ret = HC_REAL(shutdown)(fd, how);
	if (ret != 0)
		saved.err = errno;
	else if (c != NULL)
		/* The program is ending the connection itself: never resurrect it. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	hc_table_leave(&saved);
	return ret;
}

void hc_forget_fd(int fd)
{
	struct hc_guard saved;

	if (!hc_fd_known(fd) && !hc_fd_epoll(fd))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	hc_table_enter(fd, &saved);
	hc_table_forget_fd(fd);
	hc_table_leave(&saved);
}

int hc_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct hc_guard saved;
	int ret;
	struct hc_conn *c;

	if (hc_reentered())
		return HC_REAL(epoll_ctl)(epfd, op, fd, ev);
	c = hc_table_enter(fd, &saved);

	/* The call and its record together, under the lock: a swap in another
	 * thread must not re-add a registration from a record this call changes. */
	ret = HC_REAL(epoll_ctl)(epfd, op, fd, ev);
	if (ret != 0 && errno == ENOENT && c != NULL && (op == EPOLL_CTL_MOD || op == EPOLL_CTL_DEL) &&
	    hc_conn_epoll_left_out(c, epfd)) {
		/* A fired EPOLLONESHOT registration a swap left out (reconnect.c):
		 * the program re-arms it (its MOD is the ADD) or drops it. */
		ret = op == EPOLL_CTL_MOD ? HC_REAL(epoll_ctl)(epfd, EPOLL_CTL_ADD, fd, ev) : 0;
	}
	if (ret != 0) {
		saved.err = errno;
	} else if (c != NULL && c->state != HC_CONN_UNMANAGED && hc_conn_record_epoll(c, epfd, op, ev) != 0) {
		/* A registration we could not carry over would be lost by a swap:
		 * the event loop would wait forever. Such a socket is never swapped. */
		c->unreplayable = true;
		if (c->state != HC_CONN_UNCONNECTED)
			hc_conn_give_up(c);
	}
	hc_table_leave(&saved);
	return ret;
}

void hc_before_replace(int fd)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (enter_known(fd, &saved, &c)) /* waits out a heal of fd */
		hc_table_leave(&saved);
}

void hc_on_close_range(unsigned first, unsigned last)
{
	struct hc_guard saved;

	if (!hc_table_any_known(first, last))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	hc_table_enter(-1, &saved);
	hc_table_wait_no_healing(); /* a heal must not install into a number closed under it */
	hc_table_remove_range(first, last);
	hc_table_leave(&saved);
}

void hc_on_dup(int oldfd, int newfd)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (hc_reentered())
		return; /* from a signal handler: straight through */

	if (newfd == oldfd || (!hc_fd_known(oldfd) && !hc_fd_known(newfd) && !hc_fd_epoll(newfd)))
		return;
	c = hc_table_enter(oldfd, &saved);
	/* Two fds now share one socket; swapping one would leave the other on the
	 * dead connection, so neither is touched again. */
	if (c != NULL)
		hc_conn_give_up(c);
	hc_table_forget_fd(newfd); /* whatever newfd was, it was closed */
	hc_table_leave(&saved);
}

