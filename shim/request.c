/* request.c - the request kept for a replay: a buffer that grows to the
 * request's size (up to HALFCLOSE_REPLAY_MAX) and shrinks between requests. */
#include "request.h"

/* The most a buffer keeps between requests: most requests of a pooled
 * connection are small, and reusing the buffer saves a malloc and a free per
 * request (and a sanitizer's quarantine filling up with them). A larger one
 * is freed once its request is over. */
#define REQ_KEEP_CAP 256u

void hc_request_forget(struct hc_request *r)
{
	if (r->b.cap > REQ_KEEP_CAP)
		hc_buf_free(&r->b);
	else
		hc_buf_clear(&r->b);
	r->open = false;
}

void hc_request_begin(struct hc_request *r)
{
	hc_request_forget(r);
	r->open = true;
	r->replayed = false;
}

void hc_request_append(struct hc_request *r, const struct iovec *iov, size_t iovcnt, size_t n, size_t max)
{
	if (!r->open)
		return;
	if ((iov == NULL && n > 0) || (size_t)r->b.len + n < n || !hc_buf_reserve(&r->b, (size_t)r->b.len + n, max)) {
		hc_request_forget(r);
		return;
	}
	for (size_t i = 0; i < iovcnt && n > 0; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		/* the kernel took these bytes, so they are readable; room is made */
		hc_buf_put(&r->b, iov[i].iov_base, k, max);
		n -= k;
	}
	if (n > 0) /* fewer iovecs than bytes written: not what the kernel took */
		hc_request_forget(r);
}

void hc_request_free(struct hc_request *r)
{
	hc_buf_free(&r->b);
	*r = (struct hc_request){ 0 };
}
