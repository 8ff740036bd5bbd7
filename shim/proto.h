/* proto.h - what kind of conversation a managed connection carries, read from
 * the bytes the program writes and from whether the server spoke first; and
 * whether a stale connection of that kind may be swapped. Pure functions on
 * bytes, shared by the library and the supervisor (DESIGN.md, "Sessions"). */
#ifndef HC_PROTO_H
#define HC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hc_proto {
	HC_PROTO_NONE,         /* nothing written yet: not classified */
	HC_PROTO_OTHER,        /* unrecognised (the seed's protocol, an echo service): stateless */
	HC_PROTO_HTTP1,        /* an HTTP/1.x request line */
	HC_PROTO_MEMCACHED,    /* memcached's text protocol */
	HC_PROTO_RESP,         /* redis and its kin: a multibulk *N\r\n$ */
	/* Sessions the library cannot rebuild: never swapped. */
	HC_PROTO_SERVER_FIRST, /* the server spoke first: MySQL/MariaDB, SMTP, FTP, POP3, IMAP, NNTP, SSH */
	HC_PROTO_SSH,          /* an SSH identification string */
	HC_PROTO_POSTGRES,     /* StartupMessage, SSLRequest, GSSENCRequest, CancelRequest */
	HC_PROTO_MONGODB,      /* a MongoDB wire-protocol header */
	HC_PROTO_AMQP,         /* the AMQP protocol header */
	HC_PROTO_HTTP2,        /* the HTTP/2 connection preface (prior knowledge) */
	HC_PROTO_HTTP1_BOUND,  /* HTTP/1.x that carried CONNECT, Upgrade: or NTLM/Negotiate */
	HC_PROTO_MEMCACHED_SASL, /* memcached's binary protocol authenticating */
	HC_PROTO_REDIS_INLINE, /* a redis inline command that changes the session (AUTH, SELECT...) */
	HC_PROTO_TLS,          /* a TLS record: the TLS session lives in the program */
};

enum hc_proto_kind {
	HC_KIND_STATELESS, /* healed as it is */
	HC_KIND_SESSION,   /* healed once its session is rebuilt on the new connection */
	HC_KIND_NEVER,     /* never swapped: it fails exactly as without the library */
};

enum hc_heal_policy {
	HC_HEAL_ALL,   /* stateless and rebuildable sessions */
	HC_HEAL_KNOWN, /* only the protocols the library understands: HTTP/1.x, RESP, memcached text */
};

/* True if the n bytes at p start a TLS record: content type 20-23
 * (change_cipher_spec, alert, handshake, application_data), version 3.0-3.4.
 * TLS state lives in the program: a new TCP connection under it is garbage. */
bool hc_tls_record_head(const unsigned char *p, size_t n);

/* The class of a connection from the first n bytes of its first write (p may
 * be NULL when n is 0), and whether the server had sent bytes before it. */
enum hc_proto hc_proto_classify(const unsigned char *p, size_t n, bool server_spoke_first);

/* A later boundary write of a connection of class proto: the class it has
 * from now on (the same, or one of the never-swapped ones: an inline AUTH on
 * an unrecognised stream, a TLS record after a STARTTLS). HTTP/1.x headers
 * are seen by hc_http_scan, not here. */
enum hc_proto hc_proto_reclassify(enum hc_proto proto, const unsigned char *p, size_t n);

enum hc_proto_kind hc_proto_kind(enum hc_proto proto);

/* True if a stale connection of class proto may be swapped under policy. */
bool hc_proto_heals(enum hc_proto proto, enum hc_heal_policy policy);

/* A short name for logs: "http", "redis", "memcached", "postgres", ...;
 * "" for HC_PROTO_OTHER and HC_PROTO_NONE. */
const char *hc_proto_name(enum hc_proto proto);

/* The HTTP/1.x request heads of one connection, read as they are written, for
 * what binds the connection to its state: a CONNECT tunnel, an Upgrade:
 * header (WebSocket, h2c), connection-based authentication (Authorization or
 * Proxy-Authorization: NTLM or Negotiate). Zeroed: before the first request. */
struct hc_http_scan {
	bool in_head;     /* between a request's first byte and its empty line */
	bool judged;      /* the current line's start was judged already */
	uint8_t line_no;  /* lines of the head ended so far (0: in the request line) */
	uint8_t line_len; /* bytes of line[] held: the current line's start, lower-cased */
	char line[40];
};

/* Feeds n bytes the program wrote; boundary: this write starts a request.
 * Returns true if the connection is now bound to its state (never swapped). */
bool hc_http_scan(struct hc_http_scan *s, const unsigned char *p, size_t n, bool boundary);

#endif
