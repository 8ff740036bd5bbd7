/* start.c - hc_supervise, the entry the launcher calls: reads the
 * configuration, forks the program's process, which installs the filter
 * (PR_SET_NO_NEW_PRIVS: no capability needed; SECCOMP_FILTER_FLAG_NEW_LISTENER,
 * Linux 5.0) and sends its listener over a socket pair; gives it the
 * go-ahead, serves it (loop.c) and returns its status, or ends by its
 * signal. Whatever cannot be set up runs the program unsupervised instead,
 * with a line that says why. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../supervise.h"
#include "supervise_int.h"

/* The signals forwarded to the program. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

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
	prog.len = (unsigned short)sv_build_filter(insns, sizeof(insns) / sizeof(insns[0]));
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
	sv_close_fd(listener);
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
	ssize_t len = sv_read_file("/proc/sys/kernel/pid_max");
	long pid_max = len > 0 ? strtol(sv_filebuf, NULL, 10) : 0;

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
	sv_serve();
	if (!sv.main_done) {
		/* sv_serve() failed: the program goes on without us (its filtered
		 * calls fail with ENOSYS, which it survives), and its status is
		 * still ours to report. */
		sv_close_fd(sv.notif);
		sv.notif = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		sv.main_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sv.main_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid != sv.main_pid && !sv.background)
			sv_proc_release(&sv.procs[i]);
	{
		struct sv_proc *m = sv_proc_by_tgid(sv.main_pid);
		static struct hc_stats none;
		sv_write_stats(sv.main_pid, m != NULL ? m->live : &none);
		if (m != NULL)
			sv_page_close(m);
	}
	if (sv.main_signal != 0)
		die_of(sv.main_signal);
	return sv.main_status;
}
