/* wrap.h - shared by the interposed entry points (wrap_*.c): the export marker
 * and the two helpers every write-family wrapper needs. */
#ifndef HC_WRAP_H
#define HC_WRAP_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "conn.h"
#include "real.h"
#include "table.h"

/* Only these symbols leave the library (-fvisibility=hidden elsewhere). */
#define HC_EXPORT __attribute__((visibility("default")))

/* Bytes gathered for TLS detection: a record header is 3 bytes. */
#define HC_HEAD 3

/* Copies up to HC_HEAD leading bytes of iov into head; returns how many. */
static inline size_t hc_iov_head(const struct iovec *iov, size_t cnt, unsigned char *head)
{
	size_t n = 0;
	for (size_t i = 0; i < cnt && n < HC_HEAD; i++) {
		size_t take = iov[i].iov_len < HC_HEAD - n ? iov[i].iov_len : HC_HEAD - n;
		if (take > 0)
			memcpy(head + n, iov[i].iov_base, take);
		n += take;
	}
	return n;
}

/* The failure path: nothing was sent, the connection is dead: EPIPE, no signal. */
static inline ssize_t hc_fail_epipe(void)
{
	errno = EPIPE;
	return -1;
}

#endif
