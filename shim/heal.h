/* heal.h - what policy.h's actions do to a connection: a stale one swapped
 * for a new one (its session rebuilt first), the failure path, and the replay
 * of a request the peer never received. For the library's books (conn.c):
 * the caller holds the table lock (hc_table_enter); it is let go while a new
 * connection is made, the entry marked healing meanwhile. */
#ifndef HC_HEAL_H
#define HC_HEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "table.h"

/* Swaps a fresh connection in at c->fd, c's session rebuilt on it first.
 * Returns true on success, logging it (why: "stale (peer FIN)", quiet_ns:
 * how long c was quiet); false with the cause in *err (EPROTO: a reply to
 * the session was not a success; EBADF: the program closed the fd meanwhile). */
bool hc_heal(struct hc_conn *c, const char *why, uint64_t quiet_ns, int *err);

/* The failure path for a stale c: counted and logged, c DEAD (its writes
 * fail with EPIPE until the program reads). */
void hc_fail_stale(struct hc_conn *c, const char *why, uint64_t quiet_ns, const char *because);

/* After the first read since c's kept request returned EOF or an error
 * (read_err; 0 for EOF) before any reply: if hc_may_replay allows it and the
 * kernel proves the request was never delivered, resends it on a new
 * connection installed at c->fd, its session rebuilt there first. Returns
 * true if it did (the read is to be made again). The caller is the thread
 * reading c->fd. */
bool hc_replay(struct hc_conn *c, int read_err);

#endif
