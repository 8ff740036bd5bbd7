/* resp_wire.h - the RESP (redis) wire format: a streaming parser of what a
 * client sends (multibulk requests), one of what a server replies (RESP2 and
 * RESP3), and walks over a complete request's arguments. Pure: bytes in,
 * state out; no I/O, no allocation. resp.h builds the session on these. */
#ifndef HC_RESP_WIRE_H
#define HC_RESP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_RESP_DEPTH 16 /* nesting of a reply the parser follows */
#define HC_RESP_CAPS 3   /* arguments of a command looked at: name, subcommand, its argument */
#define HC_RESP_CAPLEN 16

/* The streaming parser of what the client sends: *N\r\n then N $LEN\r\nBYTES\r\n. */
struct hc_resp_req {
	uint8_t st;
	uint8_t ndig;
	bool neg;
	uint32_t nargs, argi;
	uint64_t num;  /* the number being read */
	uint64_t left; /* bytes of the current argument still to come */
	uint64_t cmd_len; /* bytes of the current command so far */
	uint8_t caplen[HC_RESP_CAPS]; /* 255: longer than HC_RESP_CAPLEN */
	char cap[HC_RESP_CAPS][HC_RESP_CAPLEN]; /* the first arguments, lower-cased */
};

/* The streaming parser of what the server sends, RESP2 and RESP3. */
struct hc_resp_rep {
	uint8_t st;
	uint8_t type;     /* type byte of the item being read */
	uint8_t top;      /* type byte of the current top-level item */
	uint8_t depth;
	uint8_t ndig;
	bool neg;
	uint8_t headlen;  /* bytes of the top-level simple string's line (255: more than head holds) */
	char head[8];
	uint32_t attr;    /* bit d: the aggregate at depth d is an attribute (not an item of its parent) */
	uint64_t num;
	uint64_t left;    /* bytes of a bulk item still to come */
	uint64_t remain[HC_RESP_DEPTH]; /* items still to come at each depth */
};

/* What a request parser's step stopped at. */
enum hc_resp_ev {
	HC_RESP_EV_MORE,  /* the bytes ran out */
	HC_RESP_EV_ARG,   /* the end of an argument (q->argi counts it) */
	HC_RESP_EV_CMD,   /* the end of a command */
	HC_RESP_EV_EMPTY, /* an empty multibulk (which redis ignores) */
	HC_RESP_EV_BAD,   /* a malformed byte (an inline command too) */
};

/* Parses from p[*pos] on until one of those; advances *pos past what it
 * consumed. A zeroed parser is between commands. */
enum hc_resp_ev hc_resp_req_step(struct hc_resp_req *q, const unsigned char *p, size_t n, size_t *pos);

/* True if q is between commands (nothing of the next one parsed yet). */
bool hc_resp_req_between(const struct hc_resp_req *q);

/* Argument i of the command being parsed is the word w (lower case), or one
 * of the NULL-ended words. */
bool hc_resp_cap_is(const struct hc_resp_req *q, unsigned i, const char *w);
bool hc_resp_cap_in(const struct hc_resp_req *q, unsigned i, const char *const *words);

/* Calls fn(argument, its length, arg) for each argument of one complete,
 * well-formed command (bytes b, len). */
void hc_resp_each_arg(const unsigned char *b, size_t len, void (*fn)(const unsigned char *, size_t, void *), void *arg);

/* The argument (a, alen) is the word w (lower case), in any case. */
bool hc_resp_word_eq(const unsigned char *a, size_t alen, const char *w);

/* Parses reply bytes from p until a top-level reply is complete (*done) or
 * the bytes run out. Returns the count consumed, or -1 on a malformed reply.
 * A zeroed parser is between replies. */
long hc_resp_rep_next(struct hc_resp_rep *s, const unsigned char *p, size_t n, bool *done);

/* The reply that means a command succeeded. */
enum hc_resp_expect { HC_RESP_EXPECT_OK, HC_RESP_EXPECT_HELLO, HC_RESP_EXPECT_RESET };

/* The top-level reply s just parsed is that success. */
bool hc_resp_reply_means(const struct hc_resp_rep *s, uint8_t expect);

#endif
