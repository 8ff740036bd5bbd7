/* heal.c - a connection swapped for a new one: a heal at a write, a replay at
 * a read, and the failure path when neither may or can be done. */
#define _GNU_SOURCE
#include "heal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "real.h"
#include "rebuild.h"
#include "reconnect.h"
#include "replay.h"
#include "safe.h"
#include "session.h"

/* True if the open file at fd is non-blocking (an event loop's socket). */
static bool fd_nonblocking(int fd)
{
	int fl = HC_REAL(fcntl)(fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* The part of a swap made without the lock: a new connection for c (in
 * c->heal_fd, the slot reconnect.h's fork handling needs), c's session
 * rebuilt on it, then req (if len > 0) sent on it whole. Returns 0, or -1
 * with the cause in *err and nothing left open. */
static int make_connection(struct hc_conn *c, const unsigned char *req, size_t len, int *err)
{
	const struct hc_resp *session = hc_session_to_rebuild(c);

	if (hc_reconnect_open(c, &hc_cfg, fd_nonblocking(c->fd), &c->heal_fd, err) != 0)
		return -1;
	if (session != NULL && hc_rebuild_session(c->heal_fd, session, hc_cfg.connect_timeout_ms, err) != 0) {
		HC_COUNT(session_failures);
		hc_reconnect_discard(&c->heal_fd);
		return -1;
	}
	/* All of it or a reset: a prefix must not reach the server alone, where
	 * a part of a pipeline would run and then run again when the program,
	 * told of the close, retries. */
	if (len > 0 && (*err = hc_send_whole(c->heal_fd, req, len)) != 0) {
		hc_reconnect_discard(&c->heal_fd);
		return -1;
	}
	return 0;
}

/* The part made with the lock again: the new connection installed at c->fd
 * if it was made (r == 0). Returns 0 or -1 with *err. */
static int install(struct hc_conn *c, int r, int *err)
{
	if (r == 0)
		r = hc_reconnect_install(c, c->heal_fd, err);
	c->heal_fd = -1;
	if (r == 0)
		c->ino = hc_socket_inode(c->fd);
	return r;
}

/* "in 0.34 ms": how long since t0, for a log line. */
static const char *took_since(uint64_t t0, char *buf, size_t len)
{
	uint64_t took = hc_now_ns() - t0;
	snprintf(buf, len, "in %llu.%02llu ms", (unsigned long long)(took / 1000000),
		 (unsigned long long)(took % 1000000 / 10000));
	return buf;
}

bool hc_heal(struct hc_conn *c, const char *why, uint64_t quiet_ns, int *err)
{
	char name[200], took[32], rebuilt[48] = "";
	uint64_t t0 = hc_now_ns();
	const struct hc_resp *session = hc_session_to_rebuild(c);
	int r;

	/* The connect can take up to the timeout and retries: other threads go on
	 * meanwhile, and any of them that touches this fd waits for the heal. */
	hc_table_heal_begin(c);
	r = make_connection(c, NULL, 0, err);
	hc_table_heal_relock();
	r = install(c, r, err);
	hc_table_heal_end(c);
	if (r != 0)
		return false;
	HC_COUNT(reconnects);
	if (session != NULL) {
		HC_COUNT(session_rebuilds);
		snprintf(rebuilt, sizeof(rebuilt), "session rebuilt (%u commands), ", hc_resp_record_count(session));
	}
	hc_log(HC_LOG_INFO, "fd %d %s %s after %llu ms idle; %sreconnected %s", c->fd,
	       hc_session_name(c, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000), rebuilt,
	       took_since(t0, took, sizeof(took)));
	return true;
}

void hc_fail_stale(struct hc_conn *c, const char *why, uint64_t quiet_ns, const char *because)
{
	char name[200];

	HC_COUNT(reconnect_failures);
	hc_log(HC_LOG_WARN, "fd %d %s %s after %llu ms idle; %s; write fails with EPIPE", c->fd,
	       hc_session_name(c, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000), because);
	hc_conn_set_state(c, HC_CONN_DEAD);
}

bool hc_replay(struct hc_conn *c, int read_err)
{
	char name[200], because[128], took[32];
	uint64_t t0 = hc_now_ns();
	const struct hc_resp *session = hc_session_to_rebuild(c);
	struct hc_replay_facts f = { .managed = c->state == HC_CONN_MANAGED, .kept = c->req.open && c->req.b.len > 0,
				     .replayed = c->req.replayed, .read_err = read_err,
				     .same_socket = hc_socket_inode(c->fd) == c->ino,
				     .safe = hc_request_safe(c->proto, c->req.b.p, c->req.b.len) };
	const char *what = read_err ? strerror(read_err) : "EOF";
	enum hc_delivery d;
	int r = -1, err = 0;

	switch (hc_may_replay(&f, hc_cfg.replay)) {
	case HC_REPLAY_NO:
		return false;
	case HC_REPLAY_UNSAFE:
		hc_log(HC_LOG_INFO, "fd %d %s %s before any reply to a %u-byte request that is not known to be safe: "
		       "not replayed (HALFCLOSE_REPLAY=safe)", c->fd, hc_session_name(c, name, sizeof(name)), what,
		       c->req.b.len);
		return false;
	case HC_REPLAY_ASK:
		break;
	}
	/* Another thread reading it holds the old connection: leave the socket be. */
	if (!hc_swap_begin_reader(c->fd))
		return false;
	hc_table_heal_begin(c);
	d = hc_delivery_verdict(c->fd, c->req.b.len, hc_cfg.replay_wait_ms);
	/* Sent before the socket is installed: nothing can come between. */
	if (d == HC_NEVER_DELIVERED)
		r = make_connection(c, c->req.b.p, c->req.b.len, &err);
	hc_table_heal_relock();
	r = install(c, r, &err);
	hc_table_heal_end(c);
	hc_swap_end(c->fd);
	hc_session_name(c, name, sizeof(name));
	if (d != HC_NEVER_DELIVERED) {
		hc_log(HC_LOG_INFO, "fd %d %s %s before any reply to a %u-byte request: %s, not replayed", c->fd, name,
		       what, c->req.b.len, hc_delivery_name(d));
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
	c->req.replayed = true;
	c->read_since_write = false;
	c->last_io_ns = hc_now_ns();
	hc_log(HC_LOG_INFO, "fd %d %s %s before any reply: the %u-byte request was never delivered (reset); "
	       "resent on a new connection%s %s", c->fd, name, what, c->req.b.len,
	       session != NULL ? " after its session was rebuilt" : "", took_since(t0, took, sizeof(took)));
	return true;
}
