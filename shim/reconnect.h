/* reconnect.h - replace a dead connection by a fresh one to the same address,
 * installed at the same fd number. */
#ifndef HC_RECONNECT_H
#define HC_RECONNECT_H

#include "config.h"
#include "table.h"

/* Opens a new socket like c's, replays its options and explicit bind, connects
 * it to c->peer (each attempt bounded by cfg->connect_timeout_ms, up to
 * cfg->retries more attempts with backoff), restores c's status flags and the
 * fd's FD_CLOEXEC, dup3()s it onto c->fd, closing the old connection, and
 * carries c's epoll registrations over. hc_reconnect_open then
 * hc_reconnect_install: the caller may let other threads run between the two.
 * Returns 0; or -1 with the cause in *err, c->fd untouched and no fd left open.
 * Preserves errno. */
int hc_reconnect(const struct hc_conn *c, const struct hc_config *cfg, int *err);

/* The slow half: the new connection, in *s (O_NONBLOCK, FD_CLOEXEC). Reads c
 * only. Returns 0; or -1 with the cause in *err and no fd left open. Preserves errno. */
int hc_reconnect_open(const struct hc_conn *c, const struct hc_config *cfg, int *s, int *err);

/* The quick half: s, from hc_reconnect_open, installed at c->fd (flags, epoll,
 * dup3) and closed. Returns 0; or -1 with the cause in *err, c->fd untouched.
 * Preserves errno. */
int hc_reconnect_install(const struct hc_conn *c, int s, int *err);

/* Closes s with a reset (SO_LINGER 0), not a FIN: the server must not take
 * what it was sent for a request to finish (half a session, part of a
 * replayed request). Preserves errno. */
void hc_close_reset(int s);

/* True for options whose value points into the program's memory or names
 * another fd (socket filters): a replay would pass a stale pointer or fd. */
bool hc_option_holds_a_reference(int level, int name);

/* Connects the non-blocking socket s to sa within timeout_ms. Returns 0 or an
 * errno value (ETIMEDOUT on timeout). */
int hc_connect_bounded(int s, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms);

#endif
