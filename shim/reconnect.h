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
int hc_reconnect(struct hc_conn *c, const struct hc_config *cfg, int *err);

/* The slow half: the new connection, in *s (O_NONBLOCK, FD_CLOEXEC), the
 * slot of the socket being made from the moment it exists (-1 when there is
 * none: a fork handler closes it in the child). Reads c only. nonblocking: the program's socket is (an event loop must not stall):
 * one attempt, within cfg->nonblock_connect_ms. A signal (EINTR) ends it at
 * once. Returns 0; or -1 with the cause in *err and no fd left open.
 * Preserves errno. */
int hc_reconnect_open(const struct hc_conn *c, const struct hc_config *cfg, bool nonblocking, int *s, int *err);

/* The inode of the socket at fd, or 0 if fd is no socket. */
uint64_t hc_socket_inode(int fd);

/* The quick half: s, from hc_reconnect_open, given what the program set on
 * the open file at c->fd (status flags, the owner and signal of signal-driven
 * I/O), installed there (epoll, dup3) and closed. Only if c->fd still names
 * the socket c->ino says (else EBADF). Returns 0; or -1 with the cause in
 * *err, c->fd untouched. Preserves errno. */
int hc_reconnect_install(struct hc_conn *c, int s, int *err);

/* Closes the socket in *slot (from hc_reconnect_open) with a reset
 * (SO_LINGER 0), not a FIN: the server must not take what it was sent for a
 * request to finish (half a session, part of a replayed request); -1 goes
 * into *slot, with no fork in between. Preserves errno. */
void hc_reconnect_discard(int *slot);

/* Fork handlers: a socket being made is either in its slot or not yet made
 * when a fork happens. */
void hc_reconnect_atfork_prepare(void);
void hc_reconnect_atfork_parent(void);
void hc_reconnect_atfork_child(void);

/* True for options whose value points into the program's memory or names
 * another fd (socket filters): a replay would pass a stale pointer or fd. */
bool hc_option_holds_a_reference(int level, int name);

/* Connects the non-blocking socket s to sa within timeout_ms. Returns 0 or an
 * errno value (ETIMEDOUT on timeout). */
int hc_connect_bounded(int s, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms);

#endif
