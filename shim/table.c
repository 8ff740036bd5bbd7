/* table.c - the per-fd table: uthash entries under one mutex, and the two
 * bitmaps the wrappers read without a lock to skip fds that are not ours. */
#define _GNU_SOURCE
#include "table.h"

#include <pthread.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "real.h"

_Atomic uint64_t hc_known_bits[HC_FD_LIMIT / 64];
_Atomic uint64_t hc_managed_bits[HC_FD_LIMIT / 64];
_Atomic uint64_t hc_epoll_bits[HC_FD_LIMIT / 64];
_Atomic uint32_t hc_reading[HC_FD_LIMIT]; /* 4 MiB of bss: only the pages of used fds are ever touched */

__thread bool hc_busy __attribute__((tls_model("initial-exec")));

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hc_conn *table; /* uthash head */

static void bit_set(_Atomic uint64_t *bits, int fd, bool on)
{
	uint64_t mask = (uint64_t)1 << ((unsigned)fd % 64);
	if (on)
		atomic_fetch_or_explicit(&bits[(unsigned)fd / 64], mask, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&bits[(unsigned)fd / 64], ~mask, memory_order_relaxed);
}

void hc_table_lock(void) { pthread_mutex_lock(&table_lock); }
void hc_table_unlock(void) { pthread_mutex_unlock(&table_lock); }

struct hc_conn *hc_table_enter(int fd, struct hc_guard *g)
{
	g->err = errno;
	hc_busy = true; /* first: a handler that interrupts the lock's wait passes through */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &g->cancel);
	hc_table_lock();
	return hc_table_find_settled(fd);
}

void hc_table_leave(const struct hc_guard *g)
{
	hc_table_unlock();
	pthread_setcancelstate(g->cancel, NULL);
	hc_busy = false;
	errno = g->err;
}

struct hc_conn *hc_table_find(int fd)
{
	struct hc_conn *c = NULL;
	if (hc_fd_known(fd))
		HASH_FIND_INT(table, &fd, c);
	return c;
}

void hc_conn_forget_proto(struct hc_conn *c)
{
	if (c->proto == HC_PROTO_RESP && c->ps.resp != NULL) {
		hc_resp_free(c->ps.resp);
		free(c->ps.resp);
	} else if (c->proto == HC_PROTO_HTTP1) {
		free(c->ps.http);
	}
	c->ps.resp = NULL;
}

static void conn_free(struct hc_conn *c)
{
	hc_conn_forget_proto(c);
	HASH_DEL(table, c);
	bit_set(hc_managed_bits, c->fd, false);
	bit_set(hc_known_bits, c->fd, false);
	free(c->opts);
	free(c->regs);
	hc_request_free(&c->req);
	free(c);
}

struct hc_conn *hc_table_add(int fd)
{
	struct hc_conn *c;

	if ((unsigned)fd >= HC_FD_LIMIT)
		return NULL;
	hc_table_forget_fd(fd);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->heal_fd = -1;
	c->state = HC_CONN_UNCONNECTED;
	/* A new socket: no thread is reading it yet, whatever a read that never
	 * ended (cancelled, or left by longjmp) counted for the number before. */
	atomic_store(&hc_reading[fd], 0);
	HASH_ADD_INT(table, fd, c);
	bit_set(hc_known_bits, fd, true);
	return c;
}

void hc_table_remove(int fd)
{
	struct hc_conn *c = hc_table_find(fd);
	if (c != NULL)
		conn_free(c);
}

void hc_table_forget_fd(int fd)
{
	hc_table_remove(fd);
	if (hc_fd_epoll(fd))
		hc_table_forget_epoll(fd);
}

/* Calls fn for each fd in [first, last] that is known or a tracked epoll fd,
 * walking the bitmaps a word at a time: a close_range(3, ~0U) costs 32 K loads
 * at most. Stops at fn's true. */
static bool each_known(unsigned first, unsigned last, bool (*fn)(int fd))
{
	if (first >= HC_FD_LIMIT || first > last)
		return false;
	if (last >= HC_FD_LIMIT)
		last = HC_FD_LIMIT - 1;
	for (unsigned w = first / 64; w <= last / 64; w++) {
		uint64_t word = atomic_load_explicit(&hc_known_bits[w], memory_order_relaxed) |
				atomic_load_explicit(&hc_epoll_bits[w], memory_order_relaxed);
		while (word != 0) {
			unsigned fd = w * 64 + (unsigned)__builtin_ctzll(word);
			word &= word - 1;
			if (fd >= first && fd <= last && fn((int)fd))
				return true;
		}
	}
	return false;
}

static bool found(int fd)
{
	(void)fd;
	return true;
}

static bool forget(int fd)
{
	hc_table_forget_fd(fd);
	return false;
}

bool hc_table_any_known(unsigned first, unsigned last)
{
	return each_known(first, last, found);
}

void hc_table_remove_range(unsigned first, unsigned last)
{
	each_known(first, last, forget);
}

void hc_conn_manage(struct hc_conn *c)
{
	hc_conn_set_state(c, HC_CONN_MANAGED);
	if (!c->counted) {
		c->counted = true;
		HC_COUNT(managed);
	}
}

void hc_conn_give_up(struct hc_conn *c)
{
	if (c->state == HC_CONN_MANAGED || c->state == HC_CONN_CONNECTING)
		HC_COUNT(passthrough);
	hc_conn_set_state(c, HC_CONN_UNMANAGED);
}

void hc_conn_set_state(struct hc_conn *c, enum hc_conn_state state)
{
	c->state = state;
	if (state != HC_CONN_MANAGED) {
		hc_request_forget(&c->req);
		hc_conn_forget_proto(c);
	}
	bit_set(hc_managed_bits, c->fd,
		state == HC_CONN_CONNECTING || state == HC_CONN_MANAGED || state == HC_CONN_DEAD);
}

/* Adds one element of size bytes to the array *arr of *n (under 255), room
 * for *cap: returns it, or NULL (the array unchanged) if there is no memory.
 * The room only grows, so that an event loop's DEL and ADD of the same
 * registration every request reallocates nothing. */
static void *grow_one(void **arr, unsigned char *n, unsigned char *cap, size_t size)
{
	if (*n == *cap) {
		unsigned want = *cap ? *cap * 2u : 1u;
		unsigned char *grown = realloc(*arr, (want > 255 ? 255 : want) * size);
		if (grown == NULL)
			return NULL;
		*arr = grown;
		*cap = (unsigned char)(want > 255 ? 255 : want);
	}
	return (unsigned char *)*arr + (size_t)(*n)++ * size;
}

int hc_conn_record_option(struct hc_conn *c, int level, int name, const void *val, socklen_t len)
{
	struct hc_sockopt *o = NULL;

	if (len > HC_OPT_MAX || val == NULL) {
		c->unreplayable = true;
		return 0;
	}
	for (unsigned i = 0; i < c->nopts; i++) {
		if (c->opts[i].level == level && c->opts[i].name == name)
			o = &c->opts[i];
	}
	if (o == NULL) {
		if (c->nopts == 255) {
			c->unreplayable = true;
			return 0;
		}
		o = grow_one((void **)&c->opts, &c->nopts, &c->opts_cap, sizeof(*o));
		if (o == NULL)
			return -1;
		o->level = level;
		o->name = name;
	}
	o->len = len;
	memcpy(o->val, val, len);
	return 0;
}

int hc_conn_record_epoll(struct hc_conn *c, int epfd, int op, const struct epoll_event *ev)
{
	struct hc_epoll_reg *r = NULL;
	unsigned i;

	for (i = 0; i < c->nregs && r == NULL; i++) {
		if (c->regs[i].epfd == epfd)
			r = &c->regs[i];
	}
	if (op == EPOLL_CTL_DEL) {
		if (r != NULL)
			*r = c->regs[--c->nregs];
		return 0;
	}
	if (epfd < 0 || (unsigned)epfd >= HC_FD_LIMIT || ev == NULL)
		return -1;
	if (r == NULL && c->nregs == 255)
		return -1;
	if (r == NULL && (r = grow_one((void **)&c->regs, &c->nregs, &c->regs_cap, sizeof(*r))) == NULL)
		return -1;
	r->epfd = epfd;
	r->ev = *ev;
	r->left_out = false; /* as the program sets it now */
	bit_set(hc_epoll_bits, epfd, true);
	return 0;
}

bool hc_conn_epoll_left_out(const struct hc_conn *c, int epfd)
{
	for (unsigned i = 0; i < c->nregs; i++)
		if (c->regs[i].epfd == epfd)
			return c->regs[i].left_out;
	return false;
}

void hc_table_forget_epoll(int epfd)
{
	struct hc_conn *c, *tmp;

	HASH_ITER(hh, table, c, tmp) {
		for (unsigned i = 0; i < c->nregs;) {
			if (c->regs[i].epfd == epfd)
				c->regs[i] = c->regs[--c->nregs];
			else
				i++;
		}
	}
	if ((unsigned)epfd < HC_FD_LIMIT)
		bit_set(hc_epoll_bits, epfd, false);
}

unsigned hc_table_count(void)
{
	return HASH_COUNT(table);
}

/* Signalled (with table_lock) whenever a heal or a swap ends. */
static pthread_cond_t settled = PTHREAD_COND_INITIALIZER;
static unsigned healing; /* entries whose reconnect is under way without the lock */

struct hc_conn *hc_table_find_settled(int fd)
{
	struct hc_conn *c;

	while ((c = hc_table_find(fd)) != NULL && c->healing)
		pthread_cond_wait(&settled, &table_lock);
	return c;
}

void hc_table_wait_no_healing(void)
{
	while (healing > 0)
		pthread_cond_wait(&settled, &table_lock);
}

void hc_table_heal_begin(struct hc_conn *c)
{
	c->healing = true;
	healing++;
	pthread_mutex_unlock(&table_lock);
}

void hc_table_heal_relock(void) { pthread_mutex_lock(&table_lock); }

void hc_table_heal_end(struct hc_conn *c)
{
	c->healing = false;
	healing--;
	pthread_cond_broadcast(&settled);
}

void hc_swap_end(int fd)
{
	atomic_fetch_and(&hc_reading[fd], ~HC_SWAPPING);
	pthread_cond_broadcast(&settled);
}

void hc_table_wait_swap(int fd)
{
	int cancel;

	/* No cancellation point of the program's: cancelled here, the thread
	 * would die holding the lock (the wait re-takes it first). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_mutex_lock(&table_lock);
	while (atomic_load(&hc_reading[fd]) & HC_SWAPPING)
		pthread_cond_wait(&settled, &table_lock);
	pthread_mutex_unlock(&table_lock);
	pthread_setcancelstate(cancel, NULL);
}

void hc_table_atfork_prepare(void) { pthread_mutex_lock(&table_lock); }
void hc_table_atfork_parent(void) { pthread_mutex_unlock(&table_lock); }

void hc_table_atfork_child(void)
{
	struct hc_conn *c, *tmp;

	/* The child has one thread; the lock it inherited is ours but may not be
	 * unlockable there by POSIX rules: start a fresh one. */
	pthread_mutex_init(&table_lock, NULL);
	pthread_cond_init(&settled, NULL);
	/* The parent's readers and healers did not come along: the child's fds
	 * still name the sockets they named at the fork. */
	healing = 0;
	HASH_ITER(hh, table, c, tmp) {
		atomic_store(&hc_reading[c->fd], 0);
		/* A heal under way in another thread made this socket: the child
		 * must not hold the parent's new connection open. */
		if (c->healing && c->heal_fd >= 0)
			HC_REAL(close)(c->heal_fd);
		c->heal_fd = -1;
		c->healing = false;
	}
}
