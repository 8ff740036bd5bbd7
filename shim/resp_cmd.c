/* resp_cmd.c - what a RESP command does to a connection's session, from
 * its name, subcommand and arguments; and a record described for logs. */
#include "resp_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* Names whose command may be a session command: its bytes are kept. */
static const char *const candidates[] = { "auth", "select", "hello", "client", "readonly", "readwrite", "reset", NULL };
static const char *const client_session[] = { "setname", "setinfo", "no-evict", "no-touch", NULL };
static const char *const modes[] = { "subscribe", "psubscribe", "ssubscribe", "monitor", "sync", "psync", "replconf", NULL };

/* Bit c - 'a': some name above, or a word hc_resp_command_kind looks for,
 * begins with the letter c. A command whose name begins with none of them
 * (GET, INCR, LPUSH, ...) is plain without a look at the lists. */
#define LETTER(c) (1u << ((c) - 'a'))
static const uint32_t first_letters = LETTER('a') | LETTER('c') | LETTER('d') | LETTER('e') | LETTER('h') |
				      LETTER('m') | LETTER('p') | LETTER('r') | LETTER('s') | LETTER('u') | LETTER('w');

static bool name_may_matter(const struct hc_resp_req *q)
{
	unsigned c = (unsigned char)q->cap[0][0];
	return q->argi > 0 && q->caplen[0] > 0 && c >= 'a' && c <= 'z' && (first_letters & LETTER(c)) != 0;
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
	else if (h->k >= 2 && hc_resp_word_eq(a, alen, "auth"))
		h->groups |= G_USER;
	else if (h->k >= 2 && hc_resp_word_eq(a, alen, "setname"))
		h->groups |= G_NAME;
	h->k++;
}

enum hc_resp_kind hc_resp_command_kind(const struct hc_resp_req *q, const unsigned char *b, size_t len, uint16_t *groups,
				       uint8_t *expect)
{
	static const char *const off_skip[] = { "off", "skip", NULL };
	unsigned n = q->nargs;

	*groups = 0;
	*expect = HC_RESP_EXPECT_OK;
	if (!name_may_matter(q))
		return HC_RESP_K_PLAIN;
	if (hc_resp_cap_is(q, 0, "auth") && (n == 2 || n == 3))
		*groups = G_USER;
	else if (hc_resp_cap_is(q, 0, "select") && n == 2)
		*groups = G_DB;
	else if (hc_resp_cap_is(q, 0, "readonly") || hc_resp_cap_is(q, 0, "readwrite"))
		*groups = G_READMODE;
	else if (hc_resp_cap_is(q, 0, "hello") && n >= 2) {
		struct hello_scan h = { 0, 0 };
		if (b != NULL)
			hc_resp_each_arg(b, len, hello_arg, &h);
		*groups = h.groups ? h.groups : G_PROTO;
		*expect = HC_RESP_EXPECT_HELLO;
	} else if (hc_resp_cap_is(q, 0, "client")) {
		if (hc_resp_cap_is(q, 1, "setname") && n == 3)
			*groups = G_NAME;
		else if (hc_resp_cap_is(q, 1, "setinfo") && n == 4)
			*groups = hc_resp_cap_is(q, 2, "lib-name") ? G_LIBNAME : hc_resp_cap_is(q, 2, "lib-ver") ? G_LIBVER : G_INFO;
		else if (hc_resp_cap_is(q, 1, "no-evict") && n == 3)
			*groups = G_NOEVICT;
		else if (hc_resp_cap_is(q, 1, "no-touch") && n == 3)
			*groups = G_NOTOUCH;
		else if (hc_resp_cap_is(q, 1, "tracking") && n >= 3 && hc_resp_cap_is(q, 2, "on"))
			return HC_RESP_K_END;
		else if (hc_resp_cap_is(q, 1, "reply") && n >= 3 && hc_resp_cap_in(q, 2, off_skip))
			return HC_RESP_K_END;
	} else if (hc_resp_cap_is(q, 0, "reset")) {
		*expect = HC_RESP_EXPECT_RESET;
		return HC_RESP_K_RESET;
	} else if (hc_resp_cap_is(q, 0, "multi")) {
		return HC_RESP_K_MULTI;
	} else if (hc_resp_cap_is(q, 0, "exec") || hc_resp_cap_is(q, 0, "discard")) {
		return HC_RESP_K_EXEC;
	} else if (hc_resp_cap_is(q, 0, "watch")) {
		return HC_RESP_K_WATCH;
	} else if (hc_resp_cap_is(q, 0, "unwatch")) {
		return HC_RESP_K_UNWATCH;
	} else if (hc_resp_cap_in(q, 0, modes)) {
		return HC_RESP_K_END;
	}
	return *groups ? HC_RESP_K_SESSION : HC_RESP_K_PLAIN;
}

bool hc_resp_may_be_session(const struct hc_resp_req *q)
{
	if (q->argi == 1)
		return name_may_matter(q) && hc_resp_cap_in(q, 0, candidates);
	if (q->argi == 2 && hc_resp_cap_is(q, 0, "client"))
		return hc_resp_cap_in(q, 1, client_session);
	return true;
}

bool hc_resp_kept_by_reset(uint16_t groups)
{
	/* redis's clearClientConnectionState keeps the library's name and version. */
	return (groups & ~(G_LIBNAME | G_LIBVER | G_INFO)) == 0;
}

/* ---- describing a record, for logs ------------------------------------------ */

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

const char *hc_resp_describe_record(const unsigned char *rec, const struct hc_resp_cmd *cmds, unsigned n, char *buf, size_t len)
{
	char db[24] = "";
	char proto = 0;
	uint16_t all = 0;
	size_t used = 0;

	for (unsigned j = 0; j < n; j++) {
		struct describe d = { .groups = cmds[j].groups };
		hc_resp_each_arg(rec + cmds[j].off, cmds[j].len, describe_arg, &d);
		if (d.db[0] != '\0')
			memcpy(db, d.db, sizeof(db));
		if (d.proto >= '0' && d.proto <= '9')
			proto = d.proto;
		all |= cmds[j].groups;
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
