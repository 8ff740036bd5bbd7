/* session.h - what a managed connection carries: its class, from its first
 * write (proto.h), and for a RESP connection its session (resp.h), kept up
 * as the program writes and reads. The caller holds the table lock and does
 * the counting, logging and state changes; these functions only look at the
 * bytes and say what they mean. */
#ifndef HC_SESSION_H
#define HC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "config.h"
#include "log.h"
#include "table.h"

/* Why a connection is to be left alone from now on, or HC_LEAVE_NONE. */
enum hc_leave {
	HC_LEAVE_NONE,
	HC_LEAVE_TLS,       /* a TLS record (tls_skipped) */
	HC_LEAVE_STATEFUL,  /* a class or a session that cannot be rebuilt (stateful_skipped) */
	HC_LEAVE_UNKNOWN,   /* an unrecognised class under HALFCLOSE_HEAL=known (unknown_skipped) */
	HC_LEAVE_NO_MEMORY, /* its session could not be kept (passthrough) */
};

/* True if hc_session_wrote must see the bytes of a write on c that starts a
 * request (boundary) or not: to classify c, to keep its session, to scan
 * its request head. Nothing else looks at written bytes. */
bool hc_session_needs_bytes(const struct hc_conn *c, bool boundary);

/* How a write reached the core: what hc_session_wrote needs to know besides its bytes. */
struct hc_written {
	bool boundary;      /* the write started a request (for a later part of one write: false) */
	bool reads_between; /* the program read from c while the write was under way (another
	                     * thread): which reply answers what is no longer known */
	bool sees_reads;    /* the front end shows the session what the program reads (the
	                     * library); the supervisor does not */
};

/* The first len bytes of iov went out on c (the kernel took them), as w
 * says. Returns why c is now to be left alone, or HC_LEAVE_NONE; *why gets a
 * short reason for the log. */
enum hc_leave hc_session_wrote(struct hc_conn *c, const struct hc_config *cfg, const struct hc_written *w,
			       const struct iovec *iov, size_t iovcnt, size_t len, const char **why);

/* The program read len bytes from c into iov (flags: the recv flags: a
 * MSG_PEEK read shows bytes that will be read again). Returns why c is now
 * to be left alone, or HC_LEAVE_NONE. */
enum hc_leave hc_session_read(struct hc_conn *c, const struct iovec *iov, size_t iovcnt, size_t len, int flags,
			      const char **why);

/* Counts, in st, a connection left alone for l (tls_skipped,
 * stateful_skipped, unknown_skipped, passthrough); returns the reason to log
 * (why, or what HALFCLOSE_HEAL=known says). For both front ends. */
const char *hc_leave_count(struct hc_stats *st, enum hc_leave l, const char *why);

/* True if c may be swapped for a new connection before its next write; if
 * not, *why says what is open (a MULTI, a session reply outstanding). */
bool hc_session_swappable(const struct hc_conn *c, const char **why);

/* The class and session of c for a log line: " redis (db 2, auth)", " http",
 * or "" for an unrecognised class. Never a secret. Returns buf. */
const char *hc_session_label(const struct hc_conn *c, char *buf, size_t len);

/* "127.0.0.1:6379 redis (db 2, auth):" or, unrecognised, "127.0.0.1:6379":
 * how a log line names c. Returns buf. */
const char *hc_session_name(const struct hc_conn *c, char *buf, size_t len);

/* The RESP session to rebuild on a new connection for c, or NULL if there is
 * nothing to rebuild. */
const struct hc_resp *hc_session_to_rebuild(const struct hc_conn *c);

/* The head of what the iovecs hold: up to cap bytes of the first len, into
 * out. Returns the count. For the class of a first write. */
size_t hc_iov_head(const struct iovec *iov, size_t iovcnt, size_t len, unsigned char *out, size_t cap);

#endif
