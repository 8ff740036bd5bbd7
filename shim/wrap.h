/* wrap.h - shared by the interposed entry points (wrap_*.c): the export and
 * cold-path markers and the failure path of the write family. */
#ifndef HC_WRAP_H
#define HC_WRAP_H

#include <errno.h>
#include <stddef.h>
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

#endif
