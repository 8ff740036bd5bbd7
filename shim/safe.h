/* safe.h - is a request one that changes nothing at the server (HTTP's safe
 * methods, redis's read-only commands, memcached's get)? The replay's last
 * guard: a request the kernel says was never delivered may still have been
 * read by a server that half-closed, acted on it and aborted before its ACK
 * (DESIGN.md, "Closing the race after the write"); resending a safe request
 * then changes nothing. Pure functions on bytes. */
#ifndef HC_SAFE_H
#define HC_SAFE_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* True if the n bytes at p, the whole of what was written since a request
 * boundary on a connection of class proto, are complete requests of that
 * protocol, every one of them safe:
 * - HTTP/1.x: heads of GET, HEAD, OPTIONS or TRACE, without a body
 *   (no Transfer-Encoding, no Content-Length other than 0);
 * - RESP: multibulk commands of redis's read-only set (GET, MGET, EXISTS,
 *   HGETALL, LRANGE, SMEMBERS, ZRANGE, SCAN, PING, ...);
 * - memcached text: get and gets lines.
 * Anything else (another class, a partial request, a byte out of place) is
 * not known to be safe: false. */
bool hc_request_safe(enum hc_proto proto, const unsigned char *p, size_t n);

#endif
