/* rebuild.h - a connection's session made again on a new connection, before
 * the new connection is installed: the recorded commands sent in one write,
 * every reply checked (DESIGN.md, "RESP session"). For the library and the
 * supervisor alike. */
#ifndef HC_REBUILD_H
#define HC_REBUILD_H

#include "resp.h"

/* Sends r's record on the fresh, connected, non-blocking socket s and reads
 * the replies, within timeout_ms. Returns 0 if each reply was the success its
 * command returns and nothing else came (nothing to rebuild: 0 at once); or
 * -1 with the cause in *err: EPROTO (a reply was an error or not what the
 * command returns, or more bytes came), ETIMEDOUT, ECONNRESET (the server
 * closed it), or the send's error. Then s holds a half-made session: the
 * caller resets it (hc_close_reset), never installs it. Preserves errno. */
int hc_rebuild_session(int s, const struct hc_resp *r, unsigned timeout_ms, int *err);

/* Why a heal failed, for a log line: "reconnect failed (Connection
 * refused)", or what a refused rebuild (EPROTO) means. Returns buf. */
const char *hc_heal_failure(int err, char *buf, size_t len);

#endif
