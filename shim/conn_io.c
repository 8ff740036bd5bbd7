/* conn_io.c - the library's books at a write and a read: what policy.h
 * makes of the facts (boundary, probe, the request kept for a replay), what
 * the probe's verdict calls for (heal.h does it), and what the bytes written
 * and read mean for the connection's class and session (session.h). */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "clock.h"
#include "config.h"
#include "heal.h"
#include "log.h"
#include "policy.h"
#include "probe.h"
#include "real.h"
#include "rebuild.h"
#include "reconnect.h"
#include "session.h"
#include "table.h"

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

	if (l == HC_LEAVE_NONE)
		return;
	why = hc_leave_count(atomic_load_explicit(&hc_stats_live, memory_order_acquire), l, why);
	hc_log(HC_LOG_INFO, "fd %d %s %s; never swapped, left to the program", c->fd,
	       hc_addr_format(&c->peer.sa, addr, sizeof(addr)), why);
	hc_conn_set_state(c, HC_CONN_UNMANAGED);
}

/* The failure path: see heal.h. Returns HC_WRITE_FAIL. */
static enum hc_write_action fail_stale(struct hc_conn *c, const char *why, uint64_t quiet_ns, const char *because)
{
	hc_fail_stale(c, why, quiet_ns, because);
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
		if (hc_heal(c, "retired (alive, idle past HALFCLOSE_MAX_IDLE_MS)", quiet_ns, &err))
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
	healed = hc_heal(c, why, quiet_ns, &err);
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

/* The boundary decision and bookkeeping for a write on c (policy.h's
 * hc_plan_write on what the books say); fills *w. Caller holds the lock. */
static enum hc_write_action note_write(struct hc_conn *c, struct hc_write *w)
{
	enum hc_write_action act = HC_WRITE_PROCEED;
	struct hc_write_facts f = { .first_write = !c->wrote, .read_since_write = c->read_since_write,
				    .ever_read = c->ever_read };
	struct hc_write_plan p;
	const char *why = "";
	uint64_t now;

	if (c->state == HC_CONN_DEAD) {
		if (hc_socket_inode(c->fd) == c->ino)
			return HC_WRITE_FAIL;
		hc_conn_set_state(c, HC_CONN_UNMANAGED); /* closed behind our back, reused */
		return HC_WRITE_PROCEED;
	}
	if (c->state == HC_CONN_CONNECTING) {
		if (!connect_done(c->fd))
			return HC_WRITE_PROCEED;
		hc_conn_manage(c);
	}
	if (c->state != HC_CONN_MANAGED)
		return HC_WRITE_PROCEED;
	now = hc_now_ns();
	f.quiet_ns = now - c->last_io_ns;
	/* A greeting the program read is in ever_read; one still unread costs
	 * one ioctl, at the first write only. */
	f.greeting_read = f.first_write && c->ever_read;
	f.greeting_unread = f.first_write && !c->ever_read && unread_bytes(c->fd);
	f.swappable = hc_session_swappable(c, &why);
	p = hc_plan_write(&f, &hc_cfg);
	if (p.leave || p.leave_after)
		c->proto = HC_PROTO_SERVER_FIRST; /* left at once, or by hc_session_wrote after this write */
	if (p.leave) {
		leave(c, HC_LEAVE_STATEFUL, "the server spoke first");
		return HC_WRITE_PROCEED;
	}
	if (p.boundary && !f.swappable)
		hc_log(HC_LOG_DEBUG, "fd %d not probed: %s", c->fd, why);
	if (p.probe) {
		act = decide(c, f.quiet_ns, p.reply_owed);
		if (c->state != HC_CONN_MANAGED)
			return act;
		now = hc_now_ns();
	}
	if (p.keep_request)
		hc_request_begin(&c->req);
	else if (p.forget_request)
		hc_request_forget(&c->req);
	if (act == HC_WRITE_PROCEED && c->req.open)
		act = HC_WRITE_RECORD;
	w->look = hc_session_needs_bytes(c, p.boundary);
	w->boundary = p.boundary;
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
	c = hc_table_enter(fd, &saved);
	if (c != NULL)
		w->act = note_write(c, w);
	hc_table_leave(&saved);
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
	c = hc_table_enter(fd, &saved);
	if (c != NULL && ret > 0) {
		struct hc_written how = { .boundary = w->boundary, .reads_between = c->reads != w->reads,
					  .sees_reads = true };
		const char *why = "";
		if (w->act == HC_WRITE_RECORD)
			hc_request_append(&c->req, iov, iovcnt, (size_t)ret, hc_cfg.replay_max);
		if (w->look && c->state == HC_CONN_MANAGED) {
			/* why is set by the call: read it only after. */
			enum hc_leave l = hc_session_wrote(c, &hc_cfg, &how, iov, iovcnt, (size_t)ret, &why);
			leave(c, l, why);
		}
	} else if (c != NULL && c->state == HC_CONN_MANAGED) {
		/* The program has now seen the connection fail: its move. */
		hc_conn_set_state(c, HC_CONN_UNMANAGED);
	}
	hc_table_leave(&saved);
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
	c = hc_table_enter(fd, &saved);
	if (c != NULL && eof) {
		if (c->state == HC_CONN_MANAGED && c->req.open && hc_replay(c, read_err))
			act = HC_READ_AGAIN;
		else
			/* The program knows the peer closed; what it does next is its decision. */
			hc_conn_set_state(c, HC_CONN_UNMANAGED);
	} else if (c != NULL && ret > 0) {
		if (c->state == HC_CONN_CONNECTING)
			hc_conn_manage(c);
		hc_request_forget(&c->req); /* the reply has begun: the request was delivered */
		c->read_since_write = true;
		c->ever_read = true;
		c->reads++;
		c->last_io_ns = hc_now_ns();
		if (c->state == HC_CONN_MANAGED) {
			enum hc_leave l = hc_session_read(c, iov, iovcnt, (size_t)ret, flags, &why);
			leave(c, l, why);
		}
	}
	hc_table_leave(&saved);
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
