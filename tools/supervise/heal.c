/* heal.c - a fresh connection swapped in at a managed socket's number in the
 * program: the core's reconnect (hc_reconnect_open) and session rebuild
 * (hc_rebuild_session), the socket installed over the old one with
 * SECCOMP_IOCTL_NOTIF_ADDFD and ADDFD_FLAG_SETFD (Linux 5.14), its status
 * flags and close-on-exec carried over, and the program's epoll
 * registrations of the number re-added (found in /proc/PID/fdinfo, made
 * through copies of its epoll fds). It touches the target only there: its
 * fd at that number and its epoll sets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shim/procfs.h"
#include "../../shim/rebuild.h"
#include "../../shim/reconnect.h"
#include "supervise_int.h"

/* tcpi_bytes_acked + SIOCOUTQ of our copy f: every byte written to the
 * socket since its SYN (which counts one), acknowledged or not. */
bool sv_bytes_written(int f, const struct tcp_info *ti, socklen_t tlen, uint64_t *out)
{
	int outq = 0;

	if (tlen < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti->tcpi_bytes_acked) ||
	    ioctl(f, SIOCOUTQ, &outq) != 0 || outq < 0)
		return false;
	*out = ti->tcpi_bytes_acked + (uint64_t)outq;
	return true;
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
	len = sv_read_file(path);
	if (len < 0) {
		q->overflow = true; /* unreadable: we cannot promise to carry everything over */
		return true;
	}
	while (hc_procfs_next_tfd(sv_filebuf, (size_t)len, &pos, &t)) {
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
		int ep = sv_fetch_fd(p->pidfd, q->regs[i].epfd);
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

/* Swaps a fresh connection in at e's number in p, carrying over O_NONBLOCK
 * (from our copy old), FD_CLOEXEC (from its fdinfo) and the epoll
 * registrations. *err gets the cause of SV_HEAL_FAILED; SV_HEAL_GONE: the
 * call was interrupted (it will be made again), nothing changed. */
enum sv_heal sv_heal(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e, int old,
			     const char *why, uint64_t quiet_ns, int *err)
{
	static struct reg_query q;
	struct seccomp_notif_addfd add = { .id = req->id, .flags = SECCOMP_ADDFD_FLAG_SETFD };
	const struct hc_resp *session = hc_session_to_rebuild(&e->hc);
	uint64_t t0 = hc_now_ns(), took, total;
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	unsigned fdflags;
	char path[96], name[200], rebuilt[48] = "";
	ssize_t len;
	int s, fl;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)p->tgid, e->hc.fd);
	len = sv_read_file(path);
	fl = fcntl(old, F_GETFL);
	if (len < 0 || hc_procfs_fdinfo_flags(sv_filebuf, (size_t)len, &fdflags) != 0 || fl < 0) {
		*err = EIO;
		return SV_HEAL_FAILED;
	}
	memset(&q, 0, sizeof(q));
	q.tgid = p->tgid;
	q.fd = e->hc.fd;
	q.ino = e->hc.ino;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->tgid);
	if (!sv.no_epoll_rearm && (sv_each_number(path, collect_regs, &q), q.overflow)) {
		*err = E2BIG;
		return SV_HEAL_FAILED;
	}
	if (hc_reconnect_open(&e->hc, &hc_cfg, (fl & O_NONBLOCK) != 0, &s, err) != 0)
		return SV_HEAL_FAILED;
	/* The session first, checked: then the program's write goes out on a
	 * connection in the state the old one was in. */
	if (session != NULL && hc_rebuild_session(s, session, hc_cfg.connect_timeout_ms, err) != 0) {
		hc_reconnect_discard(&s);
		SV_COUNT(p, session_failures);
		return SV_HEAL_FAILED;
	}
	if (fcntl(s, F_SETFL, fl & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK)) != 0) {
		*err = errno;
		close(s);
		return SV_HEAL_FAILED;
	}
	add.srcfd = (uint32_t)s;
	add.newfd = (uint32_t)e->hc.fd;
	add.newfd_flags = (fdflags & O_CLOEXEC) ? O_CLOEXEC : 0;
	if (ioctl(sv.notif, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
		*err = errno;
		close(s);
		return *err == ENOENT || *err == EINPROGRESS ? SV_HEAL_GONE : SV_HEAL_FAILED;
	}
	if (!sv.no_epoll_rearm && rearm_epoll(p, &q, e->hc.fd, old, s) != 0)
		SV_LOG(HC_LOG_WARN, p, "fd %d: an epoll registration could not be carried over", e->hc.fd);
	e->hc.ino = hc_socket_inode(s);
	/* The program's bytes go on where they were: fed of them so far. */
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 && sv_bytes_written(s, &ti, tlen, &total))
		e->sent_off = total - e->fed;
	close(s);
	SV_COUNT(p, reconnects);
	if (session != NULL) {
		SV_COUNT(p, session_rebuilds);
		snprintf(rebuilt, sizeof(rebuilt), "session rebuilt (%u commands), ", hc_resp_record_count(session));
	}
	took = hc_now_ns() - t0;
	SV_LOG(HC_LOG_INFO, p, "fd %d %s %s after %llu ms idle; %sreconnected in %llu.%02llu ms", e->hc.fd,
	       hc_session_name(&e->hc, name, sizeof(name)), why, (unsigned long long)(quiet_ns / 1000000), rebuilt,
	       (unsigned long long)(took / 1000000), (unsigned long long)(took % 1000000 / 10000));
	return SV_HEALED;
}
