/* resp_wire.c - the RESP wire format: the streaming parsers of what a
 * client sends and what a server replies (resp_wire.h). Pure. */
#include "resp_wire.h"

#include <string.h>

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Of the avail bytes at hand, those of a bulk's body (*left still to come):
 * taken from *left, their count returned; once the body is all in, *st is
 * cr, the state of the CR after it. */
static size_t take_bulk(uint64_t *left, size_t avail, uint8_t *st, uint8_t cr)
{
	size_t k = *left < avail ? (size_t)*left : avail;
	*left -= k;
	if (*left == 0)
		*st = cr;
	return k;
}

/* The CR LF after a bulk's body, in the states cr and cr + 1: byte c, taken
 * (*i moves on), is the CR (0) or the LF (1, the bulk is over), or it is out
 * of place (-1). */
static int bulk_end(uint8_t *st, uint8_t cr, unsigned char c, size_t *i)
{
	if (c != (*st == cr ? '\r' : '\n'))
		return -1;
	(*i)++;
	return (*st)++ == cr ? 0 : 1;
}

/* ---- the request parser ---------------------------------------------------- */

enum { RQ_START, RQ_COUNT, RQ_COUNT_LF, RQ_DOLLAR, RQ_LEN, RQ_LEN_LF, RQ_BULK, RQ_BULK_CR, RQ_BULK_LF };

/* redis's own limits (proto-max-bulk-len, a multibulk's count). */
#define MAX_BULK (512ull * 1024 * 1024)
#define MAX_ARGS (1u << 20)

/* The parser moves to st, a state that reads a decimal number, from its first digit. */
static void number_next(struct hc_resp_req *q, unsigned st)
{
	q->st = st;
	q->num = 0;
	q->ndig = 0;
	q->neg = false;
}

enum hc_resp_ev hc_resp_req_step(struct hc_resp_req *q, const unsigned char *p, size_t n, size_t *pos)
{
	size_t i = *pos;
	enum hc_resp_ev ev = HC_RESP_EV_MORE;
	int end;

	while (i < n && ev == HC_RESP_EV_MORE) {
		unsigned char c = p[i];
		switch (q->st) {
		case RQ_START:
			if (c != '*')
				return HC_RESP_EV_BAD; /* inline commands and garbage alike */
			number_next(q, RQ_COUNT);
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
				return HC_RESP_EV_BAD;
			}
			i++;
			break;
		case RQ_COUNT_LF:
			if (c != '\n')
				return HC_RESP_EV_BAD;
			i++;
			if (q->neg || q->num == 0) {
				q->st = RQ_START;
				ev = HC_RESP_EV_EMPTY;
				break;
			}
			if (q->num > MAX_ARGS)
				return HC_RESP_EV_BAD;
			q->nargs = (uint32_t)q->num;
			q->argi = 0;
			q->st = RQ_DOLLAR;
			break;
		case RQ_DOLLAR:
			if (c != '$')
				return HC_RESP_EV_BAD;
			number_next(q, RQ_LEN);
			i++;
			break;
		case RQ_LEN_LF:
			if (c != '\n' || q->num > MAX_BULK)
				return HC_RESP_EV_BAD;
			i++;
			q->left = q->num;
			q->st = q->left > 0 ? RQ_BULK : RQ_BULK_CR;
			break;
		case RQ_BULK: {
			size_t k = take_bulk(&q->left, n - i, &q->st, RQ_BULK_CR);
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
			break;
		}
		case RQ_BULK_CR:
		case RQ_BULK_LF:
			end = bulk_end(&q->st, RQ_BULK_CR, c, &i);
			if (end <= 0) {
				if (end < 0)
					return HC_RESP_EV_BAD;
				break;
			}
			q->argi++;
			if (q->argi == q->nargs) {
				q->st = RQ_START;
				ev = HC_RESP_EV_CMD;
			} else {
				q->st = RQ_DOLLAR;
				ev = HC_RESP_EV_ARG;
			}
			break;
		}
	}
	q->cmd_len += i - *pos;
	*pos = i;
	return ev;
}

/* Argument i of the command being parsed is the word w. */
bool hc_resp_cap_is(const struct hc_resp_req *q, unsigned i, const char *w)
{
	size_t len;

	if (i >= HC_RESP_CAPS || q->argi <= i || q->caplen[i] == 0 || q->caplen[i] == 255 || q->cap[i][0] != w[0])
		return w[0] == '\0' && i < HC_RESP_CAPS && q->argi > i && q->caplen[i] == 0;
	len = strlen(w);
	return q->caplen[i] == len && memcmp(q->cap[i], w, len) == 0;
}

bool hc_resp_cap_in(const struct hc_resp_req *q, unsigned i, const char *const *words)
{
	for (; *words != NULL; words++)
		if (hc_resp_cap_is(q, i, *words))
			return true;
	return false;
}


/* Walks the arguments of one complete, well-formed command (bytes b, len):
 * calls fn(argument, its length, arg) for each. */
void hc_resp_each_arg(const unsigned char *b, size_t len, void (*fn)(const unsigned char *, size_t, void *), void *arg)
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

bool hc_resp_word_eq(const unsigned char *a, size_t alen, const char *w)
{
	size_t len = strlen(w);
	if (alen != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != (unsigned char)w[i])
			return false;
	return true;
}

/* ---- the reply parser ------------------------------------------------------ */

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
long hc_resp_rep_next(struct hc_resp_rep *s, const unsigned char *p, size_t n, bool *done)
{
	size_t i = 0;
	int end;

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
		case RP_BULK:
			i += take_bulk(&s->left, n - i, &s->st, RP_BULK_CR);
			break;
		case RP_BULK_CR:
		case RP_BULK_LF:
			end = bulk_end(&s->st, RP_BULK_CR, c, &i);
			if (end < 0)
				return -1;
			if (end == 1 && item_done(s)) {
				*done = true;
				return (long)i;
			}
			break;
		}
	}
	return (long)i;
}

/* The top-level reply just parsed is what success of a command looks like. */
bool hc_resp_reply_means(const struct hc_resp_rep *s, uint8_t expect)
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

bool hc_resp_req_between(const struct hc_resp_req *q)
{
	return q->st == RQ_START;
}
