/* resp.h - the session of a RESP (redis) connection: the commands the program
 * writes, parsed as they go out; the replies it reads while a session
 * command's reply is outstanding; the record of the session commands to send
 * first on a new connection, and the check of their replies there
 * (DESIGN.md, "RESP session"). Pure: bytes in, state out; no I/O, no lock, no
 * clock. Buffers grow with malloc up to the bound the caller gives, and what
 * held a secret (AUTH, HELLO ... AUTH) is wiped before it is freed. */
#ifndef HC_RESP_H
#define HC_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "resp_cmd.h"
#include "resp_wire.h"

#define HC_RESP_ENTRIES 16 /* session commands in a record */
#define HC_RESP_PENDING 8  /* session commands whose reply is outstanding */

/* What the program may not do on a connection that is to be healed: why
 * hc_resp_wrote ended management. */
enum hc_resp_end {
	HC_RESP_END_NONE,
	HC_RESP_END_UNPARSABLE, /* not a well-formed multibulk request (inline commands too) */
	HC_RESP_END_MODE,       /* SUBSCRIBE, MONITOR, CLIENT TRACKING on, CLIENT REPLY OFF|SKIP, SYNC... */
	HC_RESP_END_TOO_BIG,    /* the session would outgrow HALFCLOSE_SESSION_MAX or the entries */
	HC_RESP_END_IN_MULTI,   /* a session command queued in a transaction: it runs at EXEC */
	HC_RESP_END_UNKNOWN,    /* a RESET whose outcome cannot be seen, a reply that cannot be parsed */
};

struct hc_resp {
	struct hc_resp_req req;
	struct hc_resp_rep rep;
	uint64_t written;  /* commands written since the connect */
	uint64_t answered; /* replies read, while counting */
	uint64_t watch_until; /* replies are watched until this many have come (the writes with a session command) */
	bool see_replies;  /* the front end shows us what the program reads (the library does) */
	bool counting;     /* answered is exact: every reply since the connect was parsed */
	bool multi, watch; /* a transaction, a WATCH, is open */
	bool keep_cur;     /* the current command may be a session command: its bytes are kept */
	bool cur_over;     /* ... but it outgrew the bound */
	uint32_t max;      /* HALFCLOSE_SESSION_MAX: the bound of each buffer */
	enum hc_resp_end end;
	uint8_t nrec, npend;
	struct hc_resp_cmd rec[HC_RESP_ENTRIES];
	struct hc_resp_cmd pend[HC_RESP_PENDING];
	struct hc_buf rec_bytes, pend_bytes, cur_bytes; /* each at most max bytes */
};

/* A fresh session (a new connection, nothing written yet). see_replies: the
 * caller feeds hc_resp_read with what the program reads (the library); the
 * supervisor does not see reads, so every session command is recorded as it
 * is written and only its reply on the new connection decides. max:
 * HALFCLOSE_SESSION_MAX, the bound of the record (and of a command kept). */
void hc_resp_init(struct hc_resp *r, bool see_replies, size_t max);

/* Frees the buffers, wiping them first (they may hold passwords). */
void hc_resp_free(struct hc_resp *r);

/* The program wrote these n bytes (all of them went to the kernel) on the
 * connection. Returns false if the connection must no longer be managed
 * (r->end says why); r is then of no further use. */
bool hc_resp_wrote(struct hc_resp *r, const unsigned char *p, size_t n);

/* True while the caller must pass what the program reads to hc_resp_read. */
bool hc_resp_watching(const struct hc_resp *r);

/* The program read these n bytes from the connection (while watching).
 * Returns false if the replies cannot be followed (r->end says why). */
bool hc_resp_read(struct hc_resp *r, const unsigned char *p, size_t n);

/* The program read bytes the caller cannot show (MSG_TRUNC, a read the
 * library does not see): replies are no longer counted; outstanding session
 * commands are recorded, to be checked on the new connection. Returns false
 * if that is not possible (an outstanding RESET: r->end says why). */
bool hc_resp_lost_sight(struct hc_resp *r);

enum hc_resp_swap {
	HC_RESP_SWAP_OK,
	HC_RESP_SWAP_MID_COMMAND, /* the last write ended inside a command */
	HC_RESP_SWAP_MULTI,       /* a transaction is open */
	HC_RESP_SWAP_WATCH,       /* a WATCH is open */
	HC_RESP_SWAP_PENDING,     /* a session command's reply is outstanding */
	HC_RESP_SWAP_OWED,        /* replies to earlier commands are still to come (counted exactly) */
};

/* Whether the connection may be swapped for a new one before the next write. */
enum hc_resp_swap hc_resp_swappable(const struct hc_resp *r);

const char *hc_resp_swap_name(enum hc_resp_swap s);
const char *hc_resp_end_name(enum hc_resp_end e);

/* The record: the session commands to send first on a new connection, in
 * order, as one run of bytes (len 0: nothing to rebuild). */
const unsigned char *hc_resp_record(const struct hc_resp *r, size_t *len);
unsigned hc_resp_record_count(const struct hc_resp *r);

/* What the record sets, for a log line: "db 2, auth, resp3, name". Never a
 * password or a user name. Returns buf. */
const char *hc_resp_describe(const struct hc_resp *r, char *buf, size_t len);

/* The check of the record's replies on a new connection. */
struct hc_resp_check {
	struct hc_resp_rep rep;
	uint8_t want, got;
	uint8_t expect[HC_RESP_ENTRIES];
};

enum hc_resp_verdict {
	HC_RESP_MORE, /* every reply so far is right; more are to come */
	HC_RESP_GOOD, /* every reply came and was right, and nothing more */
	HC_RESP_BAD,  /* a reply was an error or not what the command returns, or bytes follow */
};

void hc_resp_check_begin(struct hc_resp_check *k, const struct hc_resp *r);
enum hc_resp_verdict hc_resp_check_feed(struct hc_resp_check *k, const unsigned char *p, size_t n);

#endif
