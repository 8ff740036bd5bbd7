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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "probe.h"
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
}

static void atfork_child(void)
{
	hc_table_atfork_child();
	hc_stats_reset(); /* the child's stats line counts the child's work */
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
	pthread_atfork(atfork_prepare, hc_table_atfork_parent, atfork_child);
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

uint64_t hc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Takes the table lock and returns fd's entry or NULL; *saved keeps errno. */
static struct hc_conn *conn_lock(int fd, int *saved)
{
	*saved = errno;
	hc_table_lock();
	return hc_table_find(fd);
}

/* Releases the lock conn_lock took and restores errno. */
static void conn_unlock(int saved)
{
	hc_table_unlock();
	errno = saved;
}

void hc_on_socket(int fd, int domain, int type, int protocol)
{
	int saved;
	struct hc_conn *c;

	if ((domain != AF_INET && domain != AF_INET6) || (type & 0xf) != SOCK_STREAM || !hc_active())
		return;
	conn_lock(fd, &saved);
	c = hc_table_add(fd); /* replaces what a close we never saw left behind */
	if (c != NULL) {
		c->domain = domain;
		c->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
		c->protocol = protocol;
		c->status_flags = (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0;
	}
	conn_unlock(saved);
}

/* Stops managing c for good; counts it as passed through if it was managed. */
static void give_up(struct hc_conn *c)
{
	if (c->state == HC_CONN_MANAGED || c->state == HC_CONN_CONNECTING)
		HC_COUNT(passthrough);
	hc_conn_set_state(c, HC_CONN_UNMANAGED);
}

void hc_on_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd))
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL && c->state != HC_CONN_UNMANAGED &&
	    (hc_conn_record_option(c, level, name, val, len) != 0 || c->unreplayable))
		give_up(c); /* an option we cannot replay: a new socket would differ */
	conn_unlock(saved);
}

void hc_on_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd))
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL && len <= sizeof(c->bound)) {
		memcpy(&c->bound, sa, len);
		c->bind_len = len;
		/* A fixed local port cannot be bound again while the old connection
		 * holds it: such a socket could never be healed, so leave it alone. */
		if (c->bound.in.sin_port != 0) /* sin_port and sin6_port share their offset */
			c->unreplayable = true;
	}
	conn_unlock(saved);
}

/* The inode of the socket at fd, or 0. */
static uint64_t socket_inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

/* Records what a connect() on c meant. Caller holds the lock. */
static void note_connect(struct hc_conn *c, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	if (c->state == HC_CONN_UNMANAGED || c->state == HC_CONN_DEAD)
		return;
	if (c->state == HC_CONN_CONNECTING) {
		/* A second connect() on a non-blocking socket reports the outcome. */
		if (ret == 0 || err == EISCONN)
			hc_conn_set_state(c, HC_CONN_MANAGED);
		else if (err != EALREADY && err != EINPROGRESS)
			hc_conn_set_state(c, HC_CONN_UNCONNECTED);
		return;
	}
	if (c->state == HC_CONN_MANAGED) {
		if (sa->sa_family == AF_UNSPEC && ret == 0)
			hc_conn_set_state(c, HC_CONN_UNMANAGED); /* association dissolved */
		return;
	}
	if (ret != 0 && err != EINPROGRESS)
		return;
	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len > sizeof(c->peer)) {
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return;
	}
	if (c->unreplayable || !hc_config_manages(&hc_cfg, sa)) {
		HC_COUNT(passthrough);
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return;
	}
	memcpy(&c->peer, sa, len);
	c->peer_len = len;
	c->ino = socket_inode(c->fd);
	c->wrote = false;
	c->read_since_write = false;
	c->last_io_ns = hc_now_ns();
	hc_conn_set_state(c, ret == 0 ? HC_CONN_MANAGED : HC_CONN_CONNECTING);
	HC_COUNT(managed);
}

void hc_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd) || sa == NULL)
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL)
		note_connect(c, sa, len, ret, err);
	conn_unlock(saved);
}

void hc_on_status_flags(int fd, int flags)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd))
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL)
		c->status_flags = flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK);
	conn_unlock(saved);
}

void hc_on_nonblock(int fd, bool on)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd))
		return;
	c = conn_lock(fd, &saved);
	if (c != NULL)
		c->status_flags = on ? (c->status_flags | O_NONBLOCK) : (c->status_flags & ~O_NONBLOCK);
	conn_unlock(saved);
}

void hc_on_shutdown(int fd)
{
	int saved;
	struct hc_conn *c;

	if (!hc_fd_known(fd))
		return;
	c = conn_lock(fd, &saved);
	/* The program is ending the connection itself: never resurrect it. */
	if (c != NULL)
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	conn_unlock(saved);
}

void hc_on_close(int fd)
{
	int saved;

	if (!hc_fd_known(fd))
		return;
	conn_lock(fd, &saved);
	hc_table_remove(fd);
	conn_unlock(saved);
}

void hc_on_close_range(unsigned first, unsigned last)
{
	int saved;

	conn_lock(-1, &saved);
	hc_table_remove_range(first, last);
	conn_unlock(saved);
}

void hc_on_dup(int oldfd, int newfd)
{
	int saved;
	struct hc_conn *c;

	if (newfd == oldfd || (!hc_fd_known(oldfd) && !hc_fd_known(newfd)))
		return;
	c = conn_lock(oldfd, &saved);
	/* Two fds now share one socket; swapping one would leave the other on the
	 * dead connection, so neither is touched again. */
	if (c != NULL)
		give_up(c);
	hc_table_remove(newfd);
	conn_unlock(saved);
}

/* True if the first bytes look like a TLS record: handshake (0x16), version 3.0-3.4. */
static bool looks_like_tls(const unsigned char *p, size_t len)
{
	return len >= 3 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04;
}

/* The connect of a non-blocking socket has finished well. One syscall, once. */
static bool connect_done(int fd)
{
	union hc_sockaddr peer;
	socklen_t len = sizeof(peer);
	return getpeername(fd, &peer.sa, &len) == 0;
}

/* Swaps in a fresh connection. Returns true on success; logs either way.
 * why: the reason for the log line. Caller holds the lock. */
static bool heal(struct hc_conn *c, const char *why, uint64_t quiet_ns)
{
	char addr[64];
	uint64_t t0 = hc_now_ns();
	int err;

	hc_addr_format(&c->peer.sa, addr, sizeof(addr));
	if (hc_reconnect(c, &hc_cfg, &err) != 0) {
		HC_COUNT(reconnect_failures);
		hc_log(HC_LOG_WARN, "fd %d %s %s after %llu ms idle; reconnect failed (%s); write fails with EPIPE",
		       c->fd, addr, why, (unsigned long long)(quiet_ns / 1000000), strerror(err));
		return false;
	}
	HC_COUNT(reconnects);
	c->ino = socket_inode(c->fd);
	uint64_t took = hc_now_ns() - t0;
	hc_log(HC_LOG_INFO, "fd %d %s %s after %llu ms idle; reconnected in %llu.%02llu ms", c->fd, addr, why,
	       (unsigned long long)(quiet_ns / 1000000), (unsigned long long)(took / 1000000),
	       (unsigned long long)(took % 1000000 / 10000));
	return true;
}

/* The decision for a write at a boundary on a MANAGED connection. Caller holds the lock. */
static enum hc_write_action decide(struct hc_conn *c, uint64_t quiet_ns)
{
	const char *probe_why;
	char why[64], addr[64];
	enum hc_verdict v;

	HC_COUNT(probes);
	v = hc_probe(c->fd, &probe_why);
	if (v != HC_PROBE_FAILED && (v != HC_ALIVE || hc_cfg.max_idle_ms > 0) &&
	    (c->ino == 0 || socket_inode(c->fd) != c->ino)) {
		/* The fd was closed behind our back (glibc-internal closes, raw
		 * syscalls) and now names something else: never act on it. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return HC_WRITE_PROCEED;
	}
	snprintf(why, sizeof(why), "stale (%s)", probe_why);
	if (v == HC_STALE_UNREAD && hc_cfg.unread == HC_UNREAD_KEEP) {
		/* The server said something before closing (a goodbye, a FATAL, a 408):
		 * the program must see it exactly as it was sent. */
		HC_COUNT(unread_kept);
		hc_log(HC_LOG_INFO, "fd %d %s closed by peer with unread data; left to the program", c->fd,
		       hc_addr_format(&c->peer.sa, addr, sizeof(addr)));
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return HC_WRITE_PROCEED;
	}
	if (v == HC_STALE || v == HC_STALE_UNREAD) {
		HC_COUNT(stale);
		if (quiet_ns < (uint64_t)hc_cfg.min_idle_ms * 1000000u) {
			/* Died while in use: a reply may be owed for a request we cannot see. */
			hc_log(HC_LOG_WARN, "fd %d %s %s after only %llu ms idle; not swapped; write fails with EPIPE",
			       c->fd, hc_addr_format(&c->peer.sa, addr, sizeof(addr)), why,
			       (unsigned long long)(quiet_ns / 1000000));
			hc_conn_set_state(c, HC_CONN_DEAD);
			return HC_WRITE_FAIL;
		}
		if (!heal(c, why, quiet_ns)) {
			hc_conn_set_state(c, HC_CONN_DEAD);
			return HC_WRITE_FAIL;
		}
		return HC_WRITE_PROCEED;
	}
	if (v == HC_ALIVE && hc_cfg.max_idle_ms > 0 && quiet_ns >= (uint64_t)hc_cfg.max_idle_ms * 1000000u &&
	    quiet_ns >= (uint64_t)hc_cfg.min_idle_ms * 1000000u) {
		/* Retire it before the server's idle timer races our write. If that fails
		 * the old connection is still alive: use it. */
		if (heal(c, "retired (alive, but idle past HALFCLOSE_MAX_IDLE_MS)", quiet_ns))
			HC_COUNT(retired);
	}
	return HC_WRITE_PROCEED;
}

/* The boundary decision and bookkeeping for a write on c. Caller holds the lock. */
static enum hc_write_action note_write(struct hc_conn *c, const void *head, size_t headlen)
{
	enum hc_write_action act = HC_WRITE_PROCEED;
	uint64_t now, quiet;
	bool boundary;

	if (c->state == HC_CONN_DEAD)
		return HC_WRITE_FAIL;
	if (c->state == HC_CONN_CONNECTING) {
		if (!connect_done(c->fd))
			return HC_WRITE_PROCEED;
		hc_conn_set_state(c, HC_CONN_MANAGED);
	}
	if (c->state != HC_CONN_MANAGED)
		return HC_WRITE_PROCEED;
	if (!c->wrote && looks_like_tls(head, headlen)) {
		/* TLS state lives in the program: a new TCP connection under it is garbage. */
		HC_COUNT(tls_skipped);
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
		return HC_WRITE_PROCEED;
	}
	now = hc_now_ns();
	quiet = now - c->last_io_ns;
	boundary = !c->wrote || c->read_since_write ||
		   (hc_cfg.write_gap_ms > 0 && quiet >= (uint64_t)hc_cfg.write_gap_ms * 1000000u);
	if (boundary && quiet >= (uint64_t)hc_cfg.probe_after_ms * 1000000u) {
		act = decide(c, quiet);
		if (c->state != HC_CONN_MANAGED)
			return act;
		now = hc_now_ns();
	}
	c->wrote = true;
	c->read_since_write = false;
	c->last_io_ns = now;
	return act;
}

enum hc_write_action hc_before_write(int fd, const void *head, size_t headlen)
{
	enum hc_write_action act = HC_WRITE_PROCEED;
	int saved;
	struct hc_conn *c = conn_lock(fd, &saved);

	if (c != NULL)
		act = note_write(c, head, headlen);
	conn_unlock(saved);
	return act;
}

void hc_after_write(int fd, ssize_t ret)
{
	int saved;
	struct hc_conn *c;

	if (ret >= 0 || (errno != EPIPE && errno != ECONNRESET))
		return;
	c = conn_lock(fd, &saved);
	/* The program has now seen the connection fail: its move. */
	if (c != NULL && c->state == HC_CONN_MANAGED)
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	conn_unlock(saved);
}

void hc_after_read(int fd, size_t requested, ssize_t ret)
{
	int saved;
	struct hc_conn *c;
	bool eof = (ret == 0 && requested > 0) ||
		   (ret < 0 && (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT));

	if (ret < 0 && !eof)
		return; /* EAGAIN, EINTR: nothing was read */
	c = conn_lock(fd, &saved);
	if (c != NULL && eof) {
		/* The program knows the peer closed; what it does next is its decision. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	} else if (c != NULL && ret > 0) {
		if (c->state == HC_CONN_CONNECTING)
			hc_conn_set_state(c, HC_CONN_MANAGED);
		c->read_since_write = true;
		c->last_io_ns = hc_now_ns();
	}
	conn_unlock(saved);
}
