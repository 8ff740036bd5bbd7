/* session.c - a connection's class from its first write, and its session
 * kept up from the bytes the program writes and reads. */
#define _GNU_SOURCE
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

size_t hc_iov_head(const struct iovec *iov, size_t iovcnt, size_t len, unsigned char *out, size_t cap)
{
	size_t n = 0;

	if (len < cap)
		cap = len;
	for (size_t i = 0; iov != NULL && i < iovcnt && n < cap; i++) {
		size_t k = iov[i].iov_len < cap - n ? iov[i].iov_len : cap - n;
		if (iov[i].iov_base == NULL)
			continue;
		memcpy(out + n, iov[i].iov_base, k);
		n += k;
	}
	return n;
}

bool hc_session_needs_bytes(const struct hc_conn *c, bool boundary)
{
	switch (c->proto) {
	case HC_PROTO_NONE:
	case HC_PROTO_RESP:
	case HC_PROTO_SERVER_FIRST: /* set at the first write, left alone after it */
		return true;
	case HC_PROTO_OTHER:
	case HC_PROTO_MEMCACHED:
		return boundary; /* a TLS record after a STARTTLS, an inline AUTH */
	case HC_PROTO_HTTP1:
		return boundary || (c->ps.http != NULL && c->ps.http->in_head);
	default:
		return false;
	}
}

/* What leaving a connection of class proto alone counts as. */
static enum hc_leave leave_for(enum hc_proto proto, const struct hc_config *cfg)
{
	if (proto == HC_PROTO_TLS)
		return HC_LEAVE_TLS;
	if (hc_proto_kind(proto) == HC_KIND_NEVER)
		return HC_LEAVE_STATEFUL;
	return hc_proto_heals(proto, cfg->heal) ? HC_LEAVE_NONE : HC_LEAVE_UNKNOWN;
}

/* The class of c's first write (head: its first bytes); the state it needs. */
static enum hc_leave classify(struct hc_conn *c, const struct hc_config *cfg, bool sees_reads,
			      const unsigned char *head, size_t n, const char **why)
{
	enum hc_leave l;

	c->proto = (uint8_t)hc_proto_classify(head, n, false);
	l = leave_for(c->proto, cfg);
	if (l != HC_LEAVE_NONE) {
		*why = hc_proto_name(c->proto);
		return l;
	}
	if (c->proto == HC_PROTO_RESP) {
		c->ps.resp = malloc(sizeof(*c->ps.resp));
		if (c->ps.resp != NULL)
			hc_resp_init(c->ps.resp, sees_reads, cfg->session_max);
	} else if (c->proto == HC_PROTO_HTTP1) {
		c->ps.http = calloc(1, sizeof(*c->ps.http));
	} else {
		return HC_LEAVE_NONE;
	}
	if (c->ps.resp == NULL) { /* either member: they alias */
		*why = "no memory for its session";
		return HC_LEAVE_NO_MEMORY;
	}
	return HC_LEAVE_NONE;
}

enum hc_leave hc_session_wrote(struct hc_conn *c, const struct hc_config *cfg, const struct hc_written *w,
			       const struct iovec *iov, size_t iovcnt, size_t len, const char **why)
{
	bool boundary = w->boundary;
	unsigned char head[32]; /* the bytes' head, read only where a class is decided */
	size_t n;
	enum hc_leave l;
	bool first = true;

	*why = "";
	if (hc_proto_kind((enum hc_proto)c->proto) == HC_KIND_NEVER) {
		*why = c->proto == HC_PROTO_SERVER_FIRST ? "the server spoke first" : hc_proto_name(c->proto);
		return leave_for(c->proto, cfg);
	}
	if (iov == NULL && c->proto != HC_PROTO_OTHER) {
		/* Bytes that cannot be seen (sendmmsg) on a connection whose class
		 * or session depends on them: do not guess. */
		*why = "a write whose bytes cannot be seen";
		return c->proto == HC_PROTO_NONE || c->proto == HC_PROTO_RESP ? HC_LEAVE_STATEFUL : HC_LEAVE_NONE;
	}
	if (c->proto == HC_PROTO_NONE) {
		n = hc_iov_head(iov, iovcnt, len, head, sizeof(head));
		l = classify(c, cfg, w->sees_reads, head, n, why);
		if (l != HC_LEAVE_NONE)
			return l;
	} else if (boundary && c->proto != HC_PROTO_RESP) {
		/* A stateless class can only become stricter (a TLS record after a
		 * STARTTLS); a RESP connection's TLS bytes do not parse. */
		enum hc_proto p;
		n = hc_iov_head(iov, iovcnt, len, head, sizeof(head));
		p = hc_proto_reclassify((enum hc_proto)c->proto, head, n);
		if (p != c->proto) {
			c->proto = (uint8_t)p;
			*why = hc_proto_name(p);
			return leave_for(p, cfg);
		}
		if (c->proto == HC_PROTO_OTHER || c->proto == HC_PROTO_MEMCACHED)
			return HC_LEAVE_NONE;
	}
	if (c->proto == HC_PROTO_RESP && w->reads_between && !hc_resp_lost_sight(c->ps.resp)) {
		*why = hc_resp_end_name(c->ps.resp->end);
		return HC_LEAVE_STATEFUL;
	}
	for (size_t i = 0; i < iovcnt && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
		const unsigned char *b = iov[i].iov_base;
		len -= k;
		if (k == 0)
			continue;
		if (c->proto == HC_PROTO_RESP && !hc_resp_wrote(c->ps.resp, b, k)) {
			*why = hc_resp_end_name(c->ps.resp->end);
			return HC_LEAVE_STATEFUL;
		}
		if (c->proto == HC_PROTO_HTTP1 && hc_http_scan(c->ps.http, b, k, boundary && first)) {
			*why = "CONNECT, Upgrade: or NTLM/Negotiate";
			return HC_LEAVE_STATEFUL;
		}
		first = false;
	}
	return HC_LEAVE_NONE;
}

enum hc_leave hc_session_read(struct hc_conn *c, const struct iovec *iov, size_t iovcnt, size_t len, int flags,
			      const char **why)
{
	struct hc_resp *r = c->proto == HC_PROTO_RESP ? c->ps.resp : NULL;
	bool ok = true;

	if (r == NULL || !hc_resp_watching(r) || (flags & MSG_PEEK))
		return HC_LEAVE_NONE;
	if (iov == NULL || (flags & MSG_TRUNC)) {
		/* Bytes consumed that the library cannot see. */
		ok = hc_resp_lost_sight(r);
	}
	for (size_t i = 0; ok && iov != NULL && !(flags & MSG_TRUNC) && i < iovcnt && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
		ok = hc_resp_read(r, iov[i].iov_base, k);
		len -= k;
	}
	if (ok)
		return HC_LEAVE_NONE;
	*why = hc_resp_end_name(r->end);
	return HC_LEAVE_STATEFUL;
}

const char *hc_leave_count(struct hc_stats *st, enum hc_leave l, const char *why)
{
	atomic_ulong *n = NULL;

	switch (l) {
	case HC_LEAVE_NONE:
		return why;
	case HC_LEAVE_TLS:
		n = &st->tls_skipped;
		break;
	case HC_LEAVE_STATEFUL:
		n = &st->stateful_skipped;
		break;
	case HC_LEAVE_UNKNOWN:
		n = &st->unknown_skipped;
		why = "an unrecognised protocol under HALFCLOSE_HEAL=known";
		break;
	case HC_LEAVE_NO_MEMORY:
		n = &st->passthrough;
		break;
	}
	atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
	return why;
}

bool hc_session_swappable(const struct hc_conn *c, const char **why)
{
	enum hc_resp_swap s;

	if (c->proto != HC_PROTO_RESP || c->ps.resp == NULL)
		return true;
	s = hc_resp_swappable(c->ps.resp);
	*why = hc_resp_swap_name(s);
	return s == HC_RESP_SWAP_OK;
}

const char *hc_session_label(const struct hc_conn *c, char *buf, size_t len)
{
	const char *name = hc_proto_name((enum hc_proto)c->proto);
	char what[96] = "";

	if (c->proto == HC_PROTO_RESP && c->ps.resp != NULL)
		hc_resp_describe(c->ps.resp, what, sizeof(what));
	if (name[0] == '\0')
		snprintf(buf, len, "%s", "");
	else if (what[0] == '\0')
		snprintf(buf, len, " %s", name);
	else
		snprintf(buf, len, " %s (%s)", name, what);
	return buf;
}

const char *hc_session_name(const struct hc_conn *c, char *buf, size_t len)
{
	char addr[64], label[128];

	hc_session_label(c, label, sizeof(label));
	snprintf(buf, len, "%s%s%s", hc_addr_format(&c->peer.sa, addr, sizeof(addr)), label, label[0] ? ":" : "");
	return buf;
}

const struct hc_resp *hc_session_to_rebuild(const struct hc_conn *c)
{
	if (c->proto != HC_PROTO_RESP || c->ps.resp == NULL || hc_resp_record_count(c->ps.resp) == 0)
		return NULL;
	return c->ps.resp;
}
