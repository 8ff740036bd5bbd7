/* probe.c - one poll(POLLIN|POLLRDHUP, 0) tells whether the peer has closed;
 * FIONREAD, only then, tells whether it left something to read. */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>

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
