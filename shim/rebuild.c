/* rebuild.c - the session sent and checked on a new connection. */
#define _GNU_SOURCE
#include "rebuild.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "real.h"
#include "replay.h"

int hc_rebuild_session(int s, const struct hc_resp *r, unsigned timeout_ms, int *err)
{
	int saved = errno, e = 0;
	uint64_t deadline = hc_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct hc_resp_check k;
	enum hc_resp_verdict v = HC_RESP_MORE;
	unsigned char buf[4096];
	size_t len;
	const unsigned char *rec = hc_resp_record(r, &len);

	if (len == 0)
		return 0;
	/* One write: the commands reach the server together, as one request. */
	e = hc_send_whole(s, rec, len);
	hc_resp_check_begin(&k, r);
	while (e == 0 && v == HC_RESP_MORE) {
		ssize_t n = HC_REAL(recvfrom)(s, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
		if (n > 0) {
			v = hc_resp_check_feed(&k, buf, (size_t)n);
			if (v == HC_RESP_BAD)
				e = EPROTO;
		} else if (n == 0) {
			e = ECONNRESET;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			struct pollfd p = { .fd = s, .events = POLLIN };
			uint64_t now = hc_now_ns();
			if (now >= deadline)
				e = ETIMEDOUT;
			else if (poll(&p, 1, (int)((deadline - now + 999999) / 1000000)) < 0 && errno != EINTR)
				e = errno;
		} else {
			e = errno;
		}
	}
	*err = e;
	errno = saved;
	return e == 0 ? 0 : -1;
}

const char *hc_heal_failure(int err, char *buf, size_t len)
{
	if (err == EPROTO)
		snprintf(buf, len, "the session could not be rebuilt (a reply on the new connection was not a success)");
	else
		snprintf(buf, len, "reconnect failed (%s)", strerror(err));
	return buf;
}
