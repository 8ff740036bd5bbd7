/* request.h - the request kept for a replay: the bytes of a connection's
 * request under way, from its boundary write on, until its reply starts.
 * replay.h proves it was never delivered before heal.c resends it. Plain
 * memory; no I/O, no lock of its own (the table's lock guards it). */
#ifndef HC_REQUEST_H
#define HC_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "buf.h"

struct hc_request {
	struct hc_buf b; /* its bytes, while open */
	bool open;       /* b holds the request under way, replayable */
	bool replayed;   /* that request was resent once already */
};

/* Starts keeping the next request (its boundary write and what follows it),
 * dropping whatever was kept before. */
void hc_request_begin(struct hc_request *r);

/* Adds the first n bytes of iov (which the kernel just took from a write) to
 * the request. A request that grows past max bytes, or that cannot be kept
 * (no memory, no iovec), is not replayable: it is dropped. */
void hc_request_append(struct hc_request *r, const struct iovec *iov, size_t iovcnt, size_t n, size_t max);

/* Drops the request (its reply has started, or it can no longer be
 * replayed); a small buffer stays for the next one. */
void hc_request_forget(struct hc_request *r);

/* Frees it all (the connection is gone). */
void hc_request_free(struct hc_request *r);

#endif
