/* supervise.c - the supervisor behind `halfclose --supervise`: seccomp user
 * notification on the socket calls of a program LD_PRELOAD cannot reach.
 *
 * INTERFACE (agreed with the tests in tests/supervise/):
 *
 *   halfclose [OPTIONS] [--] CMD ARGS...
 *       chooses the mechanism from CMD's ELF file: a program with a Go build
 *       ID (static or not: Go makes raw system calls) or without PT_INTERP
 *       (statically linked) is supervised; anything else (dynamic ELF, a
 *       script) gets LD_PRELOAD=libhalfclose.so as before.
 *   --supervise           force the supervisor
 *   --preload             force LD_PRELOAD
 *   --test-no-epoll-rearm TEST HOOK ONLY: supervised; a healed socket is not
 *                         re-added to the program's epoll sets (a Go client
 *                         then waits for its read deadline). Implies --supervise.
 *                         Racy by nature: Go reads once before it parks in
 *                         epoll, so a reply that is already there when that
 *                         read() runs is read without epoll (about 1 run in 4
 *                         against redis on loopback, more under load). A
 *                         test that wants the timeout every time needs a
 *                         server that answers a few ms late (e.g. 50 ms).
 *   All other options and every HALFCLOSE_* variable mean what they mean for
 *   the library, read once by the supervisor at start; a bad value or an
 *   unknown HALFCLOSE_* name prints the library's line
 *   ("halfclose[PID]: HALFCLOSE_X="v": expected ...; halfclose is passing
 *   everything through") and runs CMD unsupervised; HALFCLOSE_DISABLE=1 runs
 *   it unsupervised, silently. HALFCLOSE_REPLAY_* are accepted and ignored:
 *   the supervisor does no replay.
 *   HALFCLOSE_STATS: one stats line per supervised process, same keys as the
 *   library's, pid= that process's pid (not the supervisor's); the lines of
 *   other processes (forked children) are written when they are reaped, the
 *   main program's line last, when it has exited.
 *   HALFCLOSE_STATS_DIR: the supervisor keeps a live page for each process it
 *   supervises (DIR/halfclose.PID, that process's pid; writer = the
 *   supervisor, flag HC_PAGE_SUPERVISED), created at the process's first
 *   supervised call, removed when its stats line is written.
 *   HALFCLOSE_LOG / HALFCLOSE_LOG_FILE: same levels and file; a line is
 *   "halfclose[SUPERVISOR_PID]: pid PROGRAM_PID fd N ADDR stale (peer FIN)
 *   after M ms idle; reconnected in X ms" (SUPERVISOR_PID is the launcher's
 *   pid, i.e. $! of `halfclose CMD &`).
 *   Exit status: CMD's; 128+N if it died of signal N (as a shell reports it);
 *   125/126/127 as before. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 *   SIGUSR2 sent to the supervisor (the launcher's pid) are forwarded to CMD
 *   (not those a terminal sent to the whole process group, which CMD got
 *   itself). The supervisor holds no stdin/stdout of CMD.
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
 * - It does not see reads. Boundaries come from TCP_INFO and FIONREAD (see
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
#define _GNU_SOURCE
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <linux/seccomp.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shim/config.h"
#include "../shim/log.h"
#include "../shim/page.h"
#include "../shim/policy.h"
#include "../shim/probe.h"
#include "../shim/rebuild.h"
#include "../shim/reconnect.h"
#include "../shim/session.h"
#include "../shim/table.h"
#include "procfs.h"

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
/* The signals forwarded to the program. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

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

/* The supervisor's state: one process, one thread, allocated before the loop. */
static struct {
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
} sv = { .notif = -1, .sigfd = -1 };

/* Scratch space for /proc files and directory listings (never on the stack:
 * an epoll fdinfo holds a line per registration). */
static char filebuf[1 << 20];
static char dirbuf[1 << 16];

#define SV_COUNT(p, field) atomic_fetch_add_explicit(&(p)->live->field, 1, memory_order_relaxed)
#define SV_LOG(level, p, fmt, ...) hc_log(level, "pid %d " fmt, (int)(p)->tgid, __VA_ARGS__)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- small system-call helpers ---------------------------------------- */

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A copy of the target's fd in this process (close-on-exec), or -1. */
static int fetch_fd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The whole of a small file into filebuf (never more than its size). Returns
 * its length, or -1 (errno EFBIG if it did not fit: a partial text must not
 * be taken for the whole). */
static ssize_t read_file(const char *path)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, filebuf + len, sizeof(filebuf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return n < 0 ? -1 : (ssize_t)len;
		}
		len += (size_t)n;
		if (len == sizeof(filebuf)) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
}

/* True while the notification id still stands: whatever was read from the
 * target's memory before this was read from the task that made the call. */
static bool notif_valid(uint64_t id)
{
	return ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reads len bytes at addr in task tid. Returns the count read (a short count
 * at an unmapped page), or -1. The caller validates the id afterwards. */
static ssize_t peek(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (len == 0)
		return 0;
	return process_vm_readv(tid, &local, 1, &remote, 1, 0);
}

/* Reads exactly len bytes, then checks the notification still stands.
 * Returns 0 or -1. */
static int peek_exact(const struct seccomp_notif *req, uint64_t addr, void *buf, size_t len)
{
	return peek((pid_t)req->pid, addr, buf, len) == (ssize_t)len && notif_valid(req->id) ? 0 : -1;
}

/* ---- the filter --------------------------------------------------------- */

/* The low 32 bits of argument i (x86-64 is little-endian); fds are ints. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

enum { L_NEXT = -1, L_ALLOW, L_NOTIFY, L_SOCKET, L_SOCKTYPE, L_FCNTL, L_FD0, L_DUP2, L_NEWFD, L_COUNT };

struct insn {
	struct sock_filter f;
	int label;    /* L_* this instruction starts, or L_NEXT */
	int jt, jf;   /* jump targets (labels), L_NEXT = the next instruction */
};

/* Builds the filter into out (room for cap instructions). Returns its length,
 * or 0 if it did not fit. BPF only jumps forward: the two verdicts come last. Calls on other architectures (i386 through int 0x80)
 * and x32 numbers (>= 0x40000000) are allowed: not supervised, not refused. */
static size_t build_filter(struct sock_filter *out, size_t cap)
{
	/* The most frequent first: every write runs through this list. */
	static const int fd0_calls[] = { __NR_write,   __NR_sendto, __NR_writev,     __NR_sendmsg,
					 __NR_sendmmsg, __NR_connect, __NR_setsockopt, __NR_bind,
					 __NR_shutdown, __NR_dup };
	struct insn p[64];
	int pos[L_COUNT];
	size_t n = 0;

#define EMIT(lbl, code, k, t, f_) (p[n++] = (struct insn){ BPF_STMT((code), (k)), (lbl), (t), (f_) })
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, L_ALLOW, L_NEXT);
	for (size_t i = 0; i < sizeof(fd0_calls) / sizeof(fd0_calls[0]); i++)
		EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd0_calls[i], L_FD0, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, L_SOCKET, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, L_FCNTL, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_dup2, L_DUP2, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_dup3, L_DUP2, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JA, 0, L_ALLOW, L_ALLOW);
	/* socket(AF_INET or AF_INET6, SOCK_STREAM | flags, protocol) */
	EMIT(L_SOCKET, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, L_SOCKTYPE, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, L_SOCKTYPE, L_ALLOW);
	EMIT(L_SOCKTYPE, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_ALU | BPF_AND | BPF_K, 0xf, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, L_NOTIFY, L_ALLOW);
	/* fcntl(fd, F_DUPFD or F_DUPFD_CLOEXEC): a second reference to the socket.
	 * Its minimum (third argument) may point into the range while fd is
	 * outside it: not notified, since the kernel gives it the lowest free
	 * number from there, never one that holds a socket of ours (a number
	 * left by a close we did not see is forgotten by the inode check of the
	 * next notification). The danger is the other way: a socket() in
	 * another thread may have picked that same free number just before, and
	 * ADDFD (SETFD) then installs over the program's new fd. Notifying would
	 * not help: the call runs after our answer, unordered with that ADDFD. */
	EMIT(L_FCNTL, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, F_DUPFD, L_FD0, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, F_DUPFD_CLOEXEC, L_FD0, L_ALLOW);
	/* dup2/dup3(oldfd, newfd): oldfd in the range is a second reference to
	 * our socket; newfd in it replaces what that number holds, perhaps our
	 * socket (the program chose the number, not knowing we put its socket
	 * there), and must wait while a heal is about to install at it. dup2(fd,
	 * fd) changes nothing, dup3(fd, fd) fails: neither is notified. */
	EMIT(L_DUP2, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_MISC | BPF_TAX, 0, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_X, 0, L_ALLOW, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_NEWFD);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_NEWFD, L_NOTIFY);
	EMIT(L_NEWFD, BPF_MISC | BPF_TXA, 0, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_ALLOW, L_NOTIFY);
	/* the fd (first argument) in the reserved range */
	EMIT(L_FD0, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_ALLOW, L_NOTIFY);
	EMIT(L_NOTIFY, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF, L_NEXT, L_NEXT);
	EMIT(L_ALLOW, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NEXT, L_NEXT);
#undef EMIT
	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].label != L_NEXT)
			pos[p[i].label] = (int)i;
	for (size_t i = 0; i < n; i++) {
		out[i] = p[i].f;
		if (p[i].f.code == (BPF_JMP | BPF_JA)) {
			/* the one unconditional jump: its offset is k */
			out[i].k = (uint32_t)(pos[p[i].jt] - (int)i - 1);
		} else if (BPF_CLASS(p[i].f.code) == BPF_JMP) {
			int t = p[i].jt == L_NEXT ? (int)i + 1 : pos[p[i].jt];
			int f = p[i].jf == L_NEXT ? (int)i + 1 : pos[p[i].jf];
			if (t <= (int)i || f <= (int)i || t - (int)i - 1 > 255 || f - (int)i - 1 > 255)
				return 0; /* BPF only jumps forward, at most 255 */
			out[i].jt = (unsigned char)(t - (int)i - 1);
			out[i].jf = (unsigned char)(f - (int)i - 1);
		}
	}
	return n;
}

/* ---- processes ------------------------------------------------------------ */

/* Appends the stats line of process pid (counters st) to the stats file. */
static void write_stats(pid_t pid, const struct hc_stats *st)
{
	if (hc_cfg.stats_file[0] != '\0')
		hc_stats_write_of(hc_cfg.stats_file, pid, st);
}

/* Gives p a live page (HALFCLOSE_STATS_DIR), written by this supervisor,
 * and counts there; without one (none wanted, or refused: one warning per
 * supervisor) p counts in p->stats. */
static void page_open(struct sv_proc *p)
{
	static bool warned;
	struct hc_page_owner o;
	char why[256];

	p->live = &p->stats;
	if (hc_cfg.stats_dir[0] == '\0')
		return;
	if (hc_page_owner_of(p->tgid, getpid(), HC_PAGE_SUPERVISED, &o) != 0) {
		snprintf(why, sizeof(why), "cannot read /proc/%d/stat: %s", (int)p->tgid, strerror(errno));
		p->page = NULL;
	} else {
		p->page = hc_page_create(hc_cfg.stats_dir, &o, why, sizeof(why));
	}
	if (p->page != NULL)
		p->live = hc_page_counters(p->page);
	else if (!warned)
		hc_log(HC_LOG_WARN, "HALFCLOSE_STATS_DIR=\"%s\": %s; no live counters", hc_cfg.stats_dir, why);
	warned = warned || p->page == NULL;
}

/* Removes p's page, if it has one; p counts in p->stats again. */
static void page_close(struct sv_proc *p)
{
	if (p->page != NULL) {
		hc_page_remove(hc_cfg.stats_dir, p->tgid);
		hc_page_unmap(p->page);
	}
	p->page = NULL;
	p->live = &p->stats;
}

/* In the copy of the supervisor left in the background: the pages it goes on
 * updating are now written by it (`halfclose stats` checks that the writer
 * maps them). */
static void pages_adopt(void)
{
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid != 0 && sv.procs[i].page != NULL)
			sv.procs[i].page->writer = getpid();
}

/* Frees p's slot after writing its stats line. The main program's slot is
 * only released at exit, so its line comes last. */
static void proc_release(struct sv_proc *p)
{
	if (p->tgid == 0)
		return;
	write_stats(p->tgid, p->live);
	page_close(p);
	close_fd(p->pidfd);
	p->tgid = 0;
	p->pidfd = -1;
}

static struct sv_proc *proc_by_tgid(pid_t tgid)
{
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid == tgid)
			return &sv.procs[i];
	return NULL;
}

/* True if the process behind pidfd has exited. */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

/* Forgets e: its session (wiped) and its slot. */
static void conn_drop(struct sv_conn *e)
{
	hc_conn_forget_proto(&e->hc);
	e->used = false;
}

/* A free slot for tgid (reclaiming one whose process has exited), or NULL. */
static struct sv_proc *proc_new(pid_t tgid)
{
	struct sv_proc *p = NULL;
	int pidfd;

	for (int i = 0; i < SV_MAX_PROCS && p == NULL; i++)
		if (sv.procs[i].tgid == 0)
			p = &sv.procs[i];
	for (int i = 0; i < SV_MAX_PROCS && p == NULL; i++) {
		if (sv.procs[i].tgid != sv.main_pid && pidfd_exited(sv.procs[i].pidfd)) {
			proc_release(&sv.procs[i]);
			p = &sv.procs[i];
		}
	}
	if (p == NULL)
		return NULL;
	pidfd = pidfd_open(tgid);
	if (pidfd < 0)
		return NULL;
	if (pidfd >= SV_FD_LO) {
		/* Our numbers in the range are used to re-arm epoll registrations. */
		close(pidfd);
		return NULL;
	}
	/* The counters and entries of whoever had the slot go with it (memset: no allocation). */
	memset(&p->stats, 0, sizeof(p->stats));
	for (int i = 0; i < SV_FD_N; i++)
		conn_drop(&p->conns[i]);
	p->tgid = tgid;
	p->pidfd = pidfd;
	p->gen++;
	p->cursor = 0;
	p->warned_full = false;
	page_open(p);
	return p;
}

/* The process of the task that made the call (tid: any thread), found or
 * created; NULL if it cannot be known or the table is full. */
static struct sv_proc *proc_of(pid_t tid)
{
	char path[64];
	struct sv_proc *p;
	pid_t tgid;
	ssize_t len;

	if (tid > 0 && (size_t)tid < sv.tid_max && sv.tid_map[tid] != 0) {
		uint32_t v = sv.tid_map[tid];
		p = &sv.procs[(v & 0x7f) - 1];
		/* A thread id is reused once its thread is gone: it must still be a
		 * thread of that process (one look in /proc, no allocation). */
		snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)p->tgid, (int)tid);
		if (p->tgid != 0 && (p->gen & 0x1ffffff) == v >> 7 && faccessat(AT_FDCWD, path, F_OK, 0) == 0)
			return p;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	len = read_file(path);
	if (len < 0 || hc_procfs_tgid(filebuf, (size_t)len, &tgid) != 0)
		return NULL;
	p = proc_by_tgid(tgid);
	if (p == NULL)
		p = proc_new(tgid);
	if (p != NULL && tid > 0 && (size_t)tid < sv.tid_max)
		sv.tid_map[tid] = (p->gen & 0x1ffffff) << 7 | (uint32_t)(p - sv.procs + 1);
	return p;
}

/* The entry of fd (args[0] of the call) in p, if it is in the range and used. */
static struct sv_conn *conn_of(struct sv_proc *p, uint64_t arg)
{
	int fd = (int)(uint32_t)arg;
	struct sv_conn *e;

	if (p == NULL || fd < SV_FD_LO || fd > SV_FD_HI)
		return NULL;
	e = &p->conns[fd - SV_FD_LO];
	return e->used ? e : NULL;
}

/* Our copy of e's socket in p, or -1 (then e is forgotten if the number no
 * longer names the socket we installed: closed behind our back, reused). */
static int conn_fetch(struct sv_proc *p, struct sv_conn *e)
{
	int f = fetch_fd(p->pidfd, e->hc.fd);

	if (f >= 0 && hc_socket_inode(f) == e->hc.ino)
		return f;
	if (f >= 0 || errno == EBADF)
		conn_drop(e);
	close_fd(f);
	return -1;
}

static void become_managed(struct sv_proc *p, struct sv_conn *e)
{
	e->hc.state = HC_CONN_MANAGED;
	if (!e->hc.counted) {
		e->hc.counted = true;
		SV_COUNT(p, managed);
	}
}

/* Stops managing e for good; counts it as passed through if it was managed. */
static void give_up(struct sv_proc *p, struct sv_conn *e)
{
	if (e->hc.state == HC_CONN_MANAGED || e->hc.state == HC_CONN_CONNECTING)
		SV_COUNT(p, passthrough);
	e->hc.state = HC_CONN_UNMANAGED;
}

/* ---- socket, connect, options: what the program does to its sockets -------- */

static bool each_number(const char *path, bool (*fn)(long n, void *arg), void *arg);

/* Free numbers below the range that p must have for us to pick one in it. */
#define SV_FD_MARGIN 128

static bool count_below_range(long n, void *arg)
{
	if (n < SV_FD_LO)
		++*(unsigned *)arg;
	return false; /* all of them */
}

/* A number of the range free in p's fd table below its RLIMIT_NOFILE, or -1.
 * ADDFD with SETFD replaces whatever holds the number by then, and the
 * program's other calls (open, accept, ...) take the lowest free number
 * meanwhile, perhaps in another thread: so the pick is from the top of the
 * range down, and only while p has at least SV_FD_MARGIN numbers free below
 * the range, which those calls fill before they could reach it. */
static int pick_number(struct sv_proc *p)
{
	struct rlimit rl;
	unsigned span = SV_FD_N, held = 0;
	char path[64];

	if (prlimit(p->tgid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur < (rlim_t)SV_FD_HI + 1)
		span = rl.rlim_cur > SV_FD_LO ? (unsigned)(rl.rlim_cur - SV_FD_LO) : 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->tgid);
	each_number(path, count_below_range, &held);
	if (held + SV_FD_MARGIN > SV_FD_LO)
		return -1;
	for (unsigned k = 0; k < span; k++) {
		unsigned off = span - 1 - (p->cursor + k) % span;
		snprintf(path, sizeof(path), "/proc/%d/fd/%u", (int)p->tgid, SV_FD_LO + off);
		if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
			p->cursor = span - off;
			return SV_FD_LO + (int)off;
		}
	}
	return -1;
}

/* True if thread tid is in the supervisor's network namespace. */
static bool same_netns(pid_t tid)
{
	struct stat mine, its;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)tid);
	return stat("/proc/self/ns/net", &mine) == 0 && stat(path, &its) == 0 && mine.st_ino == its.st_ino &&
	       mine.st_dev == its.st_dev;
}

/* socket(AF_INET or AF_INET6, SOCK_STREAM...): created here and installed in
 * the program at a number of the range, which its socket() returns. Anything
 * unexpected lets the program's own call run instead (an unmanaged socket). */
static enum sv_answer on_socket(const struct seccomp_notif *req, struct sv_proc *p)
{
	int domain = (int)req->data.args[0], type = (int)req->data.args[1], protocol = (int)req->data.args[2];
	struct seccomp_notif_addfd add = { .id = req->id, .flags = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND };
	struct sv_conn *e;
	uint64_t ino;
	int s, n, fd;

	/* TCP and MPTCP (which falls back to it); not SCTP's one-to-one sockets. */
	if (p == NULL || (protocol != 0 && protocol != IPPROTO_TCP && protocol != IPPROTO_MPTCP))
		return SV_CONTINUE;
	/* A socket made here lives in our network namespace: one the calling
	 * thread left (unshare -n, setns) must get its own, so it is not ours. */
	if (!same_netns((pid_t)req->pid)) {
		SV_COUNT(p, passthrough);
		return SV_CONTINUE;
	}
	n = pick_number(p);
	if (n < 0) {
		/* The range is full, or beyond the program's RLIMIT_NOFILE: the
		 * program's own socket() runs, unmanaged. Said once per process. */
		SV_COUNT(p, passthrough);
		if (!p->warned_full)
			SV_LOG(HC_LOG_WARN, p, "no free fd in %d-%d under the program's fd limit, or over %d "
			       "fds below it: its new TCP sockets are not managed", SV_FD_LO, SV_FD_HI,
			       SV_FD_LO - SV_FD_MARGIN);
		p->warned_full = true;
		return SV_CONTINUE;
	}
	/* O_NONBLOCK belongs to the open file, shared with the program's copy;
	 * close-on-exec belongs to its fd and is set by ADDFD. */
	s = socket(domain, (type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, protocol);
	if (s < 0)
		return SV_CONTINUE; /* the program's own call gets the real error */
	ino = hc_socket_inode(s);
	add.srcfd = (uint32_t)s;
	add.newfd = (uint32_t)n;
	add.newfd_flags = (type & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
	fd = ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	close(s);
	if (fd < 0)
		/* ENOENT: the call was interrupted and is gone (it will be made
		 * again); otherwise (EMFILE, EBADF...) let the program's call run. */
		return errno == ENOENT || errno == EINPROGRESS ? SV_ANSWERED : SV_CONTINUE;
	e = &p->conns[n - SV_FD_LO];
	hc_conn_forget_proto(&e->hc); /* what a socket closed behind our back left */
	memset(&e->hc, 0, sizeof(e->hc));
	e->used = true;
	e->hc.fd = n;
	e->hc.domain = domain;
	e->hc.type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	e->hc.protocol = protocol;
	e->hc.state = HC_CONN_UNCONNECTED;
	e->hc.ino = ino;
	e->hc.opts = e->opts;
	return SV_ANSWERED;
}

/* Reads the sockaddr argument (args[1], length args[2]) of connect or bind
 * into *a. Returns its length as given (at most sizeof(*a)), or -1. */
static int read_sockaddr(const struct seccomp_notif *req, union hc_sockaddr *a)
{
	uint64_t len = (uint32_t)req->data.args[2];

	memset(a, 0, sizeof(*a));
	if (len > sizeof(*a))
		len = sizeof(*a);
	if (len < sizeof(sa_family_t) || peek_exact(req, req->data.args[1], a, (size_t)len) != 0)
		return -1;
	return (int)len;
}

/* connect(): records the address; the call runs as made. The connection is
 * managed from its first write on, once getpeername says it is established. */
static enum sv_answer on_connect(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	union hc_sockaddr a;
	socklen_t alen;
	int len;

	if (e->hc.state != HC_CONN_UNCONNECTED && e->hc.state != HC_CONN_CONNECTING)
		return SV_CONTINUE;
	len = read_sockaddr(req, &a);
	if (len < 0)
		return SV_CONTINUE;
	if (a.sa.sa_family == AF_UNSPEC) {
		e->hc.state = HC_CONN_UNCONNECTED; /* dissolves the association */
		hc_conn_forget_proto(&e->hc);
		return SV_CONTINUE;
	}
	alen = hc_inet_len(&a.sa, (socklen_t)len);
	if (alen == 0) {
		e->hc.state = HC_CONN_UNMANAGED;
		return SV_CONTINUE;
	}
	if (e->hc.unreplayable || !hc_config_manages(&hc_cfg, &a.sa)) {
		SV_COUNT(p, passthrough);
		e->hc.state = HC_CONN_UNMANAGED;
		return SV_CONTINUE;
	}
	memcpy(&e->hc.peer, &a, alen);
	e->hc.peer_len = alen;
	e->hc.state = HC_CONN_CONNECTING;
	e->hc.wrote = false;
	e->hc.counted = false;
	hc_conn_forget_proto(&e->hc); /* a new association is another conversation */
	e->hc.proto = HC_PROTO_NONE;
	e->fed = 0;
	e->hc.last_io_ns = now_ns();
	e->rcvd_at_write = 0;
	return SV_CONTINUE;
}

/* bind(): an explicit local address is replayed; a fixed port cannot be
 * bound again while the old connection holds it, so it makes e unmanageable. */
static enum sv_answer on_bind(const struct seccomp_notif *req, struct sv_conn *e)
{
	union hc_sockaddr a;
	int len = read_sockaddr(req, &a);

	if (e->hc.state != HC_CONN_UNCONNECTED)
		return SV_CONTINUE;
	e->hc.bind_len = len < 0 ? 0 : hc_inet_len(&a.sa, (socklen_t)len);
	if (e->hc.bind_len == 0 || a.in.sin_port != 0) /* sin_port and sin6_port share their offset */
		e->hc.unreplayable = true;
	else
		memcpy(&e->hc.bound, &a, e->hc.bind_len);
	return SV_CONTINUE;
}

/* setsockopt(): recorded for the replay (the last value of each option, in
 * the order first set). An option too big, one that refers to memory or
 * another fd (socket filters), or one too many makes e unmanageable. */
/* What a fresh socket like e's says to the option, as an errno value (0: it
 * takes it). The call is recorded before the kernel runs it for the program,
 * so this is how a malformed one (EINVAL, ENOPROTOOPT), which the program's
 * socket refuses too, is kept out of the replay. */
static int option_verdict(const struct sv_conn *e, int level, int name, const void *val, socklen_t len)
{
	int s = socket(e->hc.domain, e->hc.type | SOCK_CLOEXEC, e->hc.protocol), err = 0;

	if (s < 0)
		return errno;
	if (setsockopt(s, level, name, val, len) != 0)
		err = errno;
	close(s);
	return err;
}

static enum sv_answer on_setsockopt(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	int level = (int)req->data.args[1], name = (int)req->data.args[2];
	socklen_t len = (socklen_t)req->data.args[4];
	unsigned char val[HC_OPT_MAX];
	struct hc_sockopt *o = NULL;
	bool ok;
	int err;

	if (e->hc.state == HC_CONN_UNMANAGED || e->hc.state == HC_CONN_DEAD)
		return SV_CONTINUE;
	ok = len <= HC_OPT_MAX && peek_exact(req, req->data.args[3], val, len) == 0 &&
	     !hc_option_holds_a_reference(level, name);
	if (ok) {
		err = option_verdict(e, level, name, val, len);
		if (err == EINVAL || err == ENOPROTOOPT)
			return SV_CONTINUE; /* refused as malformed: nothing to replay */
		ok = err == 0; /* refused otherwise (EPERM...): the replay could not do it */
	}
	for (unsigned i = 0; ok && i < e->hc.nopts && o == NULL; i++)
		if (e->opts[i].level == level && e->opts[i].name == name)
			o = &e->opts[i];
	if (ok && o == NULL && e->hc.nopts < SV_MAX_OPTS)
		o = &e->opts[e->hc.nopts++];
	if (o == NULL) {
		e->hc.unreplayable = true;
		if (e->hc.state != HC_CONN_UNCONNECTED)
			give_up(p, e);
		return SV_CONTINUE;
	}
	o->level = level;
	o->name = name;
	o->len = len;
	memcpy(o->val, val, len);
	return SV_CONTINUE;
}

/* ---- writes: boundary, probe, heal ------------------------------------------ */

/* Leaves e alone for good because of what it carries (l, why): the
 * library's rule (session.h), counted in p's stats. */
static void sv_leave(struct sv_proc *p, struct sv_conn *e, enum hc_leave l, const char *why)
{
	char addr[64];

	if (l == HC_LEAVE_NONE)
		return;
	why = hc_leave_count(p->live, l, why);
	SV_LOG(HC_LOG_INFO, p, "fd %d %s %s; never swapped, left to the program", e->hc.fd,
	       hc_addr_format(&e->hc.peer.sa, addr, sizeof(addr)), why);
	e->hc.state = HC_CONN_UNMANAGED;
	hc_conn_forget_proto(&e->hc);
}

/* The buffers of the write-family call req, as iovecs in the target (at most
 * cap of them) into iov. Returns their count, or -1 if they cannot be known
 * (sendmmsg: how many of its messages go out is not known beforehand; an
 * unreadable msghdr or iovec array). */
static long write_iovecs(const struct seccomp_notif *req, struct iovec *iov, size_t cap)
{
	const __u64 *a = req->data.args;
	pid_t tid = (pid_t)req->pid;
	struct msghdr mh;
	size_t n;

	switch (req->data.nr) {
	case __NR_write:
	case __NR_sendto:
		iov[0].iov_base = (void *)(uintptr_t)a[1];
		iov[0].iov_len = (size_t)a[2];
		return 1;
	case __NR_writev:
		n = (size_t)(uint32_t)a[2];
		if (n > cap || peek(tid, a[1], iov, n * sizeof(iov[0])) != (ssize_t)(n * sizeof(iov[0])))
			return -1;
		return (long)n;
	case __NR_sendmsg:
		if (peek(tid, a[1], &mh, sizeof(mh)) != (ssize_t)sizeof(mh) || mh.msg_iovlen > cap ||
		    peek(tid, (uintptr_t)mh.msg_iov, iov, mh.msg_iovlen * sizeof(iov[0])) !=
			    (ssize_t)(mh.msg_iovlen * sizeof(iov[0])))
			return -1;
		return (long)mh.msg_iovlen;
	}
	return -1;
}

/* True if the session of c needs (more of) the bytes of a write: all of them
 * for a RESP session, an HTTP head until its end, the first ones only to
 * classify or to look at a boundary. first: none of this write seen yet. */
static bool wants_more(const struct hc_conn *c, bool boundary, bool first)
{
	if (first)
		return hc_session_needs_bytes(c, boundary);
	return c->proto == HC_PROTO_RESP || (c->proto == HC_PROTO_HTTP1 && c->ps.http != NULL && c->ps.http->in_head);
}

/* Shows the session the bytes of the write-family call req on e, read from
 * the target a chunk at a time, before the call runs (the supervisor never
 * sees what it returns: sent_off and fed check that it took them all, at
 * the next write). Returns why e is to be left alone, or HC_LEAVE_NONE. */
static enum hc_leave feed_write(const struct seccomp_notif *req, struct sv_conn *e, bool boundary, const char **why)
{
	static struct iovec iov[1024]; /* IOV_MAX */
	static unsigned char chunk[65536];
	struct hc_written w = { .boundary = boundary, .sees_reads = false };
	long n = write_iovecs(req, iov, sizeof(iov) / sizeof(iov[0]));
	enum hc_leave l = HC_LEAVE_NONE;
	uint64_t fed0 = e->fed;

	*why = "a write whose bytes cannot be seen";
	if (n < 0)
		return hc_session_wrote(&e->hc, &hc_cfg, &w, NULL, 0, 0, why);
	for (long i = 0; i < n && l == HC_LEAVE_NONE; i++) {
		for (size_t off = 0; off < iov[i].iov_len && l == HC_LEAVE_NONE; off += sizeof(chunk)) {
			size_t k = iov[i].iov_len - off < sizeof(chunk) ? iov[i].iov_len - off : sizeof(chunk);
			struct iovec local = { chunk, k };
			if (!wants_more(&e->hc, w.boundary, e->fed == fed0))
				return HC_LEAVE_NONE;
			if (peek((pid_t)req->pid, (uintptr_t)iov[i].iov_base + off, chunk, k) != (ssize_t)k) {
				*why = "a write whose bytes cannot be read";
				return e->hc.proto == HC_PROTO_RESP || e->hc.proto == HC_PROTO_NONE ? HC_LEAVE_STATEFUL
												      : HC_LEAVE_NONE;
			}
			l = hc_session_wrote(&e->hc, &hc_cfg, &w, &local, 1, k, why);
			e->fed += k;
			w.boundary = false;
		}
	}
	return notif_valid(req->id) ? l : HC_LEAVE_NONE;
}

/* tcpi_bytes_acked + SIOCOUTQ of our copy f: every byte written to the
 * socket since its SYN (which counts one), acknowledged or not. */
static bool bytes_written(int f, const struct tcp_info *ti, socklen_t tlen, uint64_t *out)
{
	int outq = 0;

	if (tlen < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti->tcpi_bytes_acked) ||
	    ioctl(f, SIOCOUTQ, &outq) != 0 || outq < 0)
		return false;
	*out = ti->tcpi_bytes_acked + (uint64_t)outq;
	return true;
}

/* Calls one of p's threads may be blocked in, reading fd: such a reader holds
 * the old connection and is about to see its EOF, so fd must not be swapped
 * under it (the library's rule, found here in /proc/PID/task/TID/syscall). */
static bool is_read_call(long nr)
{
	return nr == __NR_read || nr == __NR_readv || nr == __NR_recvfrom || nr == __NR_recvmsg ||
	       nr == __NR_recvmmsg || nr == __NR_pread64 || nr == __NR_preadv || nr == __NR_preadv2;
}

/* Reads the directory at path into dirbuf with getdents64 and calls fn(name,
 * arg) for each numeric entry until fn returns true. Returns true if some call
 * did, false otherwise (or if the directory cannot be read). */
static bool each_number(const char *path, bool (*fn)(long n, void *arg), void *arg)
{
	int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool hit = false;

	if (d < 0)
		return false;
	for (;;) {
		long n = syscall(SYS_getdents64, d, dirbuf, sizeof(dirbuf));
		if (n <= 0)
			break;
		for (long off = 0; off < n && !hit;) {
			struct dirent64 *de = (struct dirent64 *)(dirbuf + off);
			char *end;
			long v = strtol(de->d_name, &end, 10);
			if (de->d_reclen == 0)
				break;
			off += de->d_reclen;
			if (end != de->d_name && *end == '\0' && v >= 0)
				hit = fn(v, arg);
		}
		if (hit)
			break;
	}
	close(d);
	return hit;
}

struct reader_query {
	pid_t tgid, self; /* self: the thread making the write */
	int fd;
};

static bool task_reads_fd(long tid, void *arg)
{
	const struct reader_query *q = arg;
	char path[96];
	ssize_t len;
	long nr;
	uint64_t a0;

	if (tid == q->self)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task/%ld/syscall", (int)q->tgid, tid);
	len = read_file(path);
	return len > 0 && hc_procfs_syscall(filebuf, (size_t)len, &nr, &a0) == 0 && is_read_call(nr) &&
	       (int)(uint32_t)a0 == q->fd;
}

/* True if another thread of p is blocked reading fd. */
static bool reader_blocked(const struct sv_proc *p, pid_t self, int fd)
{
	struct reader_query q = { .tgid = p->tgid, .self = self, .fd = fd };
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->tgid);
	return each_number(path, task_reads_fd, &q);
}

/* The epoll registrations of one socket, found in the program's epoll fds. */
struct reg_query {
	pid_t tgid;
	int fd;
	uint64_t ino;
	unsigned n;
	bool overflow;
	struct {
		int epfd;
		struct epoll_event ev;
	} regs[SV_MAX_REGS];
};

static bool collect_regs(long epfd, void *arg)
{
	struct reg_query *q = arg;
	struct hc_procfs_tfd t;
	char path[96], link[64];
	ssize_t n, len;
	size_t pos = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)q->tgid, epfd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (size_t)n != strlen("anon_inode:[eventpoll]") || memcmp(link, "anon_inode:[eventpoll]", (size_t)n) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", (int)q->tgid, epfd);
	len = read_file(path);
	if (len < 0) {
		q->overflow = true; /* unreadable: we cannot promise to carry everything over */
		return true;
	}
	while (hc_procfs_next_tfd(filebuf, (size_t)len, &pos, &t)) {
		if (t.fd != q->fd || t.ino != q->ino)
			continue;
		if (q->n == SV_MAX_REGS) {
			q->overflow = true;
			return true;
		}
		q->regs[q->n].epfd = (int)epfd;
		q->regs[q->n].ev.events = t.events;
		q->regs[q->n].ev.data.u64 = t.data;
		q->n++;
	}
	return false;
}

/* Re-adds each registration of q for the new socket s at the program's
 * number fd, after taking out the old socket's (old: our copy of it). epoll
 * keys a registration by file and fd number, so both calls are made with our
 * own fd fd naming the right file; our fds stay below the range, so the
 * number is free here. Returns 0, or -1 if one could not be re-added. */
static int rearm_epoll(const struct sv_proc *p, const struct reg_query *q, int fd, int old, int s)
{
	int ret = 0;

	if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
		return -1;
	for (unsigned i = 0; i < q->n; i++) {
		struct epoll_event ev = q->regs[i].ev;
		int ep = fetch_fd(p->pidfd, q->regs[i].epfd);
		if (ep < 0) {
			ret = -1;
			continue;
		}
		/* The old registration would stay live if the old socket has
		 * another reference (a forked child): take it out first. */
		if (dup3(old, fd, O_CLOEXEC) == fd) {
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
		}
		if (dup3(s, fd, O_CLOEXEC) != fd) {
			ret = -1;
		} else {
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
				ret = -1;
			close(fd);
		}
		close(ep);
	}
	return ret;
}

enum heal_result { HEALED, HEAL_FAILED, HEAL_GONE };

/* Swaps a fresh connection in at e's number in p, carrying over O_NONBLOCK
 * (from our copy old), FD_CLOEXEC (from its fdinfo) and the epoll
 * registrations. *err gets the cause of HEAL_FAILED; HEAL_GONE: the call was
 * interrupted (it will be made again), nothing changed. */
static enum heal_result heal(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e, int old,
			     const char *why, uint64_t quiet_ns, int *err)
{
	static struct reg_query q;
	struct seccomp_notif_addfd add = { .id = req->id, .flags = SECCOMP_ADDFD_FLAG_SETFD };
	const struct hc_resp *session = hc_session_to_rebuild(&e->hc);
	uint64_t t0 = now_ns(), took, total;
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	unsigned fdflags;
	char path[96], name[200];
	ssize_t len;
	int s, fl;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)p->tgid, e->hc.fd);
	len = read_file(path);
	fl = fcntl(old, F_GETFL);
	if (len < 0 || hc_procfs_fdinfo_flags(filebuf, (size_t)len, &fdflags) != 0 || fl < 0) {
		*err = EIO;
		return HEAL_FAILED;
	}
	memset(&q, 0, sizeof(q));
	q.tgid = p->tgid;
	q.fd = e->hc.fd;
	q.ino = e->hc.ino;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->tgid);
	if (!sv.no_epoll_rearm && (each_number(path, collect_regs, &q), q.overflow)) {
		*err = E2BIG;
		return HEAL_FAILED;
	}
	if (hc_reconnect_open(&e->hc, &hc_cfg, (fl & O_NONBLOCK) != 0, &s, err) != 0)
		return HEAL_FAILED;
	/* The session first, checked: then the program's write goes out on a
	 * connection in the state the old one was in. */
	if (session != NULL && hc_rebuild_session(s, session, hc_cfg.connect_timeout_ms, err) != 0) {
		hc_reconnect_discard(&s);
		SV_COUNT(p, session_failures);
		return HEAL_FAILED;
	}
	if (fcntl(s, F_SETFL, fl & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK)) != 0) {
		*err = errno;
		close(s);
		return HEAL_FAILED;
	}
	add.srcfd = (uint32_t)s;
	add.newfd = (uint32_t)e->hc.fd;
	add.newfd_flags = (fdflags & O_CLOEXEC) ? O_CLOEXEC : 0;
	if (ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
		*err = errno;
		close(s);
		return *err == ENOENT || *err == EINPROGRESS ? HEAL_GONE : HEAL_FAILED;
	}
	if (!sv.no_epoll_rearm && rearm_epoll(p, &q, e->hc.fd, old, s) != 0)
		SV_LOG(HC_LOG_WARN, p, "fd %d: an epoll registration could not be carried over", e->hc.fd);
	e->hc.ino = hc_socket_inode(s);
	/* The program's bytes go on where they were: fed of them so far. */
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 && bytes_written(s, &ti, tlen, &total))
		e->sent_off = total - e->fed;
	close(s);
	SV_COUNT(p, reconnects);
	if (session != NULL)
		SV_COUNT(p, session_rebuilds);
	took = now_ns() - t0;
	if (session != NULL)
		SV_LOG(HC_LOG_INFO, p, "fd %d %s %s after %llu ms idle; session rebuilt (%u commands), reconnected in "
		       "%llu.%02llu ms", e->hc.fd, hc_session_name(&e->hc, name, sizeof(name)), why,
		       (unsigned long long)(quiet_ns / 1000000), hc_resp_record_count(session),
		       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	else
		SV_LOG(HC_LOG_INFO, p, "fd %d %s %s after %llu ms idle; reconnected in %llu.%02llu ms", e->hc.fd,
		       hc_session_name(&e->hc, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000),
		       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	return HEALED;
}

/* The failure path: this write and the ones after it fail with EPIPE, nothing sent. */
static enum sv_answer fail_stale(struct sv_proc *p, struct sv_conn *e, const char *why, uint64_t quiet_ns,
				 const char *because)
{
	char name[200];

	SV_COUNT(p, reconnect_failures);
	SV_LOG(HC_LOG_WARN, p, "fd %d %s %s after %llu ms idle; %s; write fails with EPIPE", e->hc.fd,
	       hc_session_name(&e->hc, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000),
	       because);
	e->hc.state = HC_CONN_DEAD;
	return SV_EPIPE;
}

/* The decision at a boundary write on a MANAGED e, the library's policy
 * (hc_probe_action): probe; retire, heal, keep unread, or the failure path.
 * *healed tells the caller the connection is new. */
static enum sv_answer decide(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e, int f,
			     uint64_t quiet_ns, bool reply_owed, bool *healed)
{
	const char *probe_why;
	char why[64], name[200], because[128];
	enum heal_result r;
	enum hc_verdict v;
	enum hc_action act;
	int err = 0;

	SV_COUNT(p, probes);
	v = hc_probe(f, &probe_why);
	SV_LOG(HC_LOG_DEBUG, p, "fd %d probed after %llu ms quiet: %s", e->hc.fd,
	       (unsigned long long)(quiet_ns / 1000000), hc_verdict_name(v));
	act = hc_probe_action(v, quiet_ns, reply_owed, &hc_cfg);
	if (act == HC_ACT_PROCEED)
		return SV_CONTINUE;
	if (act == HC_ACT_RETIRE) {
		/* Never under a reader; if it fails, the old connection is alive: use it. */
		if (reader_blocked(p, (pid_t)req->pid, e->hc.fd))
			return SV_CONTINUE;
		r = heal(req, p, e, f, "retired (alive, idle past HALFCLOSE_MAX_IDLE_MS)", quiet_ns, &err);
		if (r == HEALED) {
			SV_COUNT(p, retired);
			*healed = true;
		} else if (r == HEAL_FAILED) {
			SV_LOG(HC_LOG_INFO, p, "fd %d %s retirement failed: %s; keeping the old connection", e->hc.fd,
			       hc_session_name(&e->hc, name, sizeof(name)), hc_heal_failure(err, because, sizeof(because)));
		}
		return r == HEAL_GONE ? SV_ANSWERED : SV_CONTINUE;
	}
	SV_COUNT(p, stale);
	snprintf(why, sizeof(why), "stale (%s)", probe_why);
	if (act == HC_ACT_LEAVE_UNREAD) {
		SV_COUNT(p, unread_kept);
		SV_LOG(HC_LOG_INFO, p, "fd %d %s %s with unread data; left to the program", e->hc.fd,
		       hc_session_name(&e->hc, name, sizeof(name)), why);
		e->hc.state = HC_CONN_UNMANAGED;
		hc_conn_forget_proto(&e->hc);
		return SV_CONTINUE;
	}
	if (act == HC_ACT_FAIL_RECENT)
		return fail_stale(p, e, why, quiet_ns, "too recently active to swap");
	if (act == HC_ACT_FAIL_OWED)
		return fail_stale(p, e, why, quiet_ns, "a reply to an earlier request may still be owed");
	if (reader_blocked(p, (pid_t)req->pid, e->hc.fd))
		return fail_stale(p, e, why, quiet_ns, "another thread is reading it");
	r = heal(req, p, e, f, why, quiet_ns, &err);
	if (r == HEAL_GONE)
		return SV_ANSWERED;
	if (r == HEAL_FAILED)
		return fail_stale(p, e, why, quiet_ns, hc_heal_failure(err, because, sizeof(because)));
	*healed = true;
	return SV_CONTINUE;
}

/* A write-family call on e (f: our copy of its socket). The supervisor does
 * not see reads, but holds the socket: a response arrived since the last
 * write (tcpi_bytes_received grew) and nothing is left unread (FIONREAD 0)
 * means the program read it, the library's "first write after a read". */
static enum sv_answer on_write_conn(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e, int f)
{
	enum sv_answer a = SV_CONTINUE;
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	union hc_sockaddr peer;
	socklen_t plen = sizeof(peer);
	struct hc_write_facts facts = { .first_write = !e->hc.wrote };
	struct hc_write_plan plan;
	uint64_t now, last, rcvd, total;
	const char *why = "";
	bool healed = false, fin;
	enum hc_leave l;
	int unread = 0;

	if (e->hc.state == HC_CONN_DEAD)
		return SV_EPIPE;
	if (e->hc.state == HC_CONN_CONNECTING) {
		if (getpeername(f, &peer.sa, &plen) != 0)
			return SV_CONTINUE; /* not established (yet, or never) */
		become_managed(p, e);
	}
	if (e->hc.state != HC_CONN_MANAGED)
		return SV_CONTINUE;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(f, IPPROTO_TCP, TCP_INFO, &ti, &tlen) != 0 || ioctl(f, FIONREAD, &unread) != 0)
		return SV_CONTINUE;
	now = now_ns();
	rcvd = tlen >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received)
		       ? ti.tcpi_bytes_received
		       : 0;
	/* TCP_INFO's byte count takes a FIN for one more byte. */
	fin = ti.tcpi_state == SV_TCP_CLOSE_WAIT || ti.tcpi_state == SV_TCP_LAST_ACK ||
	      ti.tcpi_state == SV_TCP_CLOSING || ti.tcpi_state == SV_TCP_CLOSE;
	if (facts.first_write) {
		if (!bytes_written(f, &ti, tlen, &e->sent_off))
			e->sent_off = 0; /* then no RESP write can be checked: see below */
	} else if (e->hc.proto == HC_PROTO_RESP &&
		   (!bytes_written(f, &ti, tlen, &total) || total - e->sent_off != e->fed)) {
		/* A write taken in part or not at all: its bytes were parsed as
		 * sent, so the session no longer says what the server saw. */
		sv_leave(p, e, HC_LEAVE_STATEFUL, "a write the kernel did not take whole (the session is unknown)");
		return SV_CONTINUE;
	}
	/* The facts the library has from its wrappers, from TCP_INFO: a read is
	 * bytes received since the last write with nothing left unread; quiet
	 * is since the last write, or since data last arrived (the program
	 * cannot have read it earlier): never more than the truth. */
	last = e->hc.last_io_ns;
	if (rcvd > 0 && now - (uint64_t)ti.tcpi_last_data_recv * 1000000u > last)
		last = now - (uint64_t)ti.tcpi_last_data_recv * 1000000u;
	facts.quiet_ns = now > last ? now - last : 0;
	facts.read_since_write = rcvd > e->rcvd_at_write && unread == 0;
	if (rcvd > 0)
		e->hc.ever_read = true; /* replies come on it: after a gap alone, one may be owed */
	facts.ever_read = e->hc.ever_read;
	facts.greeting_read = facts.first_write && rcvd > (fin ? 1u : 0u) && unread == 0;
	facts.greeting_unread = facts.first_write && unread > 0;
	facts.swappable = hc_session_swappable(&e->hc, &why);
	plan = hc_plan_write(&facts, &hc_cfg);
	if (plan.leave || plan.leave_after)
		e->hc.proto = HC_PROTO_SERVER_FIRST; /* left at once, or by hc_session_wrote after this write */
	if (plan.leave) {
		sv_leave(p, e, HC_LEAVE_STATEFUL, "the server spoke first");
		return SV_CONTINUE;
	}
	if (plan.probe) {
		a = decide(req, p, e, f, facts.quiet_ns, plan.reply_owed, &healed);
		if (a != SV_CONTINUE || e->hc.state != HC_CONN_MANAGED)
			return a;
	}
	/* What this write carries, for the class and the session (a TLS record
	 * after a STARTTLS included): after the decision, which is about the
	 * connection as it was before it. */
	if (hc_session_needs_bytes(&e->hc, plan.boundary)) {
		l = feed_write(req, e, plan.boundary, &why);
		if (l != HC_LEAVE_NONE) {
			sv_leave(p, e, l, why);
			return a;
		}
	}
	e->hc.wrote = true;
	e->rcvd_at_write = healed ? 0 : rcvd;
	e->hc.last_io_ns = now_ns();
	return a;
}

static enum sv_answer on_write(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	enum sv_answer a;
	int f;

	if (e->hc.state != HC_CONN_CONNECTING && e->hc.state != HC_CONN_MANAGED && e->hc.state != HC_CONN_DEAD)
		return SV_CONTINUE;
	f = conn_fetch(p, e);
	if (f < 0)
		return SV_CONTINUE;
	a = on_write_conn(req, p, e, f);
	close(f);
	return a;
}

/* ---- the loop -------------------------------------------------------------- */

/* dup2/dup3 (req) onto newfd, a number of the range in p other than oldfd:
 * if it holds the socket of an entry (checked by inode, which also forgets
 * an entry the program closed behind our back, close or close_range, without
 * a word), that socket is about to be replaced by the program's own file,
 * at a number the program chose not knowing we had put its socket there.
 * Forgets the entry, so no heal ever installs over that file, and says so.
 * A call that will fail (oldfd not open, dup3 flags other than O_CLOEXEC)
 * replaces nothing and changes nothing here. */
static void on_dup_onto(const struct seccomp_notif *req, struct sv_proc *p, int newfd)
{
	struct sv_conn *e = conn_of(p, (uint32_t)newfd);
	int oldfd = (int)(uint32_t)req->data.args[0], f;
	bool dup3_call = req->data.nr == __NR_dup3;
	char name[200];

	if (e == NULL || (dup3_call && (req->data.args[2] & ~(uint64_t)O_CLOEXEC) != 0))
		return;
	f = fetch_fd(p->pidfd, oldfd);
	if (f < 0 && errno == EBADF)
		return;
	close_fd(f);
	f = conn_fetch(p, e);
	if (f < 0)
		return;
	close(f);
	SV_LOG(HC_LOG_WARN, p, "fd %d %s was replaced by the program's %s of fd %d; it is no longer managed", newfd,
	       hc_session_name(&e->hc, name, sizeof(name)), dup3_call ? "dup3" : "dup2", oldfd);
	give_up(p, e);
	conn_drop(e);
}

/* What one notification means, answered. */
static void handle(const struct seccomp_notif *req)
{
	struct seccomp_notif_resp *resp = sv.resp;
	struct sv_proc *p = proc_of((pid_t)req->pid);
	struct sv_conn *e = req->data.nr == __NR_socket ? NULL : conn_of(p, req->data.args[0]);
	enum sv_answer a = SV_CONTINUE;

	switch (req->data.nr) {
	case __NR_socket:
		a = on_socket(req, p);
		break;
	case __NR_connect:
		if (e != NULL)
			a = on_connect(req, p, e);
		break;
	case __NR_bind:
		if (e != NULL)
			a = on_bind(req, e);
		break;
	case __NR_setsockopt:
		if (e != NULL)
			a = on_setsockopt(req, p, e);
		break;
	case __NR_shutdown:
		/* The program is ending the connection itself: never resurrect it. */
		if (e != NULL)
			e->hc.state = HC_CONN_UNMANAGED;
		break;
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_fcntl:
		/* Two fds now share one socket; swapping one would leave the
		 * other on the dead connection, so neither is touched again. */
		if (e != NULL)
			give_up(p, e);
		/* The filter passes dup2/dup3(oldfd, newfd) for either in the range. */
		if ((req->data.nr == __NR_dup2 || req->data.nr == __NR_dup3) &&
		    (uint32_t)req->data.args[1] != (uint32_t)req->data.args[0])
			on_dup_onto(req, p, (int)(uint32_t)req->data.args[1]);
		break;
	case __NR_write:
	case __NR_writev:
	case __NR_sendto:
	case __NR_sendmsg:
	case __NR_sendmmsg:
		if (e != NULL)
			a = on_write(req, p, e);
		break;
	}
	if (a == SV_ANSWERED)
		return;
	memset(resp, 0, sv.resp_size);
	resp->id = req->id;
	if (a == SV_EPIPE)
		resp->error = -EPIPE;
	else
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	/* ENOENT: the task was interrupted or killed meanwhile; nothing to answer. */
	if (ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT)
		hc_log(HC_LOG_ERROR, "supervisor: answering a notification: %s", strerror(errno));
}

/* Receives and handles one notification, if one is there. */
static void receive(void)
{
	memset(sv.req, 0, sv.req_size);
	if (ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_RECV, sv.req) != 0) {
		/* ENOENT: the task went away before we read it; EINTR: try later. */
		if (errno != ENOENT && errno != EINTR)
			hc_log(HC_LOG_ERROR, "supervisor: receiving a notification: %s", strerror(errno));
		return;
	}
	handle(sv.req);
}

/* Reaps every child that has exited: the program (its status kept) and the
 * orphans handed to us as subreaper; writes the stats line of each but the
 * program's, which is written last. */
static void reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct sv_proc *p = proc_by_tgid(pid);
		if (pid == sv.main_pid) {
			sv.main_done = true;
			sv.main_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			sv.main_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		} else if (p != NULL) {
			proc_release(p);
		}
	}
}

/* Handles the pending signals: forwards the terminating ones to the program
 * (unless the kernel sent them, e.g. a terminal's ^C to the whole process
 * group, which the program got too), reaps on SIGCHLD. */
static void on_signals(void)
{
	struct signalfd_siginfo si;

	while (read(sv.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else if (!sv.main_done && si.ssi_code != SI_KERNEL)
			kill(sv.main_pid, (int)si.ssi_signo);
	}
}

/* Serves notifications until the program has exited; then, if other
 * processes still use the filter (a daemon it left behind), a copy of the
 * supervisor stays in the background to serve them, while this one returns. */
static void serve(void)
{
	uint64_t left_at = 0;

	for (;;) {
		struct pollfd pf[2] = { { .fd = sv.sigfd, .events = POLLIN }, { .fd = sv.notif, .events = POLLIN } };
		int n = poll(pf, sv.notif >= 0 ? 2 : 1, sv.main_done ? 20 : -1);
		if (n < 0 && errno != EINTR) {
			hc_log(HC_LOG_ERROR, "supervisor: poll: %s", strerror(errno));
			return;
		}
		if (n > 0 && pf[0].revents)
			on_signals();
		if (n > 0 && sv.notif >= 0 && (pf[1].revents & POLLIN))
			receive();
		else if (n > 0 && sv.notif >= 0 && (pf[1].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			close(sv.notif); /* no task uses the filter any more */
			sv.notif = -1;
		}
		if (!sv.main_done)
			continue;
		if (sv.notif < 0)
			return;
		if (left_at == 0)
			left_at = now_ns();
		if (now_ns() - left_at > 200000000u) {
			/* Descendants still run under the filter: without us their
			 * filtered calls would fail with ENOSYS. */
			pid_t pid = fork();
			if (pid != 0)
				return; /* this one reports the program's status (or fork failed: so be it) */
			setsid();
			/* Nobody reads our stderr now: a pipe the program's caller
			 * waits on must not stay open for the daemon's lifetime. */
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, STDERR_FILENO);
				close(null);
			}
			/* The program's line is the parent's to write, the others ours. */
			if (proc_by_tgid(sv.main_pid) != NULL)
				proc_by_tgid(sv.main_pid)->tgid = 0;
			sv.main_done = false;
			sv.main_pid = -1;
			sv.background = true;
			pages_adopt();
			while (sv.notif >= 0) {
				struct pollfd q = { .fd = sv.notif, .events = POLLIN };
				if (poll(&q, 1, -1) < 0 && errno != EINTR)
					break;
				if (q.revents & POLLIN)
					receive();
				else if (q.revents & (POLLHUP | POLLERR | POLLNVAL))
					break;
			}
			for (int i = 0; i < SV_MAX_PROCS; i++)
				proc_release(&sv.procs[i]);
			_exit(0);
		}
	}
}

/* ---- start ------------------------------------------------------------------ */

/* In the child: the filter, its listener sent to the parent over sock, the
 * parent's go-ahead, then the program. Never returns. */
static void run_child(const char *path, char *const argv[], int sock, const sigset_t *mask)
{
	struct sock_filter insns[64];
	struct sock_fprog prog = { .filter = insns };
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int listener = -1;

	sigprocmask(SIG_SETMASK, mask, NULL);
	prog.len = (unsigned short)build_filter(insns, sizeof(insns) / sizeof(insns[0]));
	if (prog.len > 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		/* SPEC_ALLOW: a filter makes the kernel disable speculative store
		 * bypass for the task (a sandbox's concern, not ours), which slows
		 * every system call the program makes. */
		listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog);
	if (listener >= 0) {
		struct cmsghdr *cm;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &listener, sizeof(int));
	} else {
		byte = (char)(errno ? errno : EINVAL); /* no filter: the parent just waits for us */
	}
	if (sendmsg(sock, &mh, 0) != 1)
		_exit(125);
	close_fd(listener);
	/* With the filter in place, run only once the supervisor is there: a
	 * filtered call without it would fail with ENOSYS. */
	if (listener >= 0 && (read(sock, &byte, 1) != 1 || byte != 'g'))
		_exit(125);
	close(sock);
	execv(path, argv);
	fprintf(stderr, "halfclose: cannot run %s: %s\n", path, strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* The listener from the child, or -1 (errno: why the child has none). */
static int receive_listener(int sock)
{
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = byte;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Everything the loop needs, allocated once before it: the process slots,
 * the tid map (pid_max entries), the notification buffers. Returns 0 or -1. */
static int allocate(void)
{
	struct seccomp_notif_sizes sizes;
	ssize_t len = read_file("/proc/sys/kernel/pid_max");
	long pid_max = len > 0 ? strtol(filebuf, NULL, 10) : 0;

	if (pid_max <= 0 || pid_max > (1L << 22))
		pid_max = 1L << 22; /* the kernel's PID_MAX_LIMIT on 64-bit */
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
		return -1;
	sv.req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									 : sizeof(struct seccomp_notif);
	sv.resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp
										    : sizeof(struct seccomp_notif_resp);
	sv.tid_max = (size_t)pid_max + 1;
	sv.req = calloc(1, sv.req_size);
	sv.resp = calloc(1, sv.resp_size);
	sv.procs = calloc(SV_MAX_PROCS, sizeof(*sv.procs));
	sv.tid_map = calloc(sv.tid_max, sizeof(*sv.tid_map));
	if (sv.req == NULL || sv.resp == NULL || sv.procs == NULL || sv.tid_map == NULL)
		return -1;
	for (int i = 0; i < SV_MAX_PROCS; i++)
		sv.procs[i].pidfd = -1;
	return 0;
}

/* Runs the program unsupervised: exec, returning only if that fails. */
static int run_plain(const char *path, char *const argv[])
{
	execv(path, argv);
	fprintf(stderr, "halfclose: cannot run %s: %s\n", path, strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* In the supervisor, after the fork: our stdin and stdout are the program's
 * business (a pipe must see EOF when the program closes it), and so is every
 * other fd the launcher inherited (a lock, a pipe's write end), except keep
 * (the socket to the child); numbers of the range must be free here (see
 * rearm_epoll); SIGPIPE must not kill us. stderr stays, for the log. */
static void detach_stdio(int keep)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (keep > STDERR_FILENO + 1)
		syscall(SYS_close_range, STDERR_FILENO + 1, keep - 1, 0);
	syscall(SYS_close_range, keep + 1, ~0U, 0);
	signal(SIGPIPE, SIG_IGN);
}

/* Ends the supervisor by signal sig, as the program ended, so that our parent
 * sees what it would have seen without us (WIFSIGNALED, not an exit status).
 * No core file of ours: the program's was written by the kernel already.
 * Returns only if sig does not kill (then the caller exits 128 + sig). */
static void die_of(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t one;

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	kill(getpid(), sig);
}

int hc_supervise(const char *path, char *const argv[], const struct hc_sv_options *opt)
{
	extern char **environ;
	char err[512];
	sigset_t set, old;
	int sock[2], status;
	pid_t pid;

	if (hc_config_parse(&hc_cfg, environ, err, sizeof(err)) != 0) {
		hc_log_stderr("%s; halfclose is passing everything through", err);
		return run_plain(path, argv);
	}
	if (hc_cfg.disabled)
		return run_plain(path, argv);
	hc_log_check_paths(&hc_cfg);
	sv.no_epoll_rearm = opt->no_epoll_rearm;
	if (allocate() != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0 ||
	    sock[0] >= SV_FD_LO) {
		hc_log_stderr("cannot start the supervisor (%s); running %s without halfclose", strerror(errno), path);
		return run_plain(path, argv);
	}
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		hc_log_stderr("cannot fork (%s); running %s without halfclose", strerror(errno), path);
		return run_plain(path, argv);
	}
	if (pid == 0) {
		close(sock[0]);
		run_child(path, argv, sock[1], &old);
	}
	close(sock[1]);
	sv.main_pid = pid;
	detach_stdio(sock[0]);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sv.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sv.notif = receive_listener(sock[0]);
	if (sv.notif < 0)
		hc_log_stderr("cannot supervise %s (seccomp: %s); it runs without halfclose", path, strerror(errno));
	if (sv.notif >= SV_FD_LO || sv.sigfd < 0 || (sv.notif >= 0 && write(sock[0], "g", 1) != 1)) {
		/* The child exits 125 without its go-ahead. */
		hc_log_stderr("cannot start the supervisor (%s); %s is not run", strerror(errno), path);
		close(sock[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return 125;
	}
	close(sock[0]);
	/* Each notification is a round trip between two blocked tasks: a
	 * synchronous wake-up (Linux >= 6.6) saves a trip through the scheduler.
	 * Older kernels refuse it (EINVAL); nothing else changes. */
	if (sv.notif >= 0 && ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) != 0 &&
	    errno != EINVAL && errno != ENOTTY)
		hc_log(HC_LOG_DEBUG, "supervisor: synchronous wake-up: %s", strerror(errno));
	serve();
	if (!sv.main_done) {
		/* serve() failed: the program goes on without us (its filtered
		 * calls fail with ENOSYS, which it survives), and its status is
		 * still ours to report. */
		close_fd(sv.notif);
		sv.notif = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		sv.main_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sv.main_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid != sv.main_pid && !sv.background)
			proc_release(&sv.procs[i]);
	{
		struct sv_proc *m = proc_by_tgid(sv.main_pid);
		static struct hc_stats none;
		write_stats(sv.main_pid, m != NULL ? m->live : &none);
		if (m != NULL)
			page_close(m);
	}
	if (sv.main_signal != 0)
		die_of(sv.main_signal);
	return sv.main_status;
}
