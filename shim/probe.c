/* probe.c - one poll(POLLIN|POLLRDHUP, 0) tells whether the peer has closed;
 * FIONREAD, only then, tells whether it left something to read. */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "config.h"
#include "real.h"

enum hc_verdict hc_probe(int fd, const char **why)
{
	int saved = errno, unread = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	enum hc_verdict v;
	const char *reason = "no hangup";

	if (poll(&p, 1, 0) < 0) {
		v = HC_PROBE_FAILED;
		reason = "poll failed";
	} else if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) {
		/* Unread data on an open connection is the program's business. */
		v = (p.revents & POLLIN) ? HC_ALIVE_UNREAD : HC_ALIVE;
	} else {
		/* POLLERR means a pending reset; we must not read it (that would clear
		 * SO_ERROR the program may still observe), only say so. */
		reason = (p.revents & POLLERR) ? "peer reset" : "peer FIN";
		if (HC_REAL(ioctl)(fd, FIONREAD, &unread) == 0 && unread > 0)
			v = HC_STALE_UNREAD;
		else
			v = HC_STALE;
	}
	if (why != NULL)
		*why = reason;
	errno = saved;
	return v;
}

const char *hc_verdict_name(enum hc_verdict v)
{
	switch (v) {
	case HC_ALIVE: return "alive";
	case HC_ALIVE_UNREAD: return "alive with unread data";
	case HC_STALE: return "stale";
	case HC_STALE_UNREAD: return "stale with unread data";
	case HC_PROBE_FAILED: return "probe failed";
	}
	return "?";
}

enum hc_action hc_probe_action(enum hc_verdict v, uint64_t quiet_ns, bool reply_owed, const struct hc_config *cfg)
{
	uint64_t min_idle = (uint64_t)cfg->min_idle_ms * 1000000u;

	if (v == HC_ALIVE && !reply_owed && cfg->max_idle_ms > 0 && quiet_ns >= (uint64_t)cfg->max_idle_ms * 1000000u &&
	    quiet_ns >= min_idle)
		return HC_ACT_RETIRE;
	if (v != HC_STALE && v != HC_STALE_UNREAD)
		return HC_ACT_PROCEED;
	/* The server said something before closing (a goodbye, a FATAL, a 408):
	 * the program must see it exactly as it was sent. */
	if (v == HC_STALE_UNREAD && cfg->unread == HC_UNREAD_KEEP)
		return HC_ACT_LEAVE_UNREAD;
	/* Died while in use: a reply may be owed for a request we cannot see. */
	if (quiet_ns < min_idle)
		return HC_ACT_FAIL_RECENT;
	/* `write A`, a quiet gap, `write B`: on a new connection B's reply would
	 * be read as A's. Write-only protocols (never a reply) still heal. */
	if (reply_owed)
		return HC_ACT_FAIL_OWED;
	return HC_ACT_HEAL;
}

bool hc_tls_record_head(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 0x03 && p[2] <= 0x04;
}
