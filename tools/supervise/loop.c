/* loop.c - the supervisor's one thread: waits for notifications and signals,
 * dispatches each notification to its room and answers it
 * (SECCOMP_IOCTL_NOTIF_RECV/SEND, Linux 5.0; FLAG_CONTINUE, 5.5), forwards
 * signals to the program, reaps children (as their subreaper), and when the
 * program has exited leaves a copy of itself in the background for the
 * descendants that still use the filter. The state it owns is sv. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise_int.h"

struct sv_state sv = { .notif = -1, .sigfd = -1 };

/* A call on the fd of entry e of p (its first argument): what it means. */
static enum sv_answer on_entry_call(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	switch (req->data.nr) {
	case __NR_connect:
		return sv_on_connect(req, p, e);
	case __NR_bind:
		return sv_on_bind(req, e);
	case __NR_setsockopt:
		return sv_on_setsockopt(req, p, e);
	case __NR_shutdown:
		/* The program is ending the connection itself: never resurrect it. */
		e->hc.state = HC_CONN_UNMANAGED;
		return SV_CONTINUE;
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_fcntl:
		/* Two fds now share one socket; swapping one would leave the
		 * other on the dead connection, so neither is touched again. */
		sv_give_up(p, e);
		return SV_CONTINUE;
	case __NR_write:
	case __NR_writev:
	case __NR_sendto:
	case __NR_sendmsg:
	case __NR_sendmmsg:
		return sv_on_write(req, p, e);
	}
	return SV_CONTINUE;
}

/* What one notification means, answered. */
static void handle(const struct seccomp_notif *req)
{
	struct seccomp_notif_resp *resp = sv.resp;
	struct sv_proc *p = sv_proc_of((pid_t)req->pid);
	struct sv_conn *e = req->data.nr == __NR_socket ? NULL : sv_conn_of(p, req->data.args[0]);
	enum sv_answer a = SV_CONTINUE;

	if (req->data.nr == __NR_socket)
		a = sv_on_socket(req, p);
	else if (e != NULL)
		a = on_entry_call(req, p, e);
	/* The filter passes dup2/dup3(oldfd, newfd) for either in the range. */
	if ((req->data.nr == __NR_dup2 || req->data.nr == __NR_dup3) &&
	    (uint32_t)req->data.args[1] != (uint32_t)req->data.args[0])
		sv_on_dup_onto(req, p, (int)(uint32_t)req->data.args[1]);
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
		struct sv_proc *p = sv_proc_by_tgid(pid);
		if (pid == sv.main_pid) {
			sv.main_done = true;
			sv.main_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			sv.main_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		} else if (p != NULL) {
			sv_proc_release(p);
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
void sv_serve(void)
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
			left_at = hc_now_ns();
		if (hc_now_ns() - left_at > 200000000u) {
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
			if (sv_proc_by_tgid(sv.main_pid) != NULL)
				sv_proc_by_tgid(sv.main_pid)->tgid = 0;
			sv.main_done = false;
			sv.main_pid = -1;
			sv.background = true;
			sv_pages_adopt();
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
				sv_proc_release(&sv.procs[i]);
			_exit(0);
		}
	}
}
