/* resp.c - a RESP connection's session, from the bytes each way: the
 * commands parsed as they are written (resp_wire.h), what each does
 * (resp_cmd.h), the record of session commands and the check of their
 * replies on a new connection. */
#define _GNU_SOURCE
#include "resp.h"

#include <string.h>

void hc_resp_init(struct hc_resp *r, bool see_replies, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->see_replies = see_replies;
	r->max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	r->counting = true; /* nothing written, nothing owed: 0 of 0 */
}

void hc_resp_free(struct hc_resp *r)
{
	hc_buf_free(&r->rec_bytes);
	hc_buf_free(&r->pend_bytes);
	hc_buf_free(&r->cur_bytes);
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
		uint32_t tail = r->rec_bytes.len - x->off - x->len, old = x->len;
		size_t now = (size_t)r->rec_bytes.len - old + len;
		if (!hc_buf_reserve(&r->rec_bytes, now, r->max))
			return end(r, HC_RESP_END_TOO_BIG);
		memmove(r->rec_bytes.p + x->off + len, r->rec_bytes.p + x->off + old, tail);
		memcpy(r->rec_bytes.p + x->off, b, len);
		if (now < r->rec_bytes.len)
			explicit_bzero(r->rec_bytes.p + now, r->rec_bytes.len - now);
		r->rec_bytes.len = (uint32_t)now;
		x->len = len;
		x->expect = expect;
		for (unsigned k = (unsigned)j + 1; k < r->nrec; k++)
			r->rec[k].off = r->rec[k].off - old + len;
		return true;
	}
	if (r->nrec == HC_RESP_ENTRIES || !hc_buf_put(&r->rec_bytes, b, len, r->max))
		return end(r, HC_RESP_END_TOO_BIG);
	r->rec[r->nrec++] = (struct hc_resp_cmd){ .off = r->rec_bytes.len - len, .len = len, .groups = groups, .expect = expect };
	return true;
}

/* RESET succeeded: the session is as new, but for CLIENT SETINFO. */
static void record_reset(struct hc_resp *r)
{
	unsigned k = 0;

	for (unsigned j = 0; j < r->nrec; j++) {
		struct hc_resp_cmd x = r->rec[j];
		if (hc_resp_kept_by_reset(x.groups)) {
			r->rec[k++] = x;
			continue;
		}
		hc_buf_cut(&r->rec_bytes, x.off, x.len);
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
		kept = record_add(r, r->pend_bytes.p + x.off, x.len, x.groups, x.expect);
	hc_buf_cut(&r->pend_bytes, x.off, x.len);
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
	enum hc_resp_kind k = hc_resp_command_kind(&r->req, b, len, &groups, &expect);
	uint64_t idx = r->written++;

	switch (k) {
	case HC_RESP_K_END:
		return end(r, HC_RESP_END_MODE);
	case HC_RESP_K_MULTI:
		r->multi = true;
		break;
	case HC_RESP_K_EXEC:
		r->multi = r->watch = false;
		break;
	case HC_RESP_K_WATCH:
		if (!r->multi) /* inside MULTI, WATCH is refused */
			r->watch = true;
		break;
	case HC_RESP_K_UNWATCH:
		if (!r->multi) /* inside MULTI it is queued, and EXEC unwatches anyway */
			r->watch = false;
		break;
	case HC_RESP_K_PLAIN:
		break;
	case HC_RESP_K_SESSION:
	case HC_RESP_K_RESET:
		if (r->multi && k == HC_RESP_K_SESSION)
			return end(r, HC_RESP_END_IN_MULTI);
		if (b == NULL)
			return end(r, HC_RESP_END_TOO_BIG);
		if (r->see_replies && r->counting) {
			if (r->npend == HC_RESP_PENDING ||
			    !hc_buf_put(&r->pend_bytes, b, len, r->max))
				return end(r, HC_RESP_END_TOO_BIG);
			r->pend[r->npend++] = (struct hc_resp_cmd){
				.off = r->pend_bytes.len - (uint32_t)len, .len = (uint32_t)len, .groups = groups, .expect = expect, .idx = idx
			};
			return true;
		}
		/* Its outcome will not be seen: a RESET could have cleared the
		 * session or not; anything else is checked on the new connection. */
		if (k == HC_RESP_K_RESET)
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
		enum hc_resp_ev ev;
		if (hc_resp_req_between(&r->req)) {
			start = i;
			r->req.cmd_len = 0;
			memset(r->req.caplen, 0, sizeof(r->req.caplen));
			r->keep_cur = true;
			r->cur_over = false;
			hc_buf_clear(&r->cur_bytes);
		}
		ev = hc_resp_req_step(&r->req, p, n, &i);
		if (ev == HC_RESP_EV_BAD)
			return end(r, HC_RESP_END_UNPARSABLE);
		if (r->keep_cur && r->req.cmd_len > max) {
			r->keep_cur = false;
			r->cur_over = true;
		}
		if (ev == HC_RESP_EV_ARG && r->keep_cur && !hc_resp_may_be_session(&r->req))
			r->keep_cur = false;
		if (!r->keep_cur)
			hc_buf_clear(&r->cur_bytes);
		if (ev == HC_RESP_EV_CMD) {
			const unsigned char *b = NULL;
			size_t len = 0;
			if (r->keep_cur && r->cur_bytes.len > 0) {
				/* The command began in an earlier write. */
				if (!hc_buf_put(&r->cur_bytes, p + start, i - start, max))
					return end(r, HC_RESP_END_TOO_BIG);
				b = r->cur_bytes.p;
				len = r->cur_bytes.len;
			} else if (r->keep_cur) {
				b = p + start;
				len = i - start;
			}
			if (!command_done(r, b, len))
				return false;
			hc_buf_clear(&r->cur_bytes);
		}
	}
	if (r->npend > 0)
		r->watch_until = r->written;
	watch_check(r);
	/* A command goes on in the next write: keep what it may need. */
	if (!hc_resp_req_between(&r->req) && r->keep_cur &&
	    !hc_buf_put(&r->cur_bytes, p + start, n - start, max)) {
		r->keep_cur = false;
		r->cur_over = true;
		hc_buf_clear(&r->cur_bytes);
	}
	return true;
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
			ok = record_add(r, r->pend_bytes.p + x->off, x->len, x->groups, x->expect);
	}
	r->npend = 0;
	if (r->pend_bytes.len > 0)
		hc_buf_cut(&r->pend_bytes, 0, r->pend_bytes.len);
	return ok;
}

bool hc_resp_read(struct hc_resp *r, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && hc_resp_watching(r)) {
		bool done;
		long used = hc_resp_rep_next(&r->rep, p + i, n - i, &done);
		if (used < 0) /* not a reply as redis writes them: count no further */
			return hc_resp_lost_sight(r);
		i += (size_t)used;
		if (!done)
			continue;
		/* The reply to a command before the first pending one, or after
		 * the last: counted, nothing else. */
		if (r->npend > 0 && r->pend[0].idx == r->answered &&
		    !pend_resolve(r, hc_resp_reply_means(&r->rep, r->pend[0].expect)))
			return false;
		r->answered++;
		watch_check(r);
	}
	return r->end == HC_RESP_END_NONE;
}

enum hc_resp_swap hc_resp_swappable(const struct hc_resp *r)
{
	if (!hc_resp_req_between(&r->req))
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
	*len = r->rec_bytes.len;
	return r->rec_bytes.p;
}

unsigned hc_resp_record_count(const struct hc_resp *r)
{
	return r->nrec;
}

const char *hc_resp_describe(const struct hc_resp *r, char *buf, size_t len)
{
	return hc_resp_describe_record(r->rec_bytes.p, r->rec, r->nrec, buf, len);
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
		long used = hc_resp_rep_next(&k->rep, p + i, n - i, &done);
		if (used < 0)
			return HC_RESP_BAD;
		i += (size_t)used;
		if (!done)
			continue;
		if (!hc_resp_reply_means(&k->rep, k->expect[k->got]))
			return HC_RESP_BAD;
		if (++k->got == k->want)
			return i == n ? HC_RESP_GOOD : HC_RESP_BAD; /* nothing may follow */
	}
	return HC_RESP_MORE;
}
