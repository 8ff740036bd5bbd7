/* safe.c - requests that change nothing at the server (safe.h). */
#include "safe.h"

#include <string.h>

#include "resp_wire.h"

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* The n bytes at p start with the word w (case as given) and then stop. */
static bool starts(const unsigned char *p, size_t n, const char *w)
{
	size_t m = strlen(w);
	return n >= m && memcmp(p, w, m) == 0;
}

/* The line at p (len bytes, its CRLF not counted) is the header name (lower
 * case, with its colon) in any case. */
static bool header_is(const unsigned char *p, size_t len, const char *name)
{
	size_t m = strlen(name);

	if (len < m)
		return false;
	for (size_t i = 0; i < m; i++)
		if (lower(p[i]) != (unsigned char)name[i])
			return false;
	return true;
}

/* A Content-Length value (after the colon) that is 0. */
static bool zero_length(const unsigned char *p, size_t len)
{
	size_t i = 0, digits = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < len && p[i] == '0'; i++)
		digits++;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return digits > 0 && i == len;
}

/* One HTTP/1.x head at p: its length if it is a safe request without a
 * body, else 0. */
static size_t http_safe_head(const unsigned char *p, size_t n)
{
	static const char *const methods[] = { "GET ", "HEAD ", "OPTIONS ", "TRACE " };
	size_t i = 0;
	bool known = false;

	for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]) && !known; k++)
		known = starts(p, n, methods[k]);
	if (!known)
		return 0;
	/* Line by line: the request line, the headers, the empty line. */
	for (bool first = true;; first = false) {
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		size_t len;
		if (lf == NULL)
			return 0; /* a head not complete */
		len = (size_t)(lf - (p + i));
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		if (len == 0 && !first)
			return (size_t)(lf - p) + 1;
		if (header_is(p + i, len, "transfer-encoding:") ||
		    (header_is(p + i, len, "content-length:") &&
		     !zero_length(p + i + strlen("content-length:"), len - strlen("content-length:"))))
			return 0;
		i = (size_t)(lf - p) + 1;
	}
}

/* redis's read-only commands (their @read and @connection flags, none that
 * writes, blocks, or changes the connection), lower case. */
static const char *const resp_read_only[] = {
	"get",       "mget",      "strlen",    "getrange",  "substr",     "exists",     "ttl",
	"pttl",      "expiretime", "pexpiretime", "type",   "hget",       "hmget",      "hgetall",
	"hkeys",     "hvals",     "hlen",      "hexists",   "hstrlen",    "lrange",     "llen",
	"lindex",    "lpos",      "smembers",  "sismember", "smismember", "scard",      "sinter",
	"sunion",    "sdiff",     "zrange",    "zrangebyscore", "zrangebylex", "zrevrange", "zrevrangebyscore",
	"zrevrangebylex", "zscore", "zmscore", "zcard",     "zcount",     "zlexcount",  "zrank",
	"zrevrank",  "scan",      "sscan",     "hscan",     "zscan",      "keys",       "dbsize",
	"ping",      "echo",      "time",      "xrange",    "xrevrange",  "xlen",       "bitcount",
	"bitpos",    "getbit",    "geopos",    "geodist",   "geohash",    "lcs",        NULL,
};

static bool resp_safe(const unsigned char *p, size_t n)
{
	struct hc_resp_req q;
	size_t i = 0;
	bool any = false;

	memset(&q, 0, sizeof(q));
	while (i < n) {
		enum hc_resp_ev ev;
		if (hc_resp_req_between(&q)) {
			q.cmd_len = 0;
			memset(q.caplen, 0, sizeof(q.caplen));
		}
		ev = hc_resp_req_step(&q, p, n, &i);
		if (ev == HC_RESP_EV_BAD || (ev == HC_RESP_EV_ARG && q.argi == 1 && !hc_resp_cap_in(&q, 0, resp_read_only)))
			return false;
		if (ev == HC_RESP_EV_CMD) {
			if (!hc_resp_cap_in(&q, 0, resp_read_only))
				return false;
			any = true;
		}
	}
	return any && hc_resp_req_between(&q);
}

static bool memcached_safe(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		if (lf == NULL || !(starts(p + i, n - i, "get ") || starts(p + i, n - i, "gets ")))
			return false;
		i = (size_t)(lf - p) + 1;
	}
	return n > 0;
}

bool hc_request_safe(enum hc_proto proto, const unsigned char *p, size_t n)
{
	size_t i = 0;

	if (p == NULL || n == 0)
		return false;
	switch (proto) {
	case HC_PROTO_HTTP1:
		while (i < n) {
			size_t len = http_safe_head(p + i, n - i);
			if (len == 0)
				return false;
			i += len;
		}
		return true;
	case HC_PROTO_RESP:
		return resp_safe(p, n);
	case HC_PROTO_MEMCACHED:
		return memcached_safe(p, n);
	default:
		return false;
	}
}
