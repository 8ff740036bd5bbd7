/* calls.c - what the program does to its sockets, seen before the kernel
 * runs it: socket() of a TCP socket (made here, installed at a free number of
 * the range with SECCOMP_IOCTL_NOTIF_ADDFD and ADDFD_FLAG_SEND, Linux 5.14),
 * connect (the address a heal reconnects to), bind and setsockopt (what it
 * replays), dup2/dup3 onto a number of ours. It reads the call's arguments
 * from the target's memory and writes only the books; every call but a
 * socket() it answers itself runs as the program made it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../shim/reconnect.h"
#include "supervise_int.h"

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
	sv_each_number(path, count_below_range, &held);
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

/* socket(AF_INET or AF_INET6, SOCK_STREAM...): created here and installed in
 * the program at a number of the range, which its socket() returns. Anything
 * unexpected lets the program's own call run instead (an unmanaged socket). */
enum sv_answer sv_on_socket(const struct seccomp_notif *req, struct sv_proc *p)
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
	if (!sv_same_netns((pid_t)req->pid)) {
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
	if (len < sizeof(sa_family_t) || sv_peek_exact(req, req->data.args[1], a, (size_t)len) != 0)
		return -1;
	return (int)len;
}

/* connect(): records the address; the call runs as made. The connection is
 * managed from its first write on, once getpeername says it is established. */
enum sv_answer sv_on_connect(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
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
	e->hc.last_io_ns = hc_now_ns();
	e->rcvd_at_write = 0;
	return SV_CONTINUE;
}

/* bind(): an explicit local address is replayed; a fixed port cannot be
 * bound again while the old connection holds it, so it makes e unmanageable. */
enum sv_answer sv_on_bind(const struct seccomp_notif *req, struct sv_conn *e)
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

enum sv_answer sv_on_setsockopt(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	int level = (int)req->data.args[1], name = (int)req->data.args[2];
	socklen_t len = (socklen_t)req->data.args[4];
	unsigned char val[HC_OPT_MAX];
	struct hc_sockopt *o = NULL;
	bool ok;
	int err;

	if (e->hc.state == HC_CONN_UNMANAGED || e->hc.state == HC_CONN_DEAD)
		return SV_CONTINUE;
	ok = len <= HC_OPT_MAX && sv_peek_exact(req, req->data.args[3], val, len) == 0 &&
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
			sv_give_up(p, e);
		return SV_CONTINUE;
	}
	o->level = level;
	o->name = name;
	o->len = len;
	memcpy(o->val, val, len);
	return SV_CONTINUE;
}

/* dup2/dup3 (req) onto newfd, a number of the range in p other than oldfd:
 * if it holds the socket of an entry (checked by inode, which also forgets
 * an entry the program closed behind our back, close or close_range, without
 * a word), that socket is about to be replaced by the program's own file,
 * at a number the program chose not knowing we had put its socket there.
 * Forgets the entry, so no heal ever installs over that file, and says so.
 * A call that will fail (oldfd not open, dup3 flags other than O_CLOEXEC)
 * replaces nothing and changes nothing here. */
void sv_on_dup_onto(const struct seccomp_notif *req, struct sv_proc *p, int newfd)
{
	struct sv_conn *e = sv_conn_of(p, (uint32_t)newfd);
	int oldfd = (int)(uint32_t)req->data.args[0], f;
	bool dup3_call = req->data.nr == __NR_dup3;
	char name[200];

	if (e == NULL || (dup3_call && (req->data.args[2] & ~(uint64_t)O_CLOEXEC) != 0))
		return;
	f = sv_fetch_fd(p->pidfd, oldfd);
	if (f < 0 && errno == EBADF)
		return;
	sv_close_fd(f);
	f = sv_conn_fetch(p, e);
	if (f < 0)
		return;
	close(f);
	SV_LOG(HC_LOG_WARN, p, "fd %d %s was replaced by the program's %s of fd %d; it is no longer managed", newfd,
	       hc_session_name(&e->hc, name, sizeof(name)), dup3_call ? "dup3" : "dup2", oldfd);
	sv_give_up(p, e);
	sv_conn_drop(e);
}
