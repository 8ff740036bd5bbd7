/* conn.c - what the wrapped calls mean for a connection, and the decision at a
 * write: is it a request boundary, is the connection stale, may we heal it. */
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

#include "config.h"
#include "log.h"
#include "clock.h"
#include "page.h"
#include "probe.h"
#include "real.h"
#include "rebuild.h"
#include "reconnect.h"
#include "replay.h"
#include "session.h"
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

/* What conn_lock keeps for conn_unlock to put back: errno, and the
 * thread's cancellation state. */
struct hc_guard {
	int err;
	int cancel;
};

/* Takes the table lock and returns fd's entry or NULL. From here to
 * conn_unlock this thread is inside the library (a signal handler's wrapped
 * calls pass straight through: they must never wait for a lock or a heal
 * this very thread holds) and cannot be cancelled: the library's own waits
 * (a connect, a backoff, another thread's heal) are no cancellation points of
 * the program's, and a thread cancelled in one would leave the table locked
 * or an entry healing for ever. A cancellation asked for meanwhile happens at
 * the program's next cancellation point, its real call included. */
static struct hc_conn *conn_lock(int fd, struct hc_guard *g)
{
	g->err = errno;
	hc_busy = true; /* first: a handler that interrupts the lock's wait passes through */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &g->cancel);
	hc_table_lock();
	return hc_table_find_settled(fd);
}

/* Releases the lock conn_lock took and restores errno and cancellation. */
static void conn_unlock(const struct hc_guard *g)
{
	hc_table_unlock();
	pthread_setcancelstate(g->cancel, NULL);
	hc_busy = false;
	errno = g->err;
}

/* True if the open file at fd is non-blocking (an event loop's socket). */
static bool fd_nonblocking(int fd)
{
	int fl = HC_REAL(fcntl)(fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* Moves c to MANAGED, counting it the first time. */
static void become_managed(struct hc_conn *c)
{
	hc_conn_set_state(c, HC_CONN_MANAGED);
	if (!c->counted) {
		c->counted = true;
		HC_COUNT(managed);
	}
}

/* Stops managing c for good; counts it as passed through if it was managed. */
static void give_up(struct hc_conn *c)
{
	if (c->state == HC_CONN_MANAGED || c->state == HC_CONN_CONNECTING)
		HC_COUNT(passthrough);
	hc_conn_set_state(c, HC_CONN_UNMANAGED);
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
		hc_on_fd_created(fd); /* not ours, but the number may be known from an unseen close */
		return;
	}
	conn_lock(fd, &saved);
	hc_live_ensure(); /* the first TCP socket: the process's page, if it keeps one */
	c = hc_table_add(fd); /* replaces what a close we never saw left behind */
	if (c != NULL) {
		c->domain = domain;
		c->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
		c->protocol = protocol;
	}
	conn_unlock(&saved);
}

void hc_on_fd_created(int fd)
{
	struct hc_guard saved;

	if (!hc_fd_known(fd) && !hc_fd_epoll(fd))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	conn_lock(fd, &saved);
	hc_table_forget_fd(fd); /* left behind by a close we never saw */
	conn_unlock(&saved);
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
		give_up(c);
}

int hc_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct hc_guard saved;
	struct hc_conn *c;
	int ret;

	if (hc_reentered())
		return HC_REAL(setsockopt)(fd, level, name, val, len);
	c = conn_lock(fd, &saved);
	ret = HC_REAL(setsockopt)(fd, level, name, val, len);
	if (ret != 0)
		saved.err = errno;
	else if (c != NULL)
		note_option(c, level, name, val, len);
	conn_unlock(&saved);
	return ret;
}

int hc_fcntl_set(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	struct hc_guard saved;
	int ret;

	if (hc_reentered())
		return real(fd, cmd, arg);
	conn_lock(fd, &saved); /* waits out a heal of fd: the new socket gets what this sets */
	ret = real(fd, cmd, arg);
	if (ret < 0)
		saved.err = errno;
	conn_unlock(&saved);
	return ret;
}

int hc_ioctl_set(int fd, unsigned long req, void *arg)
{
	struct hc_guard saved;
	int ret;

	if (hc_reentered())
		return HC_REAL(ioctl)(fd, req, arg);
	conn_lock(fd, &saved);
	ret = HC_REAL(ioctl)(fd, req, arg);
	if (ret < 0)
		saved.err = errno;
	conn_unlock(&saved);
	return ret;
}

void hc_on_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd) || sa == NULL)
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	c = conn_lock(fd, &saved);
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
	conn_unlock(&saved);
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
			become_managed(c);
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
		become_managed(c);
	else
		hc_conn_set_state(c, HC_CONN_CONNECTING);
}

void hc_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd) || sa == NULL)
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	c = conn_lock(fd, &saved);
	if (c != NULL)
		note_connect(c, sa, len, ret, err);
	conn_unlock(&saved);
}

int hc_shutdown(int fd, int how)
{
	struct hc_guard saved;
	struct hc_conn *c;
	int ret;

	if (hc_reentered())
		return HC_REAL(shutdown)(fd, how);
	c = conn_lock(fd, &saved);
	ret = HC_REAL(shutdown)(fd, how);
	if (ret != 0)
		saved.err = errno;
	else if (c != NULL)
		/* The program is ending the connection itself: never resurrect it. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	conn_unlock(&saved);
	return ret;
}

void hc_on_close(int fd)
{
	struct hc_guard saved;

	if (!hc_fd_known(fd) && !hc_fd_epoll(fd))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	conn_lock(fd, &saved);
	hc_table_forget_fd(fd);
	conn_unlock(&saved);
}

int hc_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct hc_guard saved;
	int ret;
	struct hc_conn *c;

	if (hc_reentered())
		return HC_REAL(epoll_ctl)(epfd, op, fd, ev);
	c = conn_lock(fd, &saved);

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
			give_up(c);
	}
	conn_unlock(&saved);
	return ret;
}

void hc_before_replace(int fd)
{
	struct hc_guard saved;

	if (!hc_fd_known(fd))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	conn_lock(fd, &saved); /* waits out a heal of fd */
	conn_unlock(&saved);
}

void hc_on_close_range(unsigned first, unsigned last)
{
	struct hc_guard saved;

	if (!hc_table_any_known(first, last))
		return;
	if (hc_reentered())
		return; /* from a signal handler: straight through */
	conn_lock(-1, &saved);
	hc_table_wait_no_healing(); /* a heal must not install into a number closed under it */
	hc_table_remove_range(first, last);
	conn_unlock(&saved);
}

void hc_on_dup(int oldfd, int newfd)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (hc_reentered())
		return; /* from a signal handler: straight through */

	if (newfd == oldfd || (!hc_fd_known(oldfd) && !hc_fd_known(newfd) && !hc_fd_epoll(newfd)))
		return;
	c = conn_lock(oldfd, &saved);
	/* Two fds now share one socket; swapping one would leave the other on the
	 * dead connection, so neither is touched again. */
	if (c != NULL)
		give_up(c);
	hc_table_forget_fd(newfd); /* whatever newfd was, it was closed */
	conn_unlock(&saved);
}

/* The connect of a non-blocking socket has finished well. One syscall, once. */
static bool connect_done(int fd)
{
	union hc_sockaddr peer;
	socklen_t len = sizeof(peer);
	return getpeername(fd, &peer.sa, &len) == 0;
}

/* Leaves c alone for good because of what it carries (l, why: for the
 * counters and the log): from now on it is the program's, exactly as
 * without the library. Caller holds the lock. */
static void leave(struct hc_conn *c, enum hc_leave l, const char *why)
{
	char addr[64];

	switch (l) {
	case HC_LEAVE_NONE:
		return;
	case HC_LEAVE_TLS:
		HC_COUNT(tls_skipped);
		break;
	case HC_LEAVE_STATEFUL:
		HC_COUNT(stateful_skipped);
		break;
	case HC_LEAVE_UNKNOWN:
		HC_COUNT(unknown_skipped);
		why = "an unrecognised protocol under HALFCLOSE_HEAL=known";
		break;
	case HC_LEAVE_NO_MEMORY:
		HC_COUNT(passthrough);
		break;
	}
	hc_log(HC_LOG_INFO, "fd %d %s %s; never swapped, left to the program", c->fd,
	       hc_addr_format(&c->peer.sa, addr, sizeof(addr)), why);
	hc_conn_set_state(c, HC_CONN_UNMANAGED);
}

/* Swaps in a fresh connection, with c's session rebuilt on it first. Returns
 * true on success, logging it; on failure returns false and *err holds the
 * cause (EPROTO: the session's replies were not what they must be). Caller
 * holds the lock; it is let go during the connect, and c (marked healing)
 * stays as it was meanwhile. */
static bool heal(struct hc_conn *c, const char *why, uint64_t quiet_ns, int *err)
{
	char name[200];
	uint64_t t0 = hc_now_ns(), took;
	const struct hc_resp *session = hc_session_to_rebuild(c);
	bool nonblocking = fd_nonblocking(c->fd);
	int r;

	/* The connect can take up to the timeout and retries: other threads go on
	 * meanwhile, and any of them that touches this fd waits for the heal. */
	hc_table_heal_begin(c);
	r = hc_reconnect_open(c, &hc_cfg, nonblocking, &c->heal_fd, err);
	if (r == 0 && session != NULL &&
	    hc_rebuild_session(c->heal_fd, session, hc_cfg.connect_timeout_ms, err) != 0) {
		hc_reconnect_discard(&c->heal_fd);
		HC_COUNT(session_failures);
		r = -1;
	}
	hc_table_heal_relock();
	if (r == 0)
		r = hc_reconnect_install(c, c->heal_fd, err);
	c->heal_fd = -1;
	hc_table_heal_end(c);
	if (r != 0)
		return false;
	HC_COUNT(reconnects);
	if (session != NULL)
		HC_COUNT(session_rebuilds);
	c->ino = hc_socket_inode(c->fd);
	took = hc_now_ns() - t0;
	if (session != NULL)
		hc_log(HC_LOG_INFO, "fd %d %s %s after %llu ms idle; session rebuilt (%u commands), reconnected in "
		       "%llu.%02llu ms", c->fd, hc_session_name(c, name, sizeof(name)), why,
		       (unsigned long long)(quiet_ns / 1000000), hc_resp_record_count(session),
		       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	else
		hc_log(HC_LOG_INFO, "fd %d %s %s after %llu ms idle; reconnected in %llu.%02llu ms", c->fd,
		       hc_session_name(c, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000),
		       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	return true;
}

/* The failure path for a stale c: the write fails with EPIPE, and so do the
 * ones after it until the program reads. Returns HC_WRITE_FAIL. */
static enum hc_write_action fail_stale(struct hc_conn *c, const char *why, uint64_t quiet_ns, const char *because)
{
	char name[200];

	HC_COUNT(reconnect_failures);
	hc_log(HC_LOG_WARN, "fd %d %s %s after %llu ms idle; %s; write fails with EPIPE", c->fd,
	       hc_session_name(c, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000), because);
	hc_conn_set_state(c, HC_CONN_DEAD);
	return HC_WRITE_FAIL;
}

/* The decision for a write at a boundary on a MANAGED connection. Caller holds the lock. */
static enum hc_write_action decide(struct hc_conn *c, uint64_t quiet_ns, bool reply_owed)
{
	const char *probe_why;
	char why[64], name[200], because[128];
	enum hc_verdict v;
	enum hc_action act;
	bool healed;
	int err;

	HC_COUNT(probes);
	v = hc_probe(c->fd, &probe_why);
	hc_log(HC_LOG_DEBUG, "fd %d probed after %llu ms quiet: %s", c->fd, (unsigned long long)(quiet_ns / 1000000),
	       hc_verdict_name(v));
	act = hc_probe_action(v, quiet_ns, reply_owed, &hc_cfg);
	if (act == HC_ACT_PROCEED)
		return HC_WRITE_PROCEED;
	if (hc_socket_inode(c->fd) != c->ino) {
		/* The fd was closed behind our back (glibc-internal closes, raw
		 * syscalls) and now names something else: never act on it. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return HC_WRITE_PROCEED;
	}
	if (act == HC_ACT_RETIRE) {
		/* Retire it before the server's idle timer races our write. Never
		 * under a reader, which would wait on the old connection forever;
		 * if the reconnect fails the old connection is still alive: use it. */
		if (!hc_swap_begin(c->fd))
			return HC_WRITE_PROCEED;
		if (heal(c, "retired (alive, idle past HALFCLOSE_MAX_IDLE_MS)", quiet_ns, &err))
			HC_COUNT(retired);
		else
			hc_log(HC_LOG_INFO, "fd %d %s retirement failed: %s; keeping the old connection", c->fd,
			       hc_session_name(c, name, sizeof(name)), hc_heal_failure(err, because, sizeof(because)));
		hc_swap_end(c->fd);
		return HC_WRITE_PROCEED;
	}
	HC_COUNT(stale);
	snprintf(why, sizeof(why), "stale (%s)", probe_why);
	if (act == HC_ACT_LEAVE_UNREAD) {
		HC_COUNT(unread_kept);
		hc_log(HC_LOG_INFO, "fd %d %s %s with unread data; left to the program", c->fd,
		       hc_session_name(c, name, sizeof(name)), why);
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return HC_WRITE_PROCEED;
	}
	if (act == HC_ACT_FAIL_RECENT)
		return fail_stale(c, why, quiet_ns, "too recently active to swap");
	if (act == HC_ACT_FAIL_OWED)
		return fail_stale(c, why, quiet_ns, "a reply to an earlier request may still be owed");
	if (!hc_swap_begin(c->fd))
		/* That reader holds the old connection and is about to see its EOF:
		 * the program learns of the close there, and nothing is sent here. */
		return fail_stale(c, why, quiet_ns, "another thread is reading it");
	healed = heal(c, why, quiet_ns, &err);
	hc_swap_end(c->fd);
	if (!healed)
		return fail_stale(c, why, quiet_ns, hc_heal_failure(err, because, sizeof(because)));
	return HC_WRITE_PROCEED;
}

/* Bytes the server sent that nobody has read yet. One ioctl. */
static bool unread_bytes(int fd)
{
	int unread = 0;
	return HC_REAL(ioctl)(fd, FIONREAD, &unread) == 0 && unread > 0;
}

/* The boundary decision and bookkeeping for a write on c; fills *w. Caller holds the lock. */
static enum hc_write_action note_write(struct hc_conn *c, struct hc_write *w)
{
	enum hc_write_action act = HC_WRITE_PROCEED;
	const char *why = "";
	uint64_t now, quiet;
	bool after_read, boundary, swappable;

	if (c->state == HC_CONN_DEAD) {
		if (hc_socket_inode(c->fd) == c->ino)
			return HC_WRITE_FAIL;
		hc_conn_set_state(c, HC_CONN_UNMANAGED); /* closed behind our back, reused */
		return HC_WRITE_PROCEED;
	}
	if (c->state == HC_CONN_CONNECTING) {
		if (!connect_done(c->fd))
			return HC_WRITE_PROCEED;
		become_managed(c);
	}
	if (c->state != HC_CONN_MANAGED)
		return HC_WRITE_PROCEED;
	if (!c->wrote && c->ever_read) {
		/* The program read a greeting: on a new connection the new one
		 * would be read as the reply to its request. */
		c->proto = HC_PROTO_SERVER_FIRST;
		leave(c, HC_LEAVE_STATEFUL, "the server spoke first");
		return HC_WRITE_PROCEED;
	}
	/* Bytes already there that the program has not read (a greeting, or a
	 * goodbye): this first write may still heal, for a new connection's
	 * greeting is as unread as the old one's; but after it the connection
	 * is a server-first one, left alone (hc_session_wrote). One ioctl, at
	 * the first write only. */
	if (!c->wrote && unread_bytes(c->fd))
		c->proto = HC_PROTO_SERVER_FIRST;
	now = hc_now_ns();
	quiet = now - c->last_io_ns;
	after_read = !c->wrote || c->read_since_write;
	boundary = after_read || (hc_cfg.write_gap_ms > 0 && quiet >= (uint64_t)hc_cfg.write_gap_ms * 1000000u);
	/* A session that is half way through something (a MULTI, a reply to
	 * SELECT still to come) cannot be moved: the write goes out untouched. */
	swappable = hc_session_swappable(c, &why);
	if (boundary && !swappable)
		hc_log(HC_LOG_DEBUG, "fd %d not probed: %s", c->fd, why);
	if (boundary && swappable && quiet >= (uint64_t)hc_cfg.probe_after_ms * 1000000u) {
		act = decide(c, quiet, !after_read && c->ever_read);
		if (c->state != HC_CONN_MANAGED)
			return act;
		now = hc_now_ns();
	}
	/* Only a request after a quiet gap may be replayed (the idle requirement):
	 * after `write A, write B, read`, B's reply may still be owed. A write
	 * after a quiet gap but no read is part of what is kept so far: its
	 * verdict then covers the earlier request too. */
	if (after_read && swappable && hc_cfg.replay_max > 0 && quiet >= (uint64_t)hc_cfg.min_idle_ms * 1000000u)
		hc_request_begin(c);
	else if (after_read)
		hc_request_forget(c);
	if (act == HC_WRITE_PROCEED && c->req_open)
		act = HC_WRITE_RECORD;
	w->look = hc_session_needs_bytes(c, boundary);
	w->boundary = boundary;
	w->reads = c->reads;
	c->wrote = true;
	c->read_since_write = false;
	c->last_io_ns = now;
	return act;
}

enum hc_write_action hc_before_write(int fd, struct hc_write *w)
{
	struct hc_guard saved;
	struct hc_conn *c;

	*w = (struct hc_write){ .act = HC_WRITE_PROCEED };
	if (hc_reentered())
		return HC_WRITE_PROCEED;
	c = conn_lock(fd, &saved);
	if (c != NULL)
		w->act = note_write(c, w);
	conn_unlock(&saved);
	return w->act;
}

void hc_after_write(int fd, const struct hc_write *w, const struct iovec *iov, size_t iovcnt, ssize_t ret)
{
	struct hc_guard saved;
	struct hc_conn *c;

	if (ret > 0 ? w->act != HC_WRITE_RECORD && !w->look : ret == 0 || (errno != EPIPE && errno != ECONNRESET))
		return;
	if (hc_reentered())
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL && ret > 0) {
		struct hc_written how = { .boundary = w->boundary, .reads_between = c->reads != w->reads,
					  .sees_reads = true };
		const char *why = "";
		if (w->act == HC_WRITE_RECORD)
			hc_request_append(c, iov, iovcnt, (size_t)ret, hc_cfg.replay_max);
		if (w->look && c->state == HC_CONN_MANAGED) {
			/* why is set by the call: read it only after. */
			enum hc_leave l = hc_session_wrote(c, &hc_cfg, &how, iov, iovcnt, (size_t)ret, &why);
			leave(c, l, why);
		}
	} else if (c != NULL && c->state == HC_CONN_MANAGED) {
		/* The program has now seen the connection fail: its move. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	}
	conn_unlock(&saved);
}

/* After a read on c returned EOF or a reset (read_err, 0 for EOF) before any
 * reply to the request kept in c: resends it on a new connection installed at
 * c->fd if the peer provably never received it (an EOF, then a reset that
 * left every byte of it unacknowledged), c's session rebuilt there first. Returns true if it did. The caller holds the lock and is the thread
 * reading c->fd; the lock is let go while the kernel is asked and the new
 * connection made, and c (healing) stays as it was meanwhile. */
static bool replay(struct hc_conn *c, int read_err)
{
	char name[200], because[128];
	uint64_t t0 = hc_now_ns(), took;
	const struct hc_resp *session = hc_session_to_rebuild(c);
	enum hc_delivery d;
	bool nonblocking = fd_nonblocking(c->fd);
	int r = -1, err = 0;

	/* Only a reset from a socket the peer had already closed proves that the
	 * request was never delivered: then its FIN came first, and the read
	 * returned EOF. A reset while the connection was established (the read
	 * fails with ECONNRESET) may come from a server that read the request,
	 * acted on it and aborted before its delayed ACK went out; ETIMEDOUT:
	 * the ACKs may be what was lost. Neither is ever replayed. */
	if (c->replayed || c->req_len == 0 || read_err != 0 || hc_socket_inode(c->fd) != c->ino)
		return false;
	/* Another thread reading it holds the old connection: leave the socket be. */
	if (!hc_swap_begin_reader(c->fd))
		return false;
	hc_table_heal_begin(c);
	d = hc_delivery_verdict(c->fd, c->req_len, hc_cfg.replay_wait_ms);
	if (d == HC_NEVER_DELIVERED && hc_reconnect_open(c, &hc_cfg, nonblocking, &c->heal_fd, &err) == 0) {
		/* Sent before the socket is installed: nothing can come between.
		 * All of it or a reset: a prefix must not reach the server alone,
		 * where a part of a pipeline would run and then run again when
		 * the program, told of the close, retries. */
		if (session != NULL && hc_rebuild_session(c->heal_fd, session, hc_cfg.connect_timeout_ms, &err) != 0)
			HC_COUNT(session_failures);
		else
			err = hc_send_whole(c->heal_fd, c->req, c->req_len);
		if (err == 0)
			r = 0;
		else
			hc_reconnect_discard(&c->heal_fd);
	}
	hc_table_heal_relock();
	if (r == 0)
		r = hc_reconnect_install(c, c->heal_fd, &err);
	c->heal_fd = -1;
	hc_table_heal_end(c);
	hc_swap_end(c->fd);
	hc_session_name(c, name, sizeof(name));
	if (d != HC_NEVER_DELIVERED) {
		hc_log(HC_LOG_INFO, "fd %d %s %s before any reply to a %u-byte request: %s, not replayed", c->fd, name,
		       read_err ? strerror(read_err) : "EOF", c->req_len, hc_delivery_name(d));
		return false;
	}
	if (r != 0) {
		HC_COUNT(reconnect_failures);
		hc_log(HC_LOG_WARN, "fd %d %s request never delivered; replay failed: %s; the read reports the close",
		       c->fd, name, hc_heal_failure(err, because, sizeof(because)));
		return false;
	}
	HC_COUNT(reconnects);
	HC_COUNT(replays);
	if (session != NULL)
		HC_COUNT(session_rebuilds);
	c->ino = hc_socket_inode(c->fd);
	c->replayed = true;
	c->read_since_write = false;
	c->last_io_ns = hc_now_ns();
	took = c->last_io_ns - t0;
	hc_log(HC_LOG_INFO, "fd %d %s %s before any reply: the %u-byte request was never delivered (reset); "
	       "resent on a new connection%s in %llu.%02llu ms", c->fd, name, read_err ? strerror(read_err) : "EOF",
	       c->req_len, session != NULL ? " after its session was rebuilt" : "",
	       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	return true;
}

static size_t iov_total(const struct iovec *iov, size_t cnt)
{
	size_t total = 0;
	for (size_t i = 0; iov != NULL && i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* After a read-family call: what it read into (iov NULL: bytes the library
 * cannot see, asked of them), its flags, what it returned. */
static enum hc_read_action after_read(int fd, const struct iovec *iov, size_t iovcnt, size_t asked, int flags,
				      ssize_t ret)
{
	enum hc_read_action act = HC_READ_DONE;
	struct hc_guard saved;
	int read_err = ret < 0 ? errno : 0;
	struct hc_conn *c;
	const char *why = "";
	/* 0 is EOF only if bytes were asked for; the iovecs are walked only
	 * then, after the kernel took them. */
	bool eof = (ret == 0 && (iov != NULL ? iov_total(iov, iovcnt) : asked) > 0) ||
		   (ret < 0 && (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT));

	if ((ret < 0 && !eof) || hc_reentered())
		return HC_READ_DONE; /* EAGAIN, EINTR: nothing was read; or from a signal handler */
	c = conn_lock(fd, &saved);
	if (c != NULL && eof) {
		if (c->state == HC_CONN_MANAGED && c->req_open && replay(c, read_err))
			act = HC_READ_AGAIN;
		else
			/* The program knows the peer closed; what it does next is its decision. */
			hc_conn_set_state(c, HC_CONN_UNMANAGED);
	} else if (c != NULL && ret > 0) {
		if (c->state == HC_CONN_CONNECTING)
			become_managed(c);
		hc_request_forget(c); /* the reply has begun: the request was delivered */
		c->read_since_write = true;
		c->ever_read = true;
		c->reads++;
		c->last_io_ns = hc_now_ns();
		if (c->state == HC_CONN_MANAGED) {
			enum hc_leave l = hc_session_read(c, iov, iovcnt, (size_t)ret, flags, &why);
			leave(c, l, why);
		}
	}
	conn_unlock(&saved);
	return act;
}

enum hc_read_action hc_after_read(int fd, const struct iovec *iov, size_t iovcnt, int flags, ssize_t ret)
{
	return after_read(fd, iov, iovcnt, 0, flags, ret);
}

enum hc_read_action hc_after_read_unseen(int fd, size_t asked, ssize_t ret)
{
	return after_read(fd, NULL, 0, asked, 0, ret);
}
