/* target.c - access to a supervised process from outside it: its pidfd
 * (pidfd_open, Linux 5.3), copies of its fds (pidfd_getfd, 5.6; needs
 * PTRACE_MODE_ATTACH over the target, which a parent has under Yama's
 * ptrace_scope 1 and with no_new_privs), its memory (process_vm_readv, the
 * same permission), its /proc files, and whether a notification still stands
 * (SECCOMP_IOCTL_NOTIF_ID_VALID, 5.0). It reads and never changes the
 * target; it keeps no state but the scratch buffers. TOCTOU: whatever is
 * read from a task's memory or /proc is only as good as the notification
 * that is checked to still stand after the read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../shim/procfs.h"
#include "supervise_int.h"

char sv_filebuf[1 << 20];
/* Directory listings (sv_each_number). */
static char dirbuf[1 << 16];

int sv_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A copy of the target's fd in this process (close-on-exec), or -1. */
int sv_fetch_fd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

void sv_close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The whole of a small file into sv_filebuf (never more than its size). Returns
 * its length, or -1 (errno EFBIG if it did not fit: a partial text must not
 * be taken for the whole). */
ssize_t sv_read_file(const char *path)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, sv_filebuf + len, sizeof(sv_filebuf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return n < 0 ? -1 : (ssize_t)len;
		}
		len += (size_t)n;
		if (len == sizeof(sv_filebuf)) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
}

/* True while the notification id still stands: whatever was read from the
 * target's memory before this was read from the task that made the call. */
bool sv_notif_valid(uint64_t id)
{
	return ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reads len bytes at addr in task tid. Returns the count read (a short count
 * at an unmapped page), or -1. The caller validates the id afterwards. */
ssize_t sv_peek(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (len == 0)
		return 0;
	return process_vm_readv(tid, &local, 1, &remote, 1, 0);
}

/* Reads exactly len bytes, then checks the notification still stands.
 * Returns 0 or -1. */
int sv_peek_exact(const struct seccomp_notif *req, uint64_t addr, void *buf, size_t len)
{
	return sv_peek((pid_t)req->pid, addr, buf, len) == (ssize_t)len && sv_notif_valid(req->id) ? 0 : -1;
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
bool sv_each_number(const char *path, bool (*fn)(long n, void *arg), void *arg)
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
	len = sv_read_file(path);
	return len > 0 && hc_procfs_syscall(sv_filebuf, (size_t)len, &nr, &a0) == 0 && is_read_call(nr) &&
	       (int)(uint32_t)a0 == q->fd;
}

/* True if a thread of tgid other than self is blocked reading fd. */
bool sv_reader_blocked(pid_t tgid, pid_t self, int fd)
{
	struct reader_query q = { .tgid = tgid, .self = self, .fd = fd };
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tgid);
	return sv_each_number(path, task_reads_fd, &q);
}

/* tgkill(tgid, tid, 0) finds tid among the threads of whatever process has
 * the number tgid now; that is the process behind pidfd as long as that one
 * is not reaped (a number is handed out again only after), which signalling
 * it through its pidfd (pidfd_send_signal, Linux 5.1) proves. Signal 0 sends
 * nothing; either call needs the right to signal the target, which its
 * parent has. checked_alive: the process is our unreaped child. */
bool sv_thread_of(pid_t tgid, int pidfd, pid_t tid, bool checked_alive)
{
	/* The leader's id is the process's own: it stays its own until reaped. */
	if (tid == tgid && checked_alive)
		return true;
	return syscall(SYS_tgkill, tgid, tid, 0) == 0 &&
	       (checked_alive || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0);
}

/* True if thread tid is in the supervisor's network namespace. */
bool sv_same_netns(pid_t tid)
{
	struct stat mine, its;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)tid);
	return stat("/proc/self/ns/net", &mine) == 0 && stat(path, &its) == 0 && mine.st_ino == its.st_ino &&
	       mine.st_dev == its.st_dev;
}

/* True if the process behind pidfd has exited. */
bool sv_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

