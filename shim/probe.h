/* probe.h - is a pooled connection still usable? One poll(POLLIN|POLLRDHUP, 0),
 * plus FIONREAD only when the peer has closed. Nothing observable is consumed. */
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Probes fd. *why (if not NULL) gets a short reason for logs ("peer FIN",
 * "peer reset"). Preserves errno. */
enum hc_verdict hc_probe(int fd, const char **why);

#endif
