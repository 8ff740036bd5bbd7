/* supervise_int.h - what the rooms of the supervisor (tools/supervise/) share:
 * the books (struct sv_proc, struct sv_conn), the state of the one thread
 * (sv), and each room's entry points. The public entry, hc_supervise(), and
 * the interface it offers are in tools/supervise.h.
 *
 * THE ROOMS (each file says at its top what it may touch):
 *   filter.c  the BPF filter the child installs
 *   target.c  access to a target process from outside: pidfd, its fds, its
 *             memory, its /proc files, whether a notification still stands
 *   procs.c   the books: a slot per process, an entry per socket, stats pages
 *   calls.c   socket, connect, bind, setsockopt, dup onto the range
 *   write.c   a write on a managed socket: the facts, the core's plan, the probe
 *   heal.c    a new connection at the program's number (ADDFD), epoll re-armed
 *   loop.c    notifications and signals: receive, dispatch, answer, reap
 *   start.c   the fork, the filter's listener, the go-ahead, hc_supervise
 * The rules themselves are the core's (shim/policy.h, session.h, probe.h):
 * a room gathers facts and carries out what the core decided. A room may
 * include the core's pure and lower-layer headers of shim/, never conn.h,
 * heal.h or the wrappers'.
 *
 * MECHANISM: see the comments below and DESIGN.md, "What LD_PRELOAD cannot
 * reach". In short: the child installs a filter that notifies socket() of
 * AF_INET/AF_INET6 stream sockets, and a few calls whose fd is in the
 * reserved range [SV_FD_LO, SV_FD_HI]; the supervisor creates those sockets
 * itself and installs them in the program at a free number of that range, so
 * writes to every other fd (logs, pipes, files) never leave the kernel.
 *
 * POLICIES (where the supervisor differs from the library, and why):
 * - It keeps no copy of a socket between calls: at each notification it
 *   takes one with pidfd_getfd and checks the inode. A copy kept would hold
 *   the connection open after the program closed it by a path the filter
 *   does not see (exec's close-on-exec, close_range, exit), so the server
 *   would never see the close; close() is therefore not intercepted at all.
 * - It does not see reads. Boundaries come from TCP_INFO and FIONREAD (write.c,
 *   on_write_conn); quiet time is since the last write or the last data
 *   received, whichever is later. The library's "the program read EOF, the
 *   socket is its own" rule cannot be seen: such a socket is still healed.
 * - fork: a process's sockets are managed in the process that created them;
 *   a child that inherits one uses it unmanaged (its calls on it only cost a
 *   notification). If the parent heals it, the child's copy stays on the old
 *   connection, as with the library.
 * - A reconnect runs in the supervisor's single thread: for up to
 *   HALFCLOSE_CONNECT_TIMEOUT_MS x (1 + HALFCLOSE_RETRIES) every supervised
 *   call of every process waits.
 * - i386 (int 0x80) and x32 system calls are allowed unsupervised.
 * - No replay (HALFCLOSE_REPLAY_*): requests are never resent.
 * - Sessions (DESIGN.md, "Sessions"): the same classes and rules as the
 *   library (shim/session.c). "The server spoke first" is bytes received
 *   before the first write (tcpi_bytes_received, less one for a FIN). A RESP
 *   connection's writes are read from the program's memory and parsed before
 *   each call runs; replies are not seen, so every session command is
 *   recorded as written and its reply on the new connection decides (an
 *   AUTH that failed on the old one fails there too: the failure path, never
 *   an authenticated session); a RESET, whose outcome decides the session,
 *   ends management. That each write was taken whole is checked at the next
 *   one (tcpi_bytes_acked + SIOCOUTQ): a write taken in part ends
 *   management too. */
#ifndef HC_SUPERVISE_INT_H
#define HC_SUPERVISE_INT_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../shim/clock.h"
#include "../../shim/config.h"
#include "../../shim/log.h"
#include "../../shim/page.h"
#include "../../shim/session.h"
#include "../../shim/table.h"

/* The headers of Linux 6.1 have these; older ones may not. */
#ifndef SECCOMP_ADDFD_FLAG_SETFD
#define SECCOMP_ADDFD_FLAG_SETFD (1UL << 0)
#endif
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_ADDFD
#define SECCOMP_IOCTL_NOTIF_ADDFD SECCOMP_IOW(3, struct seccomp_notif_addfd)
#endif
/* Linux 6.6: the target's wake-up switches straight to the supervisor. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* TCP states as tcpi_state gives them (include/net/tcp_states.h; the enum of
 * <netinet/tcp.h> cannot be included beside <linux/tcp.h>). */
enum { SV_TCP_CLOSE = 7, SV_TCP_CLOSE_WAIT = 8, SV_TCP_LAST_ACK = 9, SV_TCP_CLOSING = 11 };

/* The reserved range: the supervisor installs the sockets it manages at these
 * numbers, and the filter notifies the calls that name one of them. Below
 * 1024 because a C program's soft RLIMIT_NOFILE is usually 1024 (an fd at or
 * above it cannot be installed) and select() cannot watch fds >= FD_SETSIZE;
 * from 512 up because programs rarely hold that many fds, so the numbers are
 * free (one the program got by itself is left alone: it only costs a
 * notification per call). 512 managed sockets per process; further sockets
 * are created by the kernel as usual and are not managed. */
#define SV_FD_LO 512
#define SV_FD_HI 1023
#define SV_FD_N (SV_FD_HI - SV_FD_LO + 1)
/* Processes supervised at once (the program and its forked children). */
#define SV_MAX_PROCS 64
/* Options replayed per socket, and epoll registrations carried per swap. */
#define SV_MAX_OPTS 12
#define SV_MAX_REGS 16

/* One socket of the range. hc.* holds what the core's reconnect needs
 * (domain, type, protocol, options, bind, peer) and the state; the rest is
 * what the supervisor sees instead of the program's reads. */
struct sv_conn {
	struct hc_conn hc;               /* hc.fd, hc.state, hc.ino, hc.last_io_ns (last write), hc.proto, ... */
	bool used;                       /* an entry exists for this number */
	uint64_t rcvd_at_write;          /* tcpi_bytes_received at the program's last write */
	/* A RESP session is kept from the bytes of each write, read before the
	 * call runs: so each write is checked to have been taken whole, as
	 * tcpi_bytes_acked + SIOCOUTQ - sent_off == fed (the bytes parsed). */
	uint64_t sent_off, fed;
	struct hc_sockopt opts[SV_MAX_OPTS]; /* hc.opts points here */
};

/* A supervised process (thread group). */
struct sv_proc {
	pid_t tgid; /* 0: slot free */
	int pidfd;
	uint32_t gen;    /* bumped when the slot is reused: stale tid_map entries miss */
	unsigned cursor; /* where the next socket() looks for a free number */
	bool warned_full; /* said that no number of the range was free */
	struct hc_stats stats;
	struct hc_stats *live;  /* where SV_COUNT counts: &stats, or page's (HALFCLOSE_STATS_DIR) */
	struct hc_page *page;   /* the process's live page, or NULL */
	struct sv_conn conns[SV_FD_N];
};

enum sv_answer {
	SV_CONTINUE, /* let the call run as the program made it */
	SV_EPIPE,    /* fail it with EPIPE, nothing sent (the failure path) */
	SV_ANSWERED, /* answered already (ADDFD with SEND), or the notification is gone */
};

/* The supervisor's state: one process, one thread, allocated before the loop
 * (start.c); defined in loop.c. */
struct sv_state {
	int notif;  /* the listener; -1 once no task uses the filter */
	int sigfd;
	pid_t main_pid;
	bool main_done;
	int main_status;
	int main_signal; /* the signal that killed the program, or 0 */
	bool no_epoll_rearm;
	bool background; /* a copy left to serve what the program left running */
	struct sv_proc *procs; /* SV_MAX_PROCS */
	uint32_t *tid_map;     /* tid -> gen << 7 | slot + 1 */
	size_t tid_max;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
};
extern struct sv_state sv;

/* Scratch space for a /proc file (sv_read_file), never on the stack: an
 * epoll fdinfo holds a line per registration. Valid until the next read. */
extern char sv_filebuf[1 << 20];

#define SV_COUNT(p, field) atomic_fetch_add_explicit(&(p)->live->field, 1, memory_order_relaxed)
#define SV_LOG(level, p, fmt, ...) hc_log(level, "pid %d " fmt, (int)(p)->tgid, __VA_ARGS__)

/* ---- filter.c ---- */

/* Builds the filter into out (room for cap instructions). Returns its
 * length, or 0 if it did not fit. */
size_t sv_build_filter(struct sock_filter *out, size_t cap);

/* ---- target.c ---- */

int sv_pidfd_open(pid_t pid);
/* A copy of the target's fd in this process (close-on-exec), or -1. */
int sv_fetch_fd(int pidfd, int fd);
void sv_close_fd(int fd);
/* The whole of a small file into sv_filebuf. Returns its length, or -1
 * (errno EFBIG if it did not fit). */
ssize_t sv_read_file(const char *path);
/* True while the notification id still stands. */
bool sv_notif_valid(uint64_t id);
/* Reads len bytes at addr in task tid: the count read, or -1. The caller
 * validates the notification afterwards. */
ssize_t sv_peek(pid_t tid, uint64_t addr, void *buf, size_t len);
/* Exactly len bytes of the caller of req, the notification checked after. 0 or -1. */
int sv_peek_exact(const struct seccomp_notif *req, uint64_t addr, void *buf, size_t len);
/* Calls fn(n, arg) for each numeric entry of the directory at path until fn
 * returns true. Returns true if one did. */
bool sv_each_number(const char *path, bool (*fn)(long n, void *arg), void *arg);
/* True if a thread of tgid other than self is blocked reading fd. */
bool sv_reader_blocked(pid_t tgid, pid_t self, int fd);
/* True if thread tid is in the supervisor's network namespace. */
/* tid is still a thread of tgid, the process behind pidfd (tgkill, no /proc). */
bool sv_thread_of(pid_t tgid, int pidfd, pid_t tid, bool checked_alive);
bool sv_same_netns(pid_t tid);
/* True if the process behind pidfd has exited. */
bool sv_pidfd_exited(int pidfd);

/* ---- procs.c ---- */

void sv_write_stats(pid_t pid, const struct hc_stats *st);
void sv_page_close(struct sv_proc *p);
void sv_pages_adopt(void);
void sv_proc_release(struct sv_proc *p);
struct sv_proc *sv_proc_by_tgid(pid_t tgid);
/* The process of the task tid, found or created; NULL if unknown or full. */
struct sv_proc *sv_proc_of(pid_t tid);
/* The entry of fd arg (args[0] of a call) in p, if in the range and used. */
struct sv_conn *sv_conn_of(struct sv_proc *p, uint64_t arg);
void sv_conn_drop(struct sv_conn *e);
/* Our copy of e's socket in p, or -1 (e forgotten if the number no longer
 * names the socket we installed). */
int sv_conn_fetch(struct sv_proc *p, struct sv_conn *e);
void sv_become_managed(struct sv_proc *p, struct sv_conn *e);
void sv_give_up(struct sv_proc *p, struct sv_conn *e);
void sv_leave(struct sv_proc *p, struct sv_conn *e, enum hc_leave l, const char *why);

/* ---- calls.c ---- */

enum sv_answer sv_on_socket(const struct seccomp_notif *req, struct sv_proc *p);
enum sv_answer sv_on_connect(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e);
enum sv_answer sv_on_bind(const struct seccomp_notif *req, struct sv_conn *e);
enum sv_answer sv_on_setsockopt(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e);
void sv_on_dup_onto(const struct seccomp_notif *req, struct sv_proc *p, int newfd);

/* ---- write.c ---- */

enum sv_answer sv_on_write(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e);

/* ---- heal.c ---- */

/* tcpi_bytes_acked + SIOCOUTQ of our copy f into *out; false if unknown
 * (the write's check of what the kernel took, and a new socket's start). */
bool sv_bytes_written(int f, const struct tcp_info *ti, socklen_t tlen, uint64_t *out);
enum sv_heal { SV_HEALED, SV_HEAL_FAILED, SV_HEAL_GONE };
enum sv_heal sv_heal(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e, int old,
		     const char *why, uint64_t quiet_ns, int *err);

/* ---- loop.c ---- */

/* Serves notifications until the program has exited (and, in a background
 * copy, as long as its descendants use the filter). */
void sv_serve(void);

#endif
