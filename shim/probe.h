/* probe.h - is a pooled connection still usable? One poll(POLLIN|POLLRDHUP, 0),
 * plus FIONREAD only when the peer has closed. Nothing observable is consumed. */
#ifndef HC_PROBE_H
#define HC_PROBE_H

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

#endif
