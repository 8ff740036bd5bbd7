/* table.h - the per-fd liveness table: a uthash of struct hc_conn under one
 * mutex, fronted by two lock-free bitmaps that answer "is this fd mine?". */
#ifndef HC_TABLE_H
#define HC_TABLE_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "proto.h"
#include "request.h"
#include "resp.h"

/* The keys are fds: small, dense integers. The fd itself spreads them over
 * uthash's power-of-two buckets perfectly (consecutive fds, consecutive
 * buckets) and costs nothing, where uthash's default (Jenkins) hash costs
 * about 50 instructions on every managed read and write. */
/* Every uthash table of the library is keyed by an int fd. */
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = (unsigned)*(const int *)(keyptr))
#include <uthash.h>

/* fds at or above this are never tracked (the kernel's default nr_open). */
#define HC_FD_LIMIT (1u << 20)
/* Largest setsockopt value that can be replayed: an int, a linger, a timeval,
 * an interface or congestion-control name. 16 keeps struct hc_sockopt in a
 * 48-byte malloc chunk, and a socket with an option under 256 bytes. */
#define HC_OPT_MAX 16

union hc_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

enum hc_conn_state {
	HC_CONN_UNCONNECTED, /* created by socket(), not connected yet */
	HC_CONN_CONNECTING,  /* non-blocking connect in progress */
	HC_CONN_MANAGED,     /* connected; probed and healed at boundaries */
	HC_CONN_DEAD,        /* stale and could not be healed: writes fail with EPIPE */
	HC_CONN_UNMANAGED,   /* left alone for the rest of its life */
};

struct hc_sockopt {
	int level;
	int name;
	socklen_t len;
	unsigned char val[HC_OPT_MAX];
};

/* One epoll registration of a managed fd, to be re-added after a swap (dup3
 * silently drops it). */
struct hc_epoll_reg {
	int epfd;
	struct epoll_event ev;
	bool left_out; /* a fired EPOLLONESHOT one at a swap: not added for the new socket until the
	                * program re-arms it (EPOLL_CTL_MOD becomes the ADD) */
};

struct hc_conn {
	int fd; /* the key */
	int domain, type, protocol;
	enum hc_conn_state state;
	bool wrote;            /* a write since connect */
	bool read_since_write; /* the program read bytes since its last write */
	bool ever_read;        /* the program has read bytes from it: a request/response connection */
	bool unreplayable;     /* an option or bind we could not replay was set */
	bool counted;          /* counted in the stats as managed */
	bool healing;          /* a reconnect is under way without the lock: hands off */
	unsigned char nopts;
	unsigned char nregs;
	unsigned char opts_cap, regs_cap; /* room in opts, regs */
	uint8_t proto;                /* enum hc_proto: the class, from the first write on */
	uint32_t reads;               /* reads that returned bytes (a write's look at them knows if one came between) */
	socklen_t peer_len, bind_len; /* bind_len 0 = no explicit bind */
	int heal_fd;                  /* the socket a heal is making for it, or -1 (reconnect.h's slot) */
	uint64_t last_io_ns;          /* last read or write by the program, or connect */
	uint64_t ino;                 /* the socket's inode at connect: is fd still that socket? */
	struct hc_sockopt *opts;      /* nopts entries, in the order first set */
	struct hc_epoll_reg *regs;    /* nregs entries */
	union {                       /* what the class needs, while MANAGED (else NULL) */
		struct hc_resp *resp;     /* HC_PROTO_RESP: the session */
		struct hc_http_scan *http; /* HC_PROTO_HTTP1: the request head being written */
	} ps;
	struct hc_request req;        /* the request kept for a replay */
	union hc_sockaddr peer;
	union hc_sockaddr bound;
	UT_hash_handle hh;
};

/* Bit set: a table entry exists for the fd. */
extern _Atomic uint64_t hc_known_bits[HC_FD_LIMIT / 64];
/* Bit set: the fd is CONNECTING, MANAGED or DEAD: the read/write paths must look. */
extern _Atomic uint64_t hc_managed_bits[HC_FD_LIMIT / 64];
/* Bit set: the fd is an epoll instance some entry has a registration in. */
extern _Atomic uint64_t hc_epoll_bits[HC_FD_LIMIT / 64];

static inline bool hc_bit_test(_Atomic uint64_t *bits, int fd)
{
	return (unsigned)fd < HC_FD_LIMIT &&
	       (atomic_load_explicit(&bits[(unsigned)fd / 64], memory_order_relaxed) >> ((unsigned)fd % 64)) & 1;
}

void hc_table_lock(void);
void hc_table_unlock(void);

/* What hc_table_enter keeps for hc_table_leave to put back: errno, and the
 * thread's cancellation state. */
struct hc_guard {
	int err;
	int cancel;
};

/* Takes the table lock and returns fd's entry (once no heal of it is under
 * way) or NULL. From here to hc_table_leave this thread is inside the library
 * (hc_reentered: a signal handler's wrapped calls pass straight through; they
 * must never wait for a lock or a heal this very thread holds) and cannot be
 * cancelled: the library's own waits (a connect, a backoff, another thread's
 * heal) are no cancellation points of the program's, and a thread cancelled
 * in one would leave the table locked or an entry healing for ever. A
 * cancellation asked for meanwhile happens at the program's next cancellation
 * point, its real call included. */
struct hc_conn *hc_table_enter(int fd, struct hc_guard *g);

/* Releases the lock hc_table_enter took; errno and cancellation as they were. */
void hc_table_leave(const struct hc_guard *g);

/* True while this thread is inside the library's bookkeeping (from conn.c's
 * conn_lock to its conn_unlock, a heal included). A wrapped call the thread
 * makes meanwhile can only come from a signal handler: it passes straight
 * through (wrappers and hooks test hc_reentered first), for it must never
 * wait for the lock or the heal its own thread holds. A thread-local load:
 * no system call, no lock. */
extern __thread bool hc_busy __attribute__((tls_model("initial-exec")));
static inline bool hc_reentered(void) { return hc_busy; }

/* Per fd: how many threads are inside a read on it right now (counted for
 * managed fds only, without the lock), and HC_SWAPPING while a swap is under
 * way. A socket another thread is reading must not be swapped: that reader
 * holds the old connection. Both sides change the same word with one atomic
 * read-modify-write, so either the swap sees the reader or the reader sees
 * the swap. */
#define HC_SWAPPING 0x80000000u
extern _Atomic uint32_t hc_reading[HC_FD_LIMIT];

/* Waits, without holding the lock, until no swap of fd is under way. */
void hc_table_wait_swap(int fd);

/* Before a read of managed fd: counts it; if a swap is under way, waits for it
 * so as to read the new socket. */
static inline void hc_read_begin(int fd)
{
	if ((unsigned)fd < HC_FD_LIMIT && (atomic_fetch_add(&hc_reading[fd], 1) & HC_SWAPPING))
		hc_table_wait_swap(fd);
}

/* After that read, and after hc_after_read recorded what it returned. Never
 * below zero: the count of a number handed out anew starts at zero while a
 * read of the closed file it named may still be under way. */
static inline void hc_read_end(int fd)
{
	uint32_t v;

	if ((unsigned)fd >= HC_FD_LIMIT)
		return;
	v = atomic_load(&hc_reading[fd]);
	while ((v & ~HC_SWAPPING) != 0 && !atomic_compare_exchange_weak(&hc_reading[fd], &v, v - 1))
		;
}

/* Caller holds the table lock. True if no thread is inside a read of fd; reads
 * that start from now on wait until hc_swap_end. False: leave the socket be. */
static inline bool hc_swap_begin(int fd)
{
	if ((unsigned)fd >= HC_FD_LIMIT)
		return false;
	if (atomic_fetch_or(&hc_reading[fd], HC_SWAPPING) & ~HC_SWAPPING) {
		atomic_fetch_and(&hc_reading[fd], ~HC_SWAPPING);
		return false;
	}
	return true;
}

/* The same for the one thread that is itself inside a read of fd (a replay):
 * true if no other thread is reading it. */
static inline bool hc_swap_begin_reader(int fd)
{
	uint32_t just_us = 1;
	return (unsigned)fd < HC_FD_LIMIT &&
	       atomic_compare_exchange_strong(&hc_reading[fd], &just_us, 1 | HC_SWAPPING);
}

/* Caller holds the table lock: the swap of fd is over; wakes the readers that wait for it. */
void hc_swap_end(int fd);

/* The "not mine" check of every wrapper: no lock, no syscall. */
static inline bool hc_fd_known(int fd) { return hc_bit_test(hc_known_bits, fd); }
static inline bool hc_fd_managed(int fd) { return hc_bit_test(hc_managed_bits, fd); }
static inline bool hc_fd_epoll(int fd) { return hc_bit_test(hc_epoll_bits, fd); }

/* The entry for fd, or NULL. Caller holds the lock. */
struct hc_conn *hc_table_find(int fd);

/* The same, once no reconnect of it is under way: waits (the lock is released
 * meanwhile) while the entry is healing. Caller holds the lock. */
struct hc_conn *hc_table_find_settled(int fd);

/* Caller holds the lock: waits (released meanwhile) until no entry is healing. */
void hc_table_wait_no_healing(void);

/* A reconnect of c without the lock: hc_table_heal_begin marks c healing and
 * releases the lock; hc_table_heal_relock takes it back; hc_table_heal_end
 * (lock held) clears the mark and wakes those waiting for c. While c is
 * healing, nothing else changes or frees it: every path that would waits. */
void hc_table_heal_begin(struct hc_conn *c);
void hc_table_heal_relock(void);
void hc_table_heal_end(struct hc_conn *c);

/* A new zeroed entry for fd (state UNCONNECTED), after forgetting whatever the
 * number was (hc_table_forget_fd); sets the known bit. NULL if out of memory. Caller holds the lock. */
struct hc_conn *hc_table_add(int fd);

/* Forgets fd's entry if there is one. Caller holds the lock. */
void hc_table_remove(int fd);

/* Forgets everything known about the number fd: its entry, and the
 * registrations held in it if it was an epoll fd. For a number that is being
 * closed or was just handed out again. Caller holds the lock. */
void hc_table_forget_fd(int fd);

/* True if some fd in [first, last] has an entry or is an epoll fd we track. No lock needed. */
bool hc_table_any_known(unsigned first, unsigned last);

/* Forgets every entry with first <= fd <= last, and every registration in an
 * epoll fd in that range. Caller holds the lock. */
void hc_table_remove_range(unsigned first, unsigned last);

/* Moves c to MANAGED, counting it the first time. Caller holds the lock. */
void hc_conn_manage(struct hc_conn *c);

/* Stops managing c for good; counts it as passed through if it was managed.
 * Caller holds the lock. */
void hc_conn_give_up(struct hc_conn *c);

/* Moves c to state, keeping the managed bit in step; a connection no longer
 * MANAGED keeps no request for a replay and no session (wiped). Caller holds
 * the lock. */
void hc_conn_set_state(struct hc_conn *c, enum hc_conn_state state);

/* Frees what c's class kept (its RESP session, wiped: it may hold a
 * password; its HTTP head scan). No lock needed for an entry only the
 * caller sees (the supervisor's). */
void hc_conn_forget_proto(struct hc_conn *c);

/* Records a successful setsockopt for replay; an option whose value is too big
 * marks the connection unreplayable. Returns 0, -1 if out of memory. Caller
 * holds the lock. */
int hc_conn_record_option(struct hc_conn *c, int level, int name, const void *val, socklen_t len);

/* Records (op ADD or MOD) or forgets (DEL) c's registration in epfd. Returns 0,
 * -1 if out of memory (the registration is then not re-added after a swap).
 * Caller holds the lock. */
int hc_conn_record_epoll(struct hc_conn *c, int epfd, int op, const struct epoll_event *ev);

/* True if c's registration in epfd was left out by a swap (a fired
 * EPOLLONESHOT one, see reconnect.c). Caller holds the lock. */
bool hc_conn_epoll_left_out(const struct hc_conn *c, int epfd);

/* Forgets every registration in epfd (it is being closed). Caller holds the lock. */
void hc_table_forget_epoll(int epfd);

/* Number of entries. Caller holds the lock. */
unsigned hc_table_count(void);

/* Fork handlers: prepare takes the lock, parent releases it, child re-creates it. */
void hc_table_atfork_prepare(void);
void hc_table_atfork_parent(void);
void hc_table_atfork_child(void);

#endif
