/* wrap.h - shared by the interposed entry points (wrap_*.c): the export and
 * cold-path markers and the failure path of the write family. */
#ifndef HC_WRAP_H
#define HC_WRAP_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conn.h"
#include "real.h"
#include "table.h"

/* Only these symbols leave the library (-fvisibility=hidden elsewhere). */
#define HC_EXPORT __attribute__((visibility("default")))

/* The managed paths of the wrappers: out of line, so that the fast path of an
 * unmanaged fd is a bitmap test and a tail call, with no stack frame. */
#define HC_COLD __attribute__((noinline, cold))

/* The failure path: nothing was sent, the connection is dead: EPIPE, no signal. */
static inline ssize_t hc_fail_epipe(void)
{
	errno = EPIPE;
	return -1;
}

/* The buffers of a read or write call, as iovecs. */
struct hc_iovecs {
	const struct iovec *iov;
	size_t cnt;
	struct iovec one; /* a call's single buffer */
};

/* Fills v from a call that returned ret: its msghdr's iovecs, its iovec
 * array, or its one buffer. A msghdr is looked into only once the kernel has
 * accepted it: a bad pointer is the kernel's EFAULT to report, not ours to
 * fault on. */
static inline void hc_call_iovecs(struct hc_iovecs *v, const void *buf, size_t n, const struct iovec *iov, int iovcnt,
				  const struct msghdr *msg, ssize_t ret)
{
	if (msg != NULL) {
		v->iov = ret >= 0 ? msg->msg_iov : NULL;
		v->cnt = ret >= 0 ? msg->msg_iovlen : 0;
	} else if (iov != NULL) {
		v->iov = iov;
		v->cnt = iovcnt > 0 ? (size_t)iovcnt : 0;
	} else {
		v->one = (struct iovec){ (void *)buf, n };
		v->iov = &v->one;
		v->cnt = 1;
	}
}

#endif
