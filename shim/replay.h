/* replay.h - closing the race after the write: the kernel's word on whether
 * the peer ever received a request (kept by table.h until its reply starts),
 * and the request sent whole on a new connection. */
#ifndef HC_REPLAY_H
#define HC_REPLAY_H

#include <stddef.h>

enum hc_delivery {
	HC_NEVER_DELIVERED, /* the peer reset the connection and acknowledged none of the bytes (proof of
			     * non-delivery only after its FIN: the caller's part, see conn.c replay) */
	HC_DELIVERED,       /* the peer acknowledged some of them: it may have acted on them */
	HC_DELIVERY_UNKNOWN /* no proof either way within the wait, or bytes we never saw were sent */
};

/* Whether the last len bytes written to the TCP socket fd reached the peer,
 * after a read on it returned EOF or a reset. Never delivered is proven only
 * by the connection being reset (state CLOSE) while exactly those len bytes
 * are unacknowledged (SIOCOUTQ). Waits at most wait_ms for the RST or the ACK
 * that answers them, about one round trip, without consuming anything the
 * program could observe (no read, no SO_ERROR). Preserves errno. */
enum hc_delivery hc_delivery_verdict(int fd, size_t len, unsigned wait_ms);

const char *hc_delivery_name(enum hc_delivery d);

/* Sends the len bytes of buf on the fresh non-blocking socket s in one call,
 * without SIGPIPE, making room in its send buffer first if it is too small.
 * Returns 0, or an errno value: then part of the bytes may be on their way,
 * and the caller resets s rather than closing it. Preserves errno. */
int hc_send_whole(int s, const void *buf, size_t len);

#endif
