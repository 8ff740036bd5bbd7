/* resp.c - a RESP connection's session, from the bytes each way: the request
 * parser, the reply parser, the record of session commands and the check of
 * their replies on a new connection. */
#define _GNU_SOURCE
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers -------------------------------------------------------------- */

/* Makes room for need bytes in the buffer *b (its len bytes kept, cap), up
 * to max; a buffer given up is wiped first. Returns false if need is over
 * max or there is no memory (the buffer is then unchanged). */
static bool buf_reserve(unsigned char **b, uint32_t len, uint32_t *cap, size_t need, size_t max)
{
	size_t c = *cap ? *cap : 64;
	unsigned char *grown;

	if (need > max || need > UINT32_MAX)
		return false;
	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	if (c > max)
		c = max;
	grown = malloc(c);
	if (grown == NULL)
		return false;
	if (len > 0)
		memcpy(grown, *b, len);
	if (*b != NULL) {
		explicit_bzero(*b, *cap);
		free(*b);
	}
	*b = grown;
	*cap = (uint32_t)c;
	return true;
}

/* Appends the n bytes at p to the buffer (*b, len, cap), up to max bytes.
 * Returns false (the buffer unchanged) if they do not fit. */
static bool buf_put(unsigned char **b, uint32_t *len, uint32_t *cap, const unsigned char *p, size_t n, size_t max)
{
	if (!buf_reserve(b, *len, cap, (size_t)*len + n, max))
		return false;
	if (n > 0)
		memcpy(*b + *len, p, n);
	*len += (uint32_t)n;
	return true;
}

/* Removes n bytes at off from the buffer (len), wiping what is left behind. */
static void buf_cut(unsigned char *b, uint32_t *len, uint32_t off, uint32_t n)
{
	memmove(b + off, b + off + n, *len - off - n);
	*len -= n;
	explicit_bzero(b + *len, n);
}

static void buf_free(unsigned char **b, uint32_t *len, uint32_t *cap)
{
	if (*b != NULL) {
		explicit_bzero(*b, *cap);
		free(*b);
	}
	*b = NULL;
	*len = *cap = 0;
}

void hc_resp_init(struct hc_resp *r, bool see_replies, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->see_replies = see_replies;
	r->max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	r->counting = true; /* nothing written, nothing owed: 0 of 0 */
}

void hc_resp_free(struct hc_resp *r)
{
	buf_free(&r->recbuf, &r->rec_len, &r->rec_cap);
	buf_free(&r->pendbuf, &r->pend_len, &r->pend_cap);
	buf_free(&r->curbuf, &r->cur_len, &r->cur_cap);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ---- the request parser ---------------------------------------------------- */

enum { RQ_START, RQ_COUNT, RQ_COUNT_LF, RQ_DOLLAR, RQ_LEN, RQ_LEN_LF, RQ_BULK, RQ_BULK_CR, RQ_BULK_LF };
enum { EV_MORE, EV_ARG, EV_CMD, EV_EMPTY, EV_BAD };

/* redis's own limits (proto-max-bulk-len, a multibulk's count). */
#define MAX_BULK (512ull * 1024 * 1024)
#define MAX_ARGS (1u << 20)

/* Parses from p[*pos] on until the end of the buffer or the end of an
 * argument (EV_ARG, q->argi counts it), of a command (EV_CMD), of an empty
 * multibulk (EV_EMPTY, which redis ignores), or a malformed byte (EV_BAD).
 * Advances *pos past what it consumed. */
static int req_step(struct hc_resp_req *q, const unsigned char *p, size_t n, size_t *pos)
{
	size_t i = *pos;
	int ev = EV_MORE;

	while (i < n && ev == EV_MORE) {
		unsigned char c = p[i];
		switch (q->st) {
		case RQ_START:
			if (c != '*')
				return EV_BAD; /* inline commands and garbage alike */
			q->st = RQ_COUNT;
			q->num = 0;
			q->ndig = 0;
			q->neg = false;
			i++;
			break;
		case RQ_COUNT:
		case RQ_LEN:
			if (c == '\r' && q->ndig > 0) {
				q->st++; /* RQ_COUNT_LF, RQ_LEN_LF */
			} else if (c == '-' && q->st == RQ_COUNT && q->ndig == 0 && !q->neg) {
				q->neg = true;
			} else if (c >= '0' && c <= '9' && q->ndig < 18) {
				q->num = q->num * 10 + (c - '0');
				q->ndig++;
			} else {
				return EV_BAD;
			}
			i++;
			break;
		case RQ_COUNT_LF:
			if (c != '\n')
				return EV_BAD;
			i++;
			if (q->neg || q->num == 0) {
				q->st = RQ_START;
				ev = EV_EMPTY;
				break;
			}
			if (q->num > MAX_ARGS)
				return EV_BAD;
			q->nargs = (uint32_t)q->num;
			q->argi = 0;
			q->st = RQ_DOLLAR;
			break;
		case RQ_DOLLAR:
			if (c != '$')
				return EV_BAD;
			q->num = 0;
			q->ndig = 0;
			q->st = RQ_LEN;
			i++;
			break;
		case RQ_LEN_LF:
			if (c != '\n' || q->num > MAX_BULK)
				return EV_BAD;
			i++;
			q->left = q->num;
			q->st = q->left > 0 ? RQ_BULK : RQ_BULK_CR;
			break;
		case RQ_BULK: {
			size_t k = q->left < n - i ? (size_t)q->left : n - i;
			if (q->argi < HC_RESP_CAPS) {
				uint8_t *cl = &q->caplen[q->argi];
				for (size_t j = 0; j < k && *cl != 255; j++) {
					if (*cl < HC_RESP_CAPLEN)
						q->cap[q->argi][(*cl)++] = (char)lower(p[i + j]);
					else
						*cl = 255;
				}
			}
			i += k;
			q->left -= k;
			if (q->left == 0)
				q->st = RQ_BULK_CR;
			break;
		}
		case RQ_BULK_CR:
			if (c != '\r')
				return EV_BAD;
			q->st = RQ_BULK_LF;
			i++;
			break;
		case RQ_BULK_LF:
			if (c != '\n')
				return EV_BAD;
			i++;
			q->argi++;
			if (q->argi == q->nargs) {
				q->st = RQ_START;
				ev = EV_CMD;
			} else {
				q->st = RQ_DOLLAR;
				ev = EV_ARG;
			}
			break;
		}
	}
	q->cmd_len += i - *pos;
	*pos = i;
	return ev;
}

/* Argument i of the command being parsed is the word w. */
static bool cap_is(const struct hc_resp_req *q, unsigned i, const char *w)
{
	size_t len = strlen(w);
	return i < HC_RESP_CAPS && q->argi > i && q->caplen[i] == len && memcmp(q->cap[i], w, len) == 0;
}

static bool cap_in(const struct hc_resp_req *q, unsigned i, const char *const *words)
{
	for (; *words != NULL; words++)
		if (cap_is(q, i, *words))
			return true;
	return false;
}

/* The settings of a session a command makes, one bit each. */
enum {
	G_USER = 1 << 0,
	G_DB = 1 << 1,
	G_PROTO = 1 << 2,
	G_NAME = 1 << 3,
	G_LIBNAME = 1 << 4,
	G_LIBVER = 1 << 5,
	G_INFO = 1 << 6, /* another CLIENT SETINFO attribute */
	G_NOEVICT = 1 << 7,
	G_NOTOUCH = 1 << 8,
	G_READMODE = 1 << 9,
};
/* What survives a RESET (redis's clearClientConnectionState keeps the library's name and version). */
#define G_KEPT_BY_RESET (G_LIBNAME | G_LIBVER | G_INFO)

enum kind { K_PLAIN, K_SESSION, K_RESET, K_MULTI, K_EXEC, K_WATCH, K_UNWATCH, K_END };

/* Names whose command may be a session command: its bytes are kept. */
static const char *const candidates[] = { "auth", "select", "hello", "client", "readonly", "readwrite", "reset", NULL };
static const char *const client_session[] = { "setname", "setinfo", "no-evict", "no-touch", NULL };
static const char *const modes[] = { "subscribe", "psubscribe", "ssubscribe", "monitor", "sync", "psync", "replconf", NULL };

/* Walks the arguments of one complete, well-formed command (bytes b, len):
 * calls fn(argument, its length, arg) for each. */
static void each_arg(const unsigned char *b, size_t len, void (*fn)(const unsigned char *, size_t, void *), void *arg)
{
	size_t i = 1, nargs = 0;

	while (i < len && b[i] != '\r')
		nargs = nargs * 10 + (size_t)(b[i++] - '0');
	i += 2;
	for (size_t k = 0; k < nargs && i < len; k++) {
		size_t alen = 0;
		for (i++; i < len && b[i] != '\r'; i++)
			alen = alen * 10 + (size_t)(b[i] - '0');
		i += 2;
		if (i + alen > len)
			return;
		fn(b + i, alen, arg);
		i += alen + 2;
	}
}

static bool word_eq(const unsigned char *a, size_t alen, const char *w)
{
	size_t len = strlen(w);
	if (alen != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != (unsigned char)w[i])
			return false;
	return true;
}

/* HELLO protover [AUTH user pass] [SETNAME name]: which settings it makes. */
struct hello_scan {
	unsigned k;
	uint16_t groups;
};

static void hello_arg(const unsigned char *a, size_t alen, void *arg)
{
	struct hello_scan *h = arg;
	if (h->k == 1)
		h->groups |= G_PROTO;
	else if (h->k >= 2 && word_eq(a, alen, "auth"))
		h->groups |= G_USER;
	else if (h->k >= 2 && word_eq(a, alen, "setname"))
		h->groups |= G_NAME;
	h->k++;
}

/* What the complete command q (its bytes b, len, if kept) does to the session. */
static enum kind command_kind(const struct hc_resp_req *q, const unsigned char *b, size_t len, uint16_t *groups,
			      uint8_t *expect)
{
	static const char *const off_skip[] = { "off", "skip", NULL };
	unsigned n = q->nargs;

	*groups = 0;
	*expect = HC_RESP_EXPECT_OK;
	if (cap_is(q, 0, "auth") && (n == 2 || n == 3))
		*groups = G_USER;
	else if (cap_is(q, 0, "select") && n == 2)
		*groups = G_DB;
	else if (cap_is(q, 0, "readonly") || cap_is(q, 0, "readwrite"))
		*groups = G_READMODE;
	else if (cap_is(q, 0, "hello") && n >= 2) {
		struct hello_scan h = { 0, 0 };
		if (b != NULL)
			each_arg(b, len, hello_arg, &h);
		*groups = h.groups ? h.groups : G_PROTO;
		*expect = HC_RESP_EXPECT_HELLO;
	} else if (cap_is(q, 0, "client")) {
		if (cap_is(q, 1, "setname") && n == 3)
			*groups = G_NAME;
		else if (cap_is(q, 1, "setinfo") && n == 4)
			*groups = cap_is(q, 2, "lib-name") ? G_LIBNAME : cap_is(q, 2, "lib-ver") ? G_LIBVER : G_INFO;
		else if (cap_is(q, 1, "no-evict") && n == 3)
			*groups = G_NOEVICT;
		else if (cap_is(q, 1, "no-touch") && n == 3)
			*groups = G_NOTOUCH;
		else if (cap_is(q, 1, "tracking") && n >= 3 && cap_is(q, 2, "on"))
			return K_END;
		else if (cap_is(q, 1, "reply") && n >= 3 && cap_in(q, 2, off_skip))
			return K_END;
	} else if (cap_is(q, 0, "reset")) {
		*expect = HC_RESP_EXPECT_RESET;
		return K_RESET;
	} else if (cap_is(q, 0, "multi")) {
		return K_MULTI;
	} else if (cap_is(q, 0, "exec") || cap_is(q, 0, "discard")) {
		return K_EXEC;
	} else if (cap_is(q, 0, "watch")) {
		return K_WATCH;
	} else if (cap_is(q, 0, "unwatch")) {
		return K_UNWATCH;
	} else if (cap_in(q, 0, modes)) {
		return K_END;
	}
	return *groups ? K_SESSION : K_PLAIN;
}

/* ---- the record ----------------------------------------------------------- */

static bool end(struct hc_resp *r, enum hc_resp_end why)
{
	if (r->end == HC_RESP_END_NONE)
		r->end = why;
	return false;
}

/* Keeps the session command (bytes b, len, settings groups) that succeeded,
 * or is to be checked on the new connection. A later command that makes
 * exactly the settings of the last one to touch them takes its place (SELECT
 * after SELECT); any other is appended, so that each setting is made last by
 * the command that made it last, and in the same order relative to the
 * others (AUTH before the SELECT it allowed). Returns false past the bounds. */
static bool record_add(struct hc_resp *r, const unsigned char *b, uint32_t len, uint16_t groups, uint8_t expect)
{
	int j;

	for (j = (int)r->nrec - 1; j >= 0 && !(r->rec[j].groups & groups); j--)
		;
	if (j >= 0 && r->rec[j].groups == groups) {
		struct hc_resp_cmd *x = &r->rec[j];
		uint32_t tail = r->rec_len - x->off - x->len, old = x->len;
		size_t now = (size_t)r->rec_len - old + len;
		if (!buf_reserve(&r->recbuf, r->rec_len, &r->rec_cap, now, r->max))
			return end(r, HC_RESP_END_TOO_BIG);
		memmove(r->recbuf + x->off + len, r->recbuf + x->off + old, tail);
		memcpy(r->recbuf + x->off, b, len);
		if (now < r->rec_len)
			explicit_bzero(r->recbuf + now, r->rec_len - now);
		r->rec_len = (uint32_t)now;
		x->len = len;
		x->expect = expect;
		for (unsigned k = (unsigned)j + 1; k < r->nrec; k++)
			r->rec[k].off = r->rec[k].off - old + len;
		return true;
	}
	if (r->nrec == HC_RESP_ENTRIES || !buf_put(&r->recbuf, &r->rec_len, &r->rec_cap, b, len, r->max))
		return end(r, HC_RESP_END_TOO_BIG);
	r->rec[r->nrec++] = (struct hc_resp_cmd){ .off = r->rec_len - len, .len = len, .groups = groups, .expect = expect };
	return true;
}

/* RESET succeeded: the session is as new, but for CLIENT SETINFO. */
static void record_reset(struct hc_resp *r)
{
	unsigned k = 0;

	for (unsigned j = 0; j < r->nrec; j++) {
		struct hc_resp_cmd x = r->rec[j];
		if ((x.groups & ~G_KEPT_BY_RESET) == 0) {
			r->rec[k++] = x;
			continue;
		}
		buf_cut(r->recbuf, &r->rec_len, x.off, x.len);
		for (unsigned m = j + 1; m < r->nrec; m++)
			r->rec[m].off -= x.len;
	}
	r->nrec = (uint8_t)k;
	r->multi = r->watch = false;
}

/* After a write, or a reply: once nothing is watched any more, replies that
 * are still owed will not be counted, and from then on the place of a reply
 * is not known. Watching lasts while a session command's reply is
 * outstanding, and until the replies of the writes made meanwhile are in
 * (watch_until): a pipelined SELECT and GET, then another SELECT, is all
 * counted. */
static void watch_check(struct hc_resp *r)
{
	if (r->npend == 0 && r->answered >= r->watch_until && r->answered != r->written)
		r->counting = false;
}

/* The first pending command has its reply: kept if it succeeded. */
static bool pend_resolve(struct hc_resp *r, bool ok)
{
	struct hc_resp_cmd x = r->pend[0];
	bool kept = true;

	if (ok && x.expect == HC_RESP_EXPECT_RESET)
		record_reset(r);
	else if (ok)
		kept = record_add(r, r->pendbuf + x.off, x.len, x.groups, x.expect);
	buf_cut(r->pendbuf, &r->pend_len, x.off, x.len);
	memmove(&r->pend[0], &r->pend[1], (size_t)(r->npend - 1) * sizeof(r->pend[0]));
	r->npend--;
	for (unsigned k = 0; k < r->npend; k++)
		r->pend[k].off -= x.len;
	return kept;
}

/* One complete command (kept bytes b, len: NULL if not kept). */
static bool command_done(struct hc_resp *r, const unsigned char *b, size_t len)
{
	uint16_t groups;
	uint8_t expect;
	enum kind k = command_kind(&r->req, b, len, &groups, &expect);
	uint64_t idx = r->written++;

	switch (k) {
	case K_END:
		return end(r, HC_RESP_END_MODE);
	case K_MULTI:
		r->multi = true;
		break;
	case K_EXEC:
		r->multi = r->watch = false;
		break;
	case K_WATCH:
		if (!r->multi) /* inside MULTI, WATCH is refused */
			r->watch = true;
		break;
	case K_UNWATCH:
		if (!r->multi) /* inside MULTI it is queued, and EXEC unwatches anyway */
			r->watch = false;
		break;
	case K_PLAIN:
		break;
	case K_SESSION:
	case K_RESET:
		if (r->multi && k == K_SESSION)
			return end(r, HC_RESP_END_IN_MULTI);
		if (b == NULL)
			return end(r, HC_RESP_END_TOO_BIG);
		if (r->see_replies && r->counting) {
			if (r->npend == HC_RESP_PENDING ||
			    !buf_put(&r->pendbuf, &r->pend_len, &r->pend_cap, b, len, r->max))
				return end(r, HC_RESP_END_TOO_BIG);
			r->pend[r->npend++] = (struct hc_resp_cmd){
				.off = r->pend_len - (uint32_t)len, .len = (uint32_t)len, .groups = groups, .expect = expect, .idx = idx
			};
			return true;
		}
		/* Its outcome will not be seen: a RESET could have cleared the
		 * session or not; anything else is checked on the new connection. */
		if (k == K_RESET)
			return end(r, HC_RESP_END_UNKNOWN);
		return record_add(r, b, (uint32_t)len, groups, expect);
	}
	return true;
}

bool hc_resp_wrote(struct hc_resp *r, const unsigned char *p, size_t n)
{
	size_t max = r->max;
	size_t i = 0, start = 0; /* where in p the current command started */

	if (r->end != HC_RESP_END_NONE)
		return false;
	while (i < n) {
		int ev;
		if (r->req.st == RQ_START) {
			start = i;
			r->req.cmd_len = 0;
			memset(r->req.caplen, 0, sizeof(r->req.caplen));
			r->keep_cur = true;
			r->cur_over = false;
			r->cur_len = 0;
		}
		ev = req_step(&r->req, p, n, &i);
		if (ev == EV_BAD)
			return end(r, HC_RESP_END_UNPARSABLE);
		if (r->keep_cur && r->req.cmd_len > max) {
			r->keep_cur = false;
			r->cur_over = true;
		}
		if (ev == EV_ARG && r->keep_cur &&
		    ((r->req.argi == 1 && !cap_in(&r->req, 0, candidates)) ||
		     (r->req.argi == 2 && cap_is(&r->req, 0, "client") && !cap_in(&r->req, 1, client_session))))
			r->keep_cur = false;
		if (!r->keep_cur && r->cur_len > 0) {
			explicit_bzero(r->curbuf, r->cur_len);
			r->cur_len = 0;
		}
		if (ev == EV_CMD) {
			const unsigned char *b = NULL;
			size_t len = 0;
			if (r->keep_cur && r->cur_len > 0) {
				/* The command began in an earlier write. */
				if (!buf_put(&r->curbuf, &r->cur_len, &r->cur_cap, p + start, i - start, max))
					return end(r, HC_RESP_END_TOO_BIG);
				b = r->curbuf;
				len = r->cur_len;
			} else if (r->keep_cur) {
				b = p + start;
				len = i - start;
			}
			if (!command_done(r, b, len))
				return false;
			if (r->cur_len > 0) {
				explicit_bzero(r->curbuf, r->cur_len);
				r->cur_len = 0;
			}
		}
	}
	if (r->npend > 0)
		r->watch_until = r->written;
	watch_check(r);
	/* A command goes on in the next write: keep what it may need. */
	if (r->req.st != RQ_START && r->keep_cur &&
	    !buf_put(&r->curbuf, &r->cur_len, &r->cur_cap, p + start, n - start, max)) {
		r->keep_cur = false;
		r->cur_over = true;
		explicit_bzero(r->curbuf, r->cur_len);
		r->cur_len = 0;
	}
	return true;
}

/* ---- the reply parser -------------------------------------------------------- */

enum { RP_TYPE, RP_LINE, RP_LINE_LF, RP_BULK, RP_BULK_CR, RP_BULK_LF };

/* Types whose line is a length or a count. */
static bool counted(unsigned char t)
{
	return t == '$' || t == '*' || t == '!' || t == '=' || t == '%' || t == '~' || t == '|' || t == '>';
}

static bool bulk(unsigned char t)
{
	return t == '$' || t == '!' || t == '=';
}

/* An item ended: climbs out of the aggregates it completes. Returns true if
 * that completed a top-level reply (a push or an attribute is none). */
static bool item_done(struct hc_resp_rep *s)
{
	s->st = RP_TYPE;
	while (s->depth > 0) {
		uint32_t bit;
		if (--s->remain[s->depth - 1] > 0)
			return false;
		s->depth--;
		bit = 1u << s->depth;
		if (s->attr & bit) {
			/* An attribute is not an item of its parent: the item it
			 * describes follows. */
			s->attr &= ~bit;
			return false;
		}
	}
	return s->top != '>';
}

/* Parses reply bytes from p until a top-level reply is complete (*done) or
 * the bytes run out. Returns the count consumed, or -1 on a malformed reply. */
static long rep_next(struct hc_resp_rep *s, const unsigned char *p, size_t n, bool *done)
{
	size_t i = 0;

	*done = false;
	while (i < n) {
		unsigned char c = p[i];
		switch (s->st) {
		case RP_TYPE:
			if (c == 0 || strchr("+-:$*_,#!=(%~|>", c) == NULL)
				return -1;
			s->type = c;
			if (s->depth == 0) {
				s->top = c;
				s->headlen = 0;
			}
			s->num = 0;
			s->ndig = 0;
			s->neg = false;
			s->st = RP_LINE;
			i++;
			break;
		case RP_LINE:
			if (c == '\r') {
				s->st = RP_LINE_LF;
			} else if (c == '\n') {
				return -1;
			} else if (counted(s->type)) {
				if (c == '-' && s->ndig == 0 && !s->neg)
					s->neg = true;
				else if (c >= '0' && c <= '9' && s->ndig < 18)
					s->num = s->num * 10 + (c - '0'), s->ndig++;
				else
					return -1;
			} else if (s->depth == 0 && s->type == '+') {
				if (s->headlen < sizeof(s->head))
					s->head[s->headlen++] = (char)c;
				else
					s->headlen = 255;
			}
			i++;
			break;
		case RP_LINE_LF:
			if (c != '\n')
				return -1;
			i++;
			if (!counted(s->type)) {
				if (item_done(s)) {
					*done = true;
					return (long)i;
				}
				break;
			}
			if (s->ndig == 0 || (s->neg && !(s->num == 1 && (s->type == '$' || s->type == '*'))))
				return -1;
			if (bulk(s->type) && !s->neg) {
				if (s->num > MAX_BULK)
					return -1;
				s->left = s->num;
				s->st = s->left > 0 ? RP_BULK : RP_BULK_CR;
				break;
			}
			if (!s->neg && (s->type == '%' || s->type == '|'))
				s->num *= 2;
			if (s->neg || s->num == 0) {
				/* A null, or an empty aggregate: complete at once (an
				 * empty attribute describes the item that follows). */
				if (s->type == '|') {
					s->st = RP_TYPE;
					break;
				}
				if (item_done(s)) {
					*done = true;
					return (long)i;
				}
				break;
			}
			if (s->depth == HC_RESP_DEPTH)
				return -1;
			s->remain[s->depth] = s->num;
			if (s->type == '|')
				s->attr |= 1u << s->depth;
			s->depth++;
			s->st = RP_TYPE;
			break;
		case RP_BULK: {
			size_t k = s->left < n - i ? (size_t)s->left : n - i;
			i += k;
			s->left -= k;
			if (s->left == 0)
				s->st = RP_BULK_CR;
			break;
		}
		case RP_BULK_CR:
			if (c != '\r')
				return -1;
			s->st = RP_BULK_LF;
			i++;
			break;
		case RP_BULK_LF:
			if (c != '\n')
				return -1;
			i++;
			if (item_done(s)) {
				*done = true;
				return (long)i;
			}
			break;
		}
	}
	return (long)i;
}

/* The top-level reply just parsed is what success of a command looks like. */
static bool reply_means(const struct hc_resp_rep *s, uint8_t expect)
{
	switch (expect) {
	case HC_RESP_EXPECT_OK:
		return s->top == '+' && s->headlen == 2 && memcmp(s->head, "OK", 2) == 0;
	case HC_RESP_EXPECT_RESET:
		return s->top == '+' && s->headlen == 5 && memcmp(s->head, "RESET", 5) == 0;
	case HC_RESP_EXPECT_HELLO:
		return s->top == '%' || s->top == '*';
	}
	return false;
}

bool hc_resp_watching(const struct hc_resp *r)
{
	return r->see_replies && r->counting && (r->npend > 0 || r->answered < r->watch_until) &&
	       r->end == HC_RESP_END_NONE;
}


bool hc_resp_lost_sight(struct hc_resp *r)
{
	bool ok = true;

	r->counting = false;
	for (unsigned k = 0; k < r->npend && ok; k++) {
		struct hc_resp_cmd *x = &r->pend[k];
		if (x->expect == HC_RESP_EXPECT_RESET)
			ok = end(r, HC_RESP_END_UNKNOWN);
		else
			ok = record_add(r, r->pendbuf + x->off, x->len, x->groups, x->expect);
	}
	r->npend = 0;
	if (r->pend_len > 0)
		buf_cut(r->pendbuf, &r->pend_len, 0, r->pend_len);
	return ok;
}

bool hc_resp_read(struct hc_resp *r, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && hc_resp_watching(r)) {
		bool done;
		long used = rep_next(&r->rep, p + i, n - i, &done);
		if (used < 0) /* not a reply as redis writes them: count no further */
			return hc_resp_lost_sight(r);
		i += (size_t)used;
		if (!done)
			continue;
		/* The reply to a command before the first pending one, or after
		 * the last: counted, nothing else. */
		if (r->npend > 0 && r->pend[0].idx == r->answered &&
		    !pend_resolve(r, reply_means(&r->rep, r->pend[0].expect)))
			return false;
		r->answered++;
		watch_check(r);
	}
	return r->end == HC_RESP_END_NONE;
}

enum hc_resp_swap hc_resp_swappable(const struct hc_resp *r)
{
	if (r->req.st != RQ_START)
		return HC_RESP_SWAP_MID_COMMAND;
	if (r->multi)
		return HC_RESP_SWAP_MULTI;
	if (r->watch)
		return HC_RESP_SWAP_WATCH;
	if (r->npend > 0)
		return HC_RESP_SWAP_PENDING;
	if (r->see_replies && r->counting && r->answered < r->written)
		return HC_RESP_SWAP_OWED; /* replies counted and still to come */
	return HC_RESP_SWAP_OK;
}

const char *hc_resp_swap_name(enum hc_resp_swap s)
{
	switch (s) {
	case HC_RESP_SWAP_OK: return "swappable";
	case HC_RESP_SWAP_MID_COMMAND: return "a command is half written";
	case HC_RESP_SWAP_MULTI: return "a MULTI is open";
	case HC_RESP_SWAP_WATCH: return "a WATCH is open";
	case HC_RESP_SWAP_PENDING: return "a session command's reply is outstanding";
	case HC_RESP_SWAP_OWED: return "replies to earlier commands are still to come";
	}
	return "?";
}

const char *hc_resp_end_name(enum hc_resp_end e)
{
	switch (e) {
	case HC_RESP_END_NONE: return "none";
	case HC_RESP_END_UNPARSABLE: return "a write that is no multibulk request";
	case HC_RESP_END_MODE: return "a mode that cannot be rebuilt (SUBSCRIBE, MONITOR, TRACKING, REPLY, SYNC)";
	case HC_RESP_END_TOO_BIG: return "a session longer than HALFCLOSE_SESSION_MAX";
	case HC_RESP_END_IN_MULTI: return "a session command inside MULTI";
	case HC_RESP_END_UNKNOWN: return "a session change whose outcome cannot be seen";
	}
	return "?";
}

const unsigned char *hc_resp_record(const struct hc_resp *r, size_t *len)
{
	*len = r->rec_len;
	return r->recbuf;
}

unsigned hc_resp_record_count(const struct hc_resp *r)
{
	return r->nrec;
}

/* ---- describing the session, for logs ----------------------------------------- */

struct describe {
	unsigned k;
	char db[24];
	uint16_t groups;
	char proto;
};

static void describe_arg(const unsigned char *a, size_t alen, void *arg)
{
	struct describe *d = arg;
	if (d->k == 1 && d->groups == G_DB) {
		size_t n = alen < sizeof(d->db) - 1 ? alen : sizeof(d->db) - 1;
		for (size_t i = 0; i < n; i++)
			d->db[i] = a[i] >= '0' && a[i] <= '9' ? (char)a[i] : '?';
		d->db[n] = '\0';
	} else if (d->k == 1 && (d->groups & G_PROTO) && alen == 1) {
		d->proto = (char)a[0];
	}
	d->k++;
}

/* Appends ", ITEM" (or ITEM first) to buf (len bytes, used so far), cut short if it does not fit. */
__attribute__((format(printf, 4, 5))) static void add_item(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (*used + 1 >= len)
		return;
	if (*used > 0) {
		m = snprintf(buf + *used, len - *used, ", ");
		*used += m > 0 && (size_t)m < len - *used ? (size_t)m : len - *used - 1;
	}
	va_start(ap, fmt);
	m = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	*used += m > 0 && (size_t)m < len - *used ? (size_t)m : len - *used - 1;
}

const char *hc_resp_describe(const struct hc_resp *r, char *buf, size_t len)
{
	char db[24] = "";
	char proto = 0;
	uint16_t all = 0;
	size_t used = 0;

	for (unsigned j = 0; j < r->nrec; j++) {
		struct describe d = { .groups = r->rec[j].groups };
		each_arg(r->recbuf + r->rec[j].off, r->rec[j].len, describe_arg, &d);
		if (d.db[0] != '\0')
			memcpy(db, d.db, sizeof(db));
		if (d.proto >= '0' && d.proto <= '9')
			proto = d.proto;
		all |= r->rec[j].groups;
	}
	if (len > 0)
		buf[0] = '\0';
	if (all & G_DB)
		add_item(buf, len, &used, "db %s", db);
	if (all & G_USER)
		add_item(buf, len, &used, "auth");
	if (proto)
		add_item(buf, len, &used, "resp%c", proto);
	if (all & G_NAME)
		add_item(buf, len, &used, "name");
	if (all & (G_LIBNAME | G_LIBVER | G_INFO))
		add_item(buf, len, &used, "lib info");
	if (all & G_NOEVICT)
		add_item(buf, len, &used, "no-evict");
	if (all & G_NOTOUCH)
		add_item(buf, len, &used, "no-touch");
	if (all & G_READMODE)
		add_item(buf, len, &used, "read mode");
	return buf;
}

/* ---- the check on a new connection ------------------------------------------- */

void hc_resp_check_begin(struct hc_resp_check *k, const struct hc_resp *r)
{
	memset(k, 0, sizeof(*k));
	k->want = r->nrec;
	for (unsigned j = 0; j < r->nrec; j++)
		k->expect[j] = r->rec[j].expect;
}

enum hc_resp_verdict hc_resp_check_feed(struct hc_resp_check *k, const unsigned char *p, size_t n)
{
	size_t i = 0;

	if (k->got == k->want)
		return n == 0 ? HC_RESP_GOOD : HC_RESP_BAD;
	while (i < n) {
		bool done;
		long used = rep_next(&k->rep, p + i, n - i, &done);
		if (used < 0)
			return HC_RESP_BAD;
		i += (size_t)used;
		if (!done)
			continue;
		if (!reply_means(&k->rep, k->expect[k->got]))
			return HC_RESP_BAD;
		if (++k->got == k->want)
			return i == n ? HC_RESP_GOOD : HC_RESP_BAD; /* nothing may follow */
	}
	return HC_RESP_MORE;
}
