/* proto.c - the class of a connection from its first bytes (DESIGN.md's table
 * in "Sessions"), and the scan of HTTP/1.x request heads for what binds a
 * connection to its state. Pure: bytes in, a verdict out. */
#include "proto.h"

#include <string.h>

/* The first n bytes of p equal the start of the m-byte word w (at least
 * min(n, m) of them: a short first write still matches what it begins). */
static bool begins(const unsigned char *p, size_t n, const char *w, size_t m)
{
	return n > 0 && memcmp(p, w, n < m ? n : m) == 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool hc_tls_record_head(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 0x03 && p[2] <= 0x04;
}

/* PostgreSQL's first message: an int32 length, then an int32 code. */
static bool postgres_first(const unsigned char *p, size_t n)
{
	uint32_t len, code;

	if (n < 8)
		return false;
	len = be32(p);
	code = be32(p + 4);
	if (len == 8 && (code == 80877103u || code == 80877104u)) /* SSLRequest, GSSENCRequest */
		return true;
	if (len == 16 && code == 80877102u) /* CancelRequest */
		return true;
	/* StartupMessage: protocol 3.x, a sane length. */
	return code >> 16 == 3 && (code & 0xffff) < 16 && len >= 8 && len <= 100000;
}

/* A MongoDB message header: messageLength, requestID, responseTo (0 for a
 * request), opCode, little-endian. */
static bool mongodb_first(const unsigned char *p, size_t n)
{
	static const uint32_t ops[] = { 2001, 2002, 2004, 2005, 2006, 2007, 2012, 2013 };
	uint32_t len, op;

	if (n < 16)
		return false;
	len = le32(p);
	op = le32(p + 12);
	if (len < 16 || len > 48u * 1024 * 1024 || le32(p + 8) != 0)
		return false;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (op == ops[i])
			return true;
	return false;
}

/* "*N\r\n$" (the first write may end anywhere after "*N\r"). */
static bool resp_first(const unsigned char *p, size_t n)
{
	size_t i = 1;

	if (n < 3 || p[0] != '*')
		return false;
	while (i < n && i < 9 && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 1 || i >= n || p[i] != '\r')
		return false;
	return (i + 1 >= n || p[i + 1] == '\n') && (i + 2 >= n || p[i + 2] == '$');
}

/* The word at p (letters and '_', at most max of them, the longest of list)
 * is one of list, compared as lower case if fold. Returns its index, or -1. */
static int word_in(const unsigned char *p, size_t n, const char *const *list, size_t count, size_t max, bool fold)
{
	char w[17];
	size_t len = 0;

	for (; len < n && len <= max && len < sizeof(w) - 1; len++) {
		unsigned char c = p[len], l = c | 0x20;
		if (c != '_' && (unsigned)(l - 'a') >= 26u)
			break;
		w[len] = (char)(fold && c != '_' ? l : c);
	}
	/* The word must end within what was written (or the write ends with it). */
	if (len == 0 || len > max || (len < n && p[len] != ' ' && p[len] != '\r'))
		return -1;
	w[len] = '\0';
	for (size_t i = 0; i < count; i++)
		if (list[i][0] == w[0] && strcmp(w, list[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const http_methods[] = {
	"CONNECT", "GET",   "HEAD",   "POST",   "PUT",    "DELETE",   "OPTIONS", "TRACE",
	"PATCH",   "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",    "UNLOCK",
	"REPORT",  "SEARCH", "MKCALENDAR",
};

/* memcached's text commands ("watch" streams logs: not a request/response
 * conversation, so it is not among them). */
static const char *const memcached_cmds[] = {
	"get", "gets",    "gat",     "gats",  "set",       "add",     "replace",     "append",  "prepend",
	"cas", "delete",  "incr",    "decr",  "touch",     "stats",   "flush_all",   "version", "verbosity",
	"quit", "mg",     "ms",      "md",    "ma",        "mn",      "me",          "cache_memlimit",
};

/* redis commands that change what a connection is, written inline. */
static const char *const redis_session_words[] = {
	"auth",   "select", "hello",    "client",    "multi",    "watch",    "subscribe", "psubscribe",
	"ssubscribe", "monitor", "sync", "psync",   "replconf", "readonly", "readwrite", "reset",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum hc_proto hc_proto_reclassify(enum hc_proto proto, const unsigned char *p, size_t n)
{
	if (hc_tls_record_head(p, n))
		return HC_PROTO_TLS;
	if (proto == HC_PROTO_OTHER && word_in(p, n, redis_session_words, COUNT(redis_session_words), 10, true) >= 0)
		return HC_PROTO_REDIS_INLINE;
	return proto;
}

enum hc_proto hc_proto_classify(const unsigned char *p, size_t n, bool server_spoke_first)
{
	int m;

	if (server_spoke_first)
		return HC_PROTO_SERVER_FIRST;
	if (n == 0)
		return HC_PROTO_OTHER;
	if (hc_tls_record_head(p, n))
		return HC_PROTO_TLS;
	if (n >= 4 && begins(p, n, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24))
		return HC_PROTO_HTTP2;
	if (n >= 4 && begins(p, n, "SSH-", 4))
		return HC_PROTO_SSH;
	if (n >= 4 && memcmp(p, "AMQP", 4) == 0)
		return HC_PROTO_AMQP;
	if (postgres_first(p, n))
		return HC_PROTO_POSTGRES;
	if (mongodb_first(p, n))
		return HC_PROTO_MONGODB;
	if (resp_first(p, n))
		return HC_PROTO_RESP;
	/* memcached binary: magic 0x80; opcodes 0x20-0x22 are SASL. */
	if (n >= 2 && p[0] == 0x80 && p[1] >= 0x20 && p[1] <= 0x22)
		return HC_PROTO_MEMCACHED_SASL;
	m = word_in(p, n, http_methods, COUNT(http_methods), 10, false);
	if (m == 0)
		return HC_PROTO_HTTP1_BOUND; /* CONNECT: a tunnel */
	if (m > 0)
		return HC_PROTO_HTTP1;
	if (word_in(p, n, memcached_cmds, COUNT(memcached_cmds), 14, false) >= 0)
		return HC_PROTO_MEMCACHED;
	if (word_in(p, n, redis_session_words, COUNT(redis_session_words), 10, true) >= 0)
		return HC_PROTO_REDIS_INLINE;
	return HC_PROTO_OTHER;
}

enum hc_proto_kind hc_proto_kind(enum hc_proto proto)
{
	switch (proto) {
	case HC_PROTO_NONE:
	case HC_PROTO_OTHER:
	case HC_PROTO_HTTP1:
	case HC_PROTO_MEMCACHED:
		return HC_KIND_STATELESS;
	case HC_PROTO_RESP:
		return HC_KIND_SESSION;
	default:
		return HC_KIND_NEVER;
	}
}

bool hc_proto_heals(enum hc_proto proto, enum hc_heal_policy policy)
{
	if (hc_proto_kind(proto) == HC_KIND_NEVER)
		return false;
	if (policy == HC_HEAL_KNOWN)
		return proto == HC_PROTO_HTTP1 || proto == HC_PROTO_MEMCACHED || proto == HC_PROTO_RESP;
	return true;
}

const char *hc_proto_name(enum hc_proto proto)
{
	switch (proto) {
	case HC_PROTO_NONE:
	case HC_PROTO_OTHER: return "";
	case HC_PROTO_HTTP1: return "http";
	case HC_PROTO_MEMCACHED: return "memcached";
	case HC_PROTO_RESP: return "redis";
	case HC_PROTO_SERVER_FIRST: return "server-first";
	case HC_PROTO_SSH: return "ssh";
	case HC_PROTO_POSTGRES: return "postgres";
	case HC_PROTO_MONGODB: return "mongodb";
	case HC_PROTO_AMQP: return "amqp";
	case HC_PROTO_HTTP2: return "http2";
	case HC_PROTO_HTTP1_BOUND: return "http (connection-bound)";
	case HC_PROTO_MEMCACHED_SASL: return "memcached (SASL)";
	case HC_PROTO_REDIS_INLINE: return "redis (inline)";
	case HC_PROTO_TLS: return "tls";
	}
	return "?";
}

/* Judges the start of one line of a request head (lower-cased, len bytes of
 * it; first: the request line). True: the connection is bound to its state. */
static bool line_binds(const char *l, size_t len, bool first)
{
	static const char *const auth[] = { "authorization:", "proxy-authorization:" };

	if (first)
		return len >= 8 && memcmp(l, "connect ", 8) == 0;
	if (len >= 8 && memcmp(l, "upgrade:", 8) == 0)
		return true;
	for (size_t i = 0; i < COUNT(auth); i++) {
		size_t k = strlen(auth[i]);
		if (len < k || memcmp(l, auth[i], k) != 0)
			continue;
		while (k < len && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if ((len - k >= 4 && memcmp(l + k, "ntlm", 4) == 0) ||
		    (len - k >= 9 && memcmp(l + k, "negotiate", 9) == 0))
			return true;
	}
	return false;
}

bool hc_http_scan(struct hc_http_scan *s, const unsigned char *p, size_t n, bool boundary)
{
	if (boundary) {
		memset(s, 0, sizeof(*s));
		s->in_head = true;
	}
	for (size_t i = 0; i < n && s->in_head; i++) {
		unsigned char c = p[i];
		size_t len = s->line_len;

		if (c != '\n') {
			if (len < sizeof(s->line))
				s->line[s->line_len++] = (char)lower(c);
			/* A start this long says all it can: judge it now. */
			if (s->line_len == sizeof(s->line) && !s->judged) {
				s->judged = true;
				if (line_binds(s->line, s->line_len, s->line_no == 0))
					return true;
			}
			continue;
		}
		if (len > 0 && len < sizeof(s->line) && s->line[len - 1] == '\r')
			len--;
		if (len == 0 && s->line_no > 0) {
			s->in_head = false; /* the empty line: the body follows, not scanned */
			break;
		}
		if (!s->judged && line_binds(s->line, len, s->line_no == 0))
			return true;
		if (s->line_no < 255)
			s->line_no++;
		s->line_len = 0;
		s->judged = false;
	}
	return false;
}
