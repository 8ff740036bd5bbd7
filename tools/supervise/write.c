/* write.c - a write-family call on a managed socket, before it runs: gathers
 * the facts the core asks for (TCP_INFO and FIONREAD of a copy of the
 * socket stand in for the reads the supervisor does not see; the bytes are
 * read from the target's memory when the session needs them), and carries
 * out what the core decides: hc_plan_write (boundary, probe), hc_probe and
 * hc_probe_action (proceed, retire, heal, keep unread, fail), hc_session_wrote
 * (class and session). No rule is decided here. It changes the target only
 * through a heal (heal.c) or the answer EPIPE. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../shim/policy.h"
#include "../../shim/probe.h"
#include "../../shim/rebuild.h"
#include "supervise_int.h"

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
		if (n > cap || sv_peek(tid, a[1], iov, n * sizeof(iov[0])) != (ssize_t)(n * sizeof(iov[0])))
			return -1;
		return (long)n;
	case __NR_sendmsg:
		if (sv_peek(tid, a[1], &mh, sizeof(mh)) != (ssize_t)sizeof(mh) || mh.msg_iovlen > cap ||
		    sv_peek(tid, (uintptr_t)mh.msg_iov, iov, mh.msg_iovlen * sizeof(iov[0])) !=
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
			if (sv_peek((pid_t)req->pid, (uintptr_t)iov[i].iov_base + off, chunk, k) != (ssize_t)k) {
				*why = "a write whose bytes cannot be read";
				return e->hc.proto == HC_PROTO_RESP || e->hc.proto == HC_PROTO_NONE ? HC_LEAVE_STATEFUL
												      : HC_LEAVE_NONE;
			}
			l = hc_session_wrote(&e->hc, &hc_cfg, &w, &local, 1, k, why);
			e->fed += k;
			w.boundary = false;
		}
	}
	return sv_notif_valid(req->id) ? l : HC_LEAVE_NONE;
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
	enum sv_heal r;
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
		if (sv_reader_blocked(p->tgid, (pid_t)req->pid, e->hc.fd))
			return SV_CONTINUE;
		r = sv_heal(req, p, e, f, "retired (alive, idle past HALFCLOSE_MAX_IDLE_MS)", quiet_ns, &err);
		if (r == SV_HEALED) {
			SV_COUNT(p, retired);
			*healed = true;
		} else if (r == SV_HEAL_FAILED) {
			SV_LOG(HC_LOG_INFO, p, "fd %d %s retirement failed: %s; keeping the old connection", e->hc.fd,
			       hc_session_name(&e->hc, name, sizeof(name)), hc_heal_failure(err, because, sizeof(because)));
		}
		return r == SV_HEAL_GONE ? SV_ANSWERED : SV_CONTINUE;
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
	if (sv_reader_blocked(p->tgid, (pid_t)req->pid, e->hc.fd))
		return fail_stale(p, e, why, quiet_ns, "another thread is reading it");
	r = sv_heal(req, p, e, f, why, quiet_ns, &err);
	if (r == SV_HEAL_GONE)
		return SV_ANSWERED;
	if (r == SV_HEAL_FAILED)
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
		sv_become_managed(p, e);
	}
	if (e->hc.state != HC_CONN_MANAGED)
		return SV_CONTINUE;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(f, IPPROTO_TCP, TCP_INFO, &ti, &tlen) != 0)
		return SV_CONTINUE;
	now = hc_now_ns();
	rcvd = tlen >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received)
		       ? ti.tcpi_bytes_received
		       : 0;
	/* What is left unread tells something only of bytes that came since the
	 * last write (or before the first): a write inside a request asks less. */
	if ((facts.first_write || rcvd > e->rcvd_at_write) && ioctl(f, FIONREAD, &unread) != 0)
		return SV_CONTINUE;
	/* TCP_INFO's byte count takes a FIN for one more byte. */
	fin = ti.tcpi_state == SV_TCP_CLOSE_WAIT || ti.tcpi_state == SV_TCP_LAST_ACK ||
	      ti.tcpi_state == SV_TCP_CLOSING || ti.tcpi_state == SV_TCP_CLOSE;
	if (facts.first_write) {
		if (!sv_bytes_written(f, &ti, tlen, &e->sent_off))
			e->sent_off = 0; /* then no RESP write can be checked: see below */
	} else if (e->hc.proto == HC_PROTO_RESP &&
		   (!sv_bytes_written(f, &ti, tlen, &total) || total - e->sent_off != e->fed)) {
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
	e->hc.last_io_ns = hc_now_ns();
	return a;
}

enum sv_answer sv_on_write(const struct seccomp_notif *req, struct sv_proc *p, struct sv_conn *e)
{
	enum sv_answer a;
	int f;

	if (e->hc.state != HC_CONN_CONNECTING && e->hc.state != HC_CONN_MANAGED && e->hc.state != HC_CONN_DEAD)
		return SV_CONTINUE;
	f = sv_conn_fetch(p, e);
	if (f < 0)
		return SV_CONTINUE;
	a = on_write_conn(req, p, e, f);
	close(f);
	return a;
}
