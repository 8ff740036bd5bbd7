/* measure.c - `halfclose measure HOST:PORT [--send BYTES] [--http] [--for SECONDS]`:
 * opens one connection, optionally makes one harmless request, then stays idle
 * and reports how the server ends the connection (after how long, FIN or RST,
 * what it said first) and the HALFCLOSE_MAX_IDLE_MS that retires connections
 * before it does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS 5000
#define REPLY_WAIT_MS 2000 /* for the first byte of a reply */
#define REPLY_QUIET_MS 300 /* a reply is complete after this much silence */
#define SHOWN_MAX 200      /* bytes of a reply or a goodbye shown */

static void usage(FILE *out)
{
	fprintf(out, "usage: halfclose measure HOST:PORT [--send BYTES | --http] [--for SECONDS]\n"
		     "Opens a connection, stays idle and reports how the server ends it: after how\n"
		     "long, FIN or RST, what it sent first; and the HALFCLOSE_MAX_IDLE_MS to use.\n"
		     "  --send BYTES    send BYTES first (C escapes: \\r \\n \\t \\\\ \\0 \\xHH) and read the reply,\n"
		     "                  e.g. --send 'PING\\r\\n' for redis, --send 'version\\r\\n' for memcached\n"
		     "  --http          send an HTTP/1.1 HEAD / first and read the reply\n"
		     "  --for SECONDS   wait at most this long (default 600)\n"
		     "Exit status: 0 the server closed the connection, 1 it was still open after\n"
		     "SECONDS, 2 usage, connection or request error.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Decodes the C escapes of s into out (room for len). Returns the length, or
 * -1 for a bad escape or too long a request. */
static ssize_t unescape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		char c = *s;
		if (c == '\\') {
			switch (*++s) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '0': c = '\0'; break;
			case '\\': c = '\\'; break;
			case 'x': {
				char hex[3] = { s[1], s[1] ? s[2] : '\0', '\0' }, *end;
				long v = strtol(hex, &end, 16);
				if (hex[0] == '\0' || hex[1] == '\0' || *end != '\0')
					return -1;
				c = (char)v;
				s += 2;
				break;
			}
			default:
				return -1;
			}
		}
		if (n == len)
			return -1;
		out[n++] = c;
	}
	return (ssize_t)n;
}

/* Prints buf (len bytes) quoted, with escapes, at most SHOWN_MAX of it. */
static void print_bytes(const char *buf, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len && i < SHOWN_MAX; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\"%s", len > SHOWN_MAX ? "..." : "");
}

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port. Returns 0 or -1. */
static int split_target(const char *arg, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - arg - 1) >= hlen)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(close - arg - 1), arg + 1);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL || colon == arg || (size_t)(colon - arg) >= hlen)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(colon - arg), arg);
	}
	if (colon[1] == '\0' || strlen(colon + 1) >= plen)
		return -1;
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

/* A connected TCP socket to host:port (non-blocking), or -1 with a message. */
static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int err = getaddrinfo(host, port, &hints, &res), fd = -1, saved = 0;

	if (err != 0) {
		fprintf(stderr, "halfclose measure: %s:%s: %s\n", host, port, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (errno == EINPROGRESS && poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		saved = soerr ? soerr : errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "halfclose measure: connect %s:%s: %s\n", host, port, strerror(saved));
	return fd;
}

/* The HALFCLOSE_MAX_IDLE_MS for a server that closed after ms: about 10 %
 * (at least 100 ms) sooner, two significant digits. */
static uint64_t suggestion(uint64_t ms)
{
	uint64_t s = ms < 200 ? ms / 2 : ms - (ms / 10 > 100 ? ms / 10 : 100), unit = 1;

	while (s / unit >= 100)
		unit *= 10;
	return s / unit * unit;
}

/* What the wait saw. */
struct outcome {
	const char *close;    /* "FIN", "RST", an errno name, or NULL: still open */
	uint64_t idle_from;   /* when the connection went quiet */
	uint64_t said_at;     /* first byte after the reply, or 0 */
	uint64_t closed_at;
	char said[4096];      /* what came after the reply */
	size_t said_len;
};

/* Records a close (n: what recv returned) at now. */
static void closed(struct outcome *o, ssize_t n, uint64_t now)
{
	o->close = n == 0 ? "FIN" : errno == ECONNRESET ? "RST" : strerrorname_np(errno);
	o->closed_at = now;
}

/* Waits until deadline for bytes on fd. Returns their count (in buf), 0 at
 * the deadline, or -1 once the server ended the connection (recorded in *o). */
static ssize_t next_bytes(int fd, uint64_t deadline, char *buf, size_t len, struct outcome *o)
{
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
		ssize_t n;

		if (now >= deadline)
			return 0;
		if (poll(&p, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now)) <= 0)
			continue;
		n = recv(fd, buf, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			closed(o, n, now_ms());
			return -1;
		}
		return n;
	}
}

/* Appends what fits of src (n bytes) to dst, which holds *len of cap. */
static void append(char *dst, size_t *len, size_t cap, const char *src, size_t n)
{
	size_t take = n < cap - *len ? n : cap - *len;
	memcpy(dst + *len, src, take);
	*len += take;
}

/* Reads the reply to a request (or a greeting) into reply: it ends
 * REPLY_QUIET_MS after its last byte, at the end of HTTP headers (http), or
 * if no byte came within REPLY_WAIT_MS. o->idle_from becomes the time of its
 * last byte; a close meanwhile is recorded in *o. Returns its length. */
static size_t read_reply(int fd, bool http, char *reply, size_t cap, struct outcome *o)
{
	uint64_t end = o->idle_from + REPLY_WAIT_MS;
	size_t len = 0;
	char buf[4096];
	ssize_t n;

	while (!(http && memmem(reply, len, "\r\n\r\n", 4) != NULL) &&
	       (n = next_bytes(fd, end, buf, sizeof(buf), o)) > 0) {
		append(reply, &len, cap, buf, (size_t)n);
		o->idle_from = now_ms();
		end = o->idle_from + REPLY_QUIET_MS;
	}
	return len;
}

/* Waits, until deadline, for the server to end the connection; what it says
 * first goes to o->said. */
static void wait_close(int fd, uint64_t deadline, struct outcome *o)
{
	char buf[4096];
	ssize_t n;

	while ((n = next_bytes(fd, deadline, buf, sizeof(buf), o)) > 0) {
		if (o->said_len == 0)
			o->said_at = now_ms();
		append(o->said, &o->said_len, sizeof(o->said), buf, (size_t)n);
	}
}

int hc_cmd_measure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "send", required_argument, NULL, 's' }, { "http", no_argument, NULL, 'H' },
		{ "for", required_argument, NULL, 'f' },  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char request[65536], reply[65536];
	static struct outcome o;
	char host[256], port[32], *end;
	const char *send_arg = NULL;
	bool http = false;
	ssize_t req_len = 0;
	size_t reply_len = 0;
	unsigned long secs = 600;
	uint64_t t0;
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			send_arg = optarg;
			break;
		case 'H':
			http = true;
			break;
		case 'f':
			errno = 0;
			secs = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] < '0' || optarg[0] > '9' || secs < 1 || secs > 86400) {
				fprintf(stderr, "halfclose measure: --for \"%s\": expected seconds, 1 to 86400\n", optarg);
				return 2;
			}
			break;
		default: /* -h, --help, or a word it does not take */
			return hc_cmd_usage(usage, c);
		}
	}
	if (optind != argc - 1 || (send_arg != NULL && http)) {
		usage(stderr);
		return 2;
	}
	if (split_target(argv[optind], host, sizeof(host), port, sizeof(port)) != 0) {
		fprintf(stderr, "halfclose measure: \"%s\": expected HOST:PORT ([ADDR]:PORT for IPv6)\n", argv[optind]);
		return 2;
	}
	if (send_arg != NULL && (req_len = unescape(send_arg, request, sizeof(request))) <= 0) {
		fprintf(stderr, "halfclose measure: --send: expected bytes with C escapes (\\r \\n \\t \\\\ \\0 \\xHH)\n");
		return 2;
	}
	if (http)
		req_len = snprintf(request, sizeof(request),
				   "HEAD / HTTP/1.1\r\nHost: %s\r\nUser-Agent: halfclose-measure\r\n\r\n", host);
	fd = dial(host, port);
	if (fd < 0)
		return 2;
	printf("connected to %s:%s\n", host, port);
	t0 = now_ms();
	if (req_len > 0) {
		if (send(fd, request, (size_t)req_len, MSG_NOSIGNAL) != req_len) {
			fprintf(stderr, "halfclose measure: sending the request: %s\n", strerror(errno));
			return 2;
		}
		t0 = now_ms();
	}
	o.idle_from = t0;
	/* Without a request, what a server says at once is its greeting. */
	reply_len = read_reply(fd, http, reply, sizeof(reply), &o);
	if (req_len > 0 || reply_len > 0) {
		printf("%s: %zu bytes", req_len > 0 ? "reply" : "greeting", reply_len);
		if (reply_len > 0) {
			printf(" in %llu ms: ", (unsigned long long)(o.idle_from - t0));
			print_bytes(reply, reply_len);
		}
		printf("\n");
	}
	if (o.close == NULL) {
		printf("waiting up to %lu s for the server to end the idle connection\n", secs);
		fflush(stdout);
		wait_close(fd, t0 + secs * 1000, &o);
	}
	close(fd);
	if (o.close == NULL) {
		printf("still open after %lu s: the server keeps idle connections at least that long\n", secs);
		printf("halfclose measure close=none after_ms=none said_bytes=%zu suggest_max_idle_ms=none\n", o.said_len);
		return 1;
	}
	uint64_t after = (o.said_len > 0 ? o.said_at : o.closed_at) - o.idle_from;
	if (o.said_len > 0) {
		printf("after %llu ms idle the server sent %zu bytes: ", (unsigned long long)after, o.said_len);
		print_bytes(o.said, o.said_len);
		printf("\nthen closed the connection (%s) %llu ms later\n", o.close,
		       (unsigned long long)(o.closed_at - o.said_at));
		printf("halfclose leaves such a connection for the program to read what the server said\n"
		       "(unread_kept), unless HALFCLOSE_UNREAD=discard\n");
	} else {
		printf("closed after %llu ms idle: %s, nothing sent before it\n", (unsigned long long)after, o.close);
	}
	if (after < 50) {
		printf("the server closes connections at once: nothing to retire\n");
		printf("halfclose measure close=%s after_ms=%llu said_bytes=%zu suggest_max_idle_ms=none\n", o.close,
		       (unsigned long long)after, o.said_len);
		return 0;
	}
	printf("to retire pooled connections before the server closes them (the FIN-in-flight race):\n"
	       "  HALFCLOSE_MAX_IDLE_MS=%llu\n"
	       "(a server that checks idle connections periodically, as redis and memcached do, closes\n"
	       "some sooner than others: measure a few times and take the lowest)\n",
	       (unsigned long long)suggestion(after));
	printf("halfclose measure close=%s after_ms=%llu said_bytes=%zu suggest_max_idle_ms=%llu\n", o.close,
	       (unsigned long long)after, o.said_len, (unsigned long long)suggestion(after));
	return 0;
}
