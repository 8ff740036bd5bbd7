/* buf.h - a growable byte buffer with a bound, wiped before its memory is
 * given back (what it held may be a password). Plain memory: no I/O, no lock. */
#ifndef HC_BUF_H
#define HC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hc_buf {
	unsigned char *p; /* len bytes used of cap */
	uint32_t len, cap;
};

/* Makes room for need bytes (the len bytes there kept), up to max. Returns
 * false if need is over max or there is no memory (the buffer unchanged). */
bool hc_buf_reserve(struct hc_buf *b, size_t need, size_t max);

/* Appends the n bytes at p, up to max bytes in all. Returns false (the
 * buffer unchanged) if they do not fit. */
bool hc_buf_put(struct hc_buf *b, const void *p, size_t n, size_t max);

/* Removes n bytes at off, wiping what is left behind. */
void hc_buf_cut(struct hc_buf *b, uint32_t off, uint32_t n);

/* Wipes what it holds and empties it; the memory stays for reuse. */
void hc_buf_clear(struct hc_buf *b);

/* Wipes it and frees its memory. */
void hc_buf_free(struct hc_buf *b);

#endif
