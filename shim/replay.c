/* replay.c - the proof that the peer never received a request: RST in
 * answer, with exactly its bytes still unacknowledged; and the request sent
 * whole on a new connection. (The request's bytes are kept by table.c.) */
#define _GNU_SOURCE
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "real.h"

/* One look at fd: the verdict if the kernel already gives one, else UNKNOWN
 * with the smoothed round trip in *rtt_us. */
static enum hc_delivery look(int fd, size_t len, unsigned *rtt_us)
{
	struct tcp_info ti;
	socklen_t tilen = sizeof(ti);
	int outq = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tilen) != 0 || HC_REAL(ioctl)(fd, SIOCOUTQ, &outq) != 0 ||
	    outq < 0)
		return HC_DELIVERY_UNKNOWN;
	*rtt_us = ti.tcpi_rtt;
	/* SIOCOUTQ counts from the oldest unacknowledged byte to the last one
	 * written: below len, the peer acknowledged part of the request. */
	if ((size_t)outq < len)
		return HC_DELIVERED;
	if ((size_t)outq > len)
		return HC_DELIVERY_UNKNOWN; /* bytes sent by calls we do not see (sendfile...) */
	/* A reset moves the socket to CLOSE and leaves snd_una where it was. */
	if (ti.tcpi_state == TCP_CLOSE)
		return HC_NEVER_DELIVERED;
	return HC_DELIVERY_UNKNOWN;
}

enum hc_delivery hc_delivery_verdict(int fd, size_t len, unsigned wait_ms)
{
	int saved = errno;
	uint64_t deadline = hc_now_ns() + (uint64_t)wait_ms * 1000000u;
	unsigned rtt_us = 0;
	enum hc_delivery d;

	/* The answer to the bytes arrives about one round trip after them. A RST
	 * wakes poll (POLLHUP|POLLERR are reported even with no events asked
	 * for; the EOF's POLLIN is not); an ACK wakes nothing, so the wait is cut
	 * in slices of a quarter round trip to look for it. */
	while ((d = look(fd, len, &rtt_us)) == HC_DELIVERY_UNKNOWN) {
		struct pollfd p = { .fd = fd, .events = 0 };
		uint64_t now = hc_now_ns(), slice = (uint64_t)rtt_us * 250u;
		struct timespec ts;

		if (now >= deadline)
			break;
		if (slice < 50000u)
			slice = 50000u;
		if (slice > 10000000u)
			slice = 10000000u;
		if (slice > deadline - now)
			slice = deadline - now;
		ts.tv_sec = (time_t)(slice / 1000000000u);
		ts.tv_nsec = (long)(slice % 1000000000u);
		if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR)
			break;
	}
	errno = saved;
	return d;
}

const char *hc_delivery_name(enum hc_delivery d)
{
	switch (d) {
	case HC_NEVER_DELIVERED: return "never delivered";
	case HC_DELIVERED: return "delivered";
	case HC_DELIVERY_UNKNOWN: return "delivery unknown";
	}
	return "?";
}

/* net.core.wmem_max: the most SO_SNDBUF can ask for (the kernel doubles it), or 0. */
static long wmem_max(void)
{
	char buf[32];
	long v = 0;
	int fd = open("/proc/sys/net/core/wmem_max", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = HC_REAL(read)(fd, buf, sizeof(buf) - 1);
	HC_REAL(close)(fd);
	if (n > 0) {
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
	}
	return v > 0 ? v : 0;
}

int hc_send_whole(int s, const void *buf, size_t len)
{
	int saved = errno, err = 0, sndbuf = 0;
	socklen_t optlen = sizeof(sndbuf);
	ssize_t n;

	/* A fresh socket's buffer holds about ten segments' worth (tens of KiB,
	 * more on loopback); the kernel counts about twice the payload against
	 * it. A larger request gets more room, if net.core.wmem_max allows more
	 * than it has: setting SO_SNDBUF ends the buffer's autotuning, and must
	 * never shrink it. */
	if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) == 0 && sndbuf >= 0 && (size_t)sndbuf / 2 < len) {
		long room = wmem_max(), want = len <= (size_t)LONG_MAX / 2 ? (long)len * 2 : LONG_MAX;
		if (want > room)
			want = room;
		if (want * 2 > sndbuf && want <= INT_MAX) {
			int v = (int)want;
			HC_REAL(setsockopt)(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		}
	}
	do
		n = HC_REAL(sendto)(s, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = errno;
	else if ((size_t)n < len)
		err = EMSGSIZE; /* a part is on its way: the caller resets the connection */
	errno = saved;
	return err;
}
