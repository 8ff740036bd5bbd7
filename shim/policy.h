/* policy.h - the rules of DESIGN.md as pure functions on plain data: what a
 * write means (boundary, probe, a request kept for a replay, the server's
 * greeting), what a probe's verdict calls for, when a read's EOF may be
 * replayed. Both front ends gather the facts their own way (the library from
 * its wrappers, the supervisor from TCP_INFO) and carry the action out in
 * their own world; a rule lives here once. No I/O, no lock, no clock. */
#ifndef HC_POLICY_H
#define HC_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* What a probe (probe.h) found. */
enum hc_verdict {
	HC_ALIVE,        /* no hangup, nothing unread */
	HC_ALIVE_UNREAD, /* no hangup, data waiting for the program: its business, never swapped */
	HC_STALE,        /* peer closed or reset, nothing left unread */
	HC_STALE_UNREAD, /* peer closed after sending bytes the program has not read */
	HC_PROBE_FAILED, /* poll itself failed; treat as alive */
};

const char *hc_verdict_name(enum hc_verdict v);

/* What is known of a managed connection at one of its writes. */
struct hc_write_facts {
	bool first_write;        /* nothing written since the connect */
	bool read_since_write;   /* the program read bytes since its last write */
	bool ever_read;          /* replies come on it (a reply may be owed after a gap alone) */
	bool greeting_read;      /* first write: the program read bytes the server sent first */
	bool greeting_unread;    /* first write: the server sent bytes still unread */
	bool swappable;          /* its session allows a swap now (no MULTI, no reply outstanding...) */
	uint64_t quiet_ns;       /* since the program's last read or write, or the connect */
};

/* What to do about that write. */
struct hc_write_plan {
	bool leave;          /* the server spoke first and the program read it: never swapped, left now */
	bool leave_after;    /* the server spoke first, unread: this write may heal, left after it */
	bool boundary;       /* it starts a request */
	bool probe;          /* probe it (then hc_probe_action) */
	bool reply_owed;     /* a boundary only by the write gap, on a connection that has had replies (false off a boundary) */
	bool keep_request;   /* keep what it writes for a replay (a request after a quiet gap) */
	bool forget_request; /* drop what was kept: a new request starts that is not replayable */
};

struct hc_write_plan hc_plan_write(const struct hc_write_facts *f, const struct hc_config *cfg);

/* What to do at a boundary write, given the verdict, how long the connection
 * was quiet, and whether a reply may still be owed. */
enum hc_action {
	HC_ACT_PROCEED,      /* alive: the write goes out as it is */
	HC_ACT_RETIRE,       /* alive but quiet past HALFCLOSE_MAX_IDLE_MS: replace it, keep it if that fails */
	HC_ACT_LEAVE_UNREAD, /* stale with the server's last words unread: leave it all to the program */
	HC_ACT_FAIL_RECENT,  /* stale, but too recently active to swap: the failure path */
	HC_ACT_FAIL_OWED,    /* stale, and a reply to an earlier request may still be owed: the failure path */
	HC_ACT_HEAL,         /* stale: reconnect, or the failure path if that cannot be done */
};

enum hc_action hc_probe_action(enum hc_verdict v, uint64_t quiet_ns, bool reply_owed, const struct hc_config *cfg);

/* What is known when the first read after a kept request returned no reply. */
struct hc_replay_facts {
	bool managed;     /* the connection is still MANAGED */
	bool kept;        /* a request is kept (and not empty) */
	bool replayed;    /* that request was resent once already */
	int read_err;     /* 0: EOF (the peer's FIN); else the read's error */
	bool same_socket; /* the fd still names the socket it was (no close behind our back) */
	bool safe;        /* the request changes nothing at the server (safe.h) */
};

enum hc_replay_answer {
	HC_REPLAY_NO,     /* nothing to replay, or nothing a replay could prove */
	HC_REPLAY_UNSAFE, /* it could be proven, but the request is not safe (HALFCLOSE_REPLAY=safe) */
	HC_REPLAY_ASK,    /* ask the kernel whether it was delivered; resend it if it never was */
};

/* Whether the kernel may be asked whether the request was delivered, and
 * the request resent if it never was. Only after the peer's FIN: a reset
 * while established (ECONNRESET) may come from a server that read the
 * request, acted on it and aborted before its delayed ACK went out;
 * ETIMEDOUT: the ACKs may be what was lost. Even after a FIN the kernel's
 * "never delivered" (RST, nothing acknowledged) is no proof: a FIN from a
 * half-close leaves the server reading, and one that read the request, acted
 * and aborted before its ACK looks the same. So by default only a safe
 * request is resent (policy HALFCLOSE_REPLAY). Never twice. */
enum hc_replay_answer hc_may_replay(const struct hc_replay_facts *f, enum hc_replay_policy policy);

#endif
