/* probe.h - is a pooled connection still usable? One poll(POLLIN|POLLRDHUP, 0),
 * plus FIONREAD only when the peer has closed. Nothing observable is consumed. */
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hc_verdict {
	HC_ALIVE,        /* no hangup, nothing unread */
	HC_ALIVE_UNREAD, /* no hangup, data waiting for the program: its business, never swapped */
	HC_STALE,        /* peer closed or reset, nothing left unread */
	HC_STALE_UNREAD, /* peer closed after sending bytes the program has not read */
	HC_PROBE_FAILED, /* poll itself failed; treat as alive */
};

/* Probes fd. *why (if not NULL) gets a short reason for logs ("peer FIN",
 * "peer reset"). Preserves errno. */
enum hc_verdict hc_probe(int fd, const char **why);

const char *hc_verdict_name(enum hc_verdict v);

/* What to do at a boundary write, given the verdict, how long the connection
 * was quiet, and whether a reply may still be owed (the boundary is only a
 * quiet gap after a write, on a connection that has had replies): the policy
 * of DESIGN.md, for the library and the supervisor alike. */
enum hc_action {
	HC_ACT_PROCEED,      /* alive: the write goes out as it is */
	HC_ACT_RETIRE,       /* alive but quiet past HALFCLOSE_MAX_IDLE_MS: replace it, keep it if that fails */
	HC_ACT_LEAVE_UNREAD, /* stale with the server's last words unread: leave it all to the program */
	HC_ACT_FAIL_RECENT,  /* stale, but too recently active to swap: the failure path */
	HC_ACT_FAIL_OWED,    /* stale, and a reply to an earlier request may still be owed: the failure path */
	HC_ACT_HEAL,         /* stale: reconnect, or the failure path if that cannot be done */
};

struct hc_config;
enum hc_action hc_probe_action(enum hc_verdict v, uint64_t quiet_ns, bool reply_owed, const struct hc_config *cfg);

/* True if the n bytes at p start a TLS record: content type 20-23
 * (change_cipher_spec, alert, handshake, application_data), version 3.0-3.4.
 * TLS state lives in the program: a new TCP connection under it is garbage. */
bool hc_tls_record_head(const unsigned char *p, size_t n);

#endif
