/* buf.c - growable, bounded, wiped byte buffers (buf.h). */
#define _GNU_SOURCE
#include "buf.h"

#include <stdlib.h>
#include <string.h>

bool hc_buf_reserve(struct hc_buf *b, size_t need, size_t max)
{
	size_t c = b->cap ? b->cap : 64;
	unsigned char *grown;

	if (need > max || need > UINT32_MAX)
		return false;
	if (need <= b->cap)
		return true;
	while (c < need)
		c *= 2;
	if (c > max)
		c = max;
	/* Not realloc: the old block is wiped before it is freed. */
	grown = malloc(c);
	if (grown == NULL)
		return false;
	if (b->len > 0)
		memcpy(grown, b->p, b->len);
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	b->p = grown;
	b->cap = (uint32_t)c;
	return true;
}

bool hc_buf_put(struct hc_buf *b, const void *p, size_t n, size_t max)
{
	if (!hc_buf_reserve(b, (size_t)b->len + n, max))
		return false;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += (uint32_t)n;
	return true;
}

void hc_buf_cut(struct hc_buf *b, uint32_t off, uint32_t n)
{
	memmove(b->p + off, b->p + off + n, b->len - off - n);
	b->len -= n;
	explicit_bzero(b->p + b->len, n);
}

void hc_buf_clear(struct hc_buf *b)
{
	if (b->len > 0)
		explicit_bzero(b->p, b->len);
	b->len = 0;
}

void hc_buf_free(struct hc_buf *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	*b = (struct hc_buf){ 0 };
}
