/* procs.c - the supervisor's books: a slot per supervised process (its
 * pidfd, counters, live page) and in it an entry per socket of the range
 * (what the core's reconnect needs, the state, what stands in for the
 * program's reads). It finds the process of a notifying thread, the entry of
 * an fd, and takes a copy of an entry's socket checked by inode; it writes
 * the stats lines and the pages (HALFCLOSE_STATS, HALFCLOSE_STATS_DIR). It
 * changes nothing in a target. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../shim/procfs.h"
#include "../../shim/reconnect.h"
#include "supervise_int.h"

/* Appends the stats line of process pid (counters st) to the stats file. */
void sv_write_stats(pid_t pid, const struct hc_stats *st)
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
void sv_page_close(struct sv_proc *p)
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
void sv_pages_adopt(void)
{
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid != 0 && sv.procs[i].page != NULL)
			sv.procs[i].page->writer = getpid();
}

/* Frees p's slot after writing its stats line. The main program's slot is
 * only released at exit, so its line comes last. */
void sv_proc_release(struct sv_proc *p)
{
	if (p->tgid == 0)
		return;
	sv_write_stats(p->tgid, p->live);
	sv_page_close(p);
	sv_close_fd(p->pidfd);
	p->tgid = 0;
	p->pidfd = -1;
}

struct sv_proc *sv_proc_by_tgid(pid_t tgid)
{
	for (int i = 0; i < SV_MAX_PROCS; i++)
		if (sv.procs[i].tgid == tgid)
			return &sv.procs[i];
	return NULL;
}

/* Forgets e: its session (wiped) and its slot. */
void sv_conn_drop(struct sv_conn *e)
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
		if (sv.procs[i].tgid != sv.main_pid && sv_pidfd_exited(sv.procs[i].pidfd)) {
			sv_proc_release(&sv.procs[i]);
			p = &sv.procs[i];
		}
	}
	if (p == NULL)
		return NULL;
	pidfd = sv_pidfd_open(tgid);
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
		sv_conn_drop(&p->conns[i]);
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
struct sv_proc *sv_proc_of(pid_t tid)
{
	char path[64];
	struct sv_proc *p;
	pid_t tgid;
	ssize_t len;

	if (tid > 0 && (size_t)tid < sv.tid_max && sv.tid_map[tid] != 0) {
		uint32_t v = sv.tid_map[tid];
		p = &sv.procs[(v & 0x7f) - 1];
		/* A thread id is reused once its thread is gone: it must still be a
		 * thread of that process (signal-0 calls, no /proc). The program,
		 * our child, is not reaped but by us. */
		if (p->tgid != 0 && (p->gen & 0x1ffffff) == v >> 7 &&
		    sv_thread_of(p->tgid, p->pidfd, tid, p->tgid == sv.main_pid && !sv.main_done))
			return p;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	len = sv_read_file(path);
	if (len < 0 || hc_procfs_tgid(sv_filebuf, (size_t)len, &tgid) != 0)
		return NULL;
	p = sv_proc_by_tgid(tgid);
	if (p == NULL)
		p = proc_new(tgid);
	if (p != NULL && tid > 0 && (size_t)tid < sv.tid_max)
		sv.tid_map[tid] = (p->gen & 0x1ffffff) << 7 | (uint32_t)(p - sv.procs + 1);
	return p;
}

/* The entry of fd (args[0] of the call) in p, if it is in the range and used. */
struct sv_conn *sv_conn_of(struct sv_proc *p, uint64_t arg)
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
int sv_conn_fetch(struct sv_proc *p, struct sv_conn *e)
{
	int f = sv_fetch_fd(p->pidfd, e->hc.fd);

	if (f >= 0 && hc_socket_inode(f) == e->hc.ino)
		return f;
	if (f >= 0 || errno == EBADF)
		sv_conn_drop(e);
	sv_close_fd(f);
	return -1;
}

void sv_become_managed(struct sv_proc *p, struct sv_conn *e)
{
	e->hc.state = HC_CONN_MANAGED;
	if (!e->hc.counted) {
		e->hc.counted = true;
		SV_COUNT(p, managed);
	}
}

/* Stops managing e for good; counts it as passed through if it was managed. */
void sv_give_up(struct sv_proc *p, struct sv_conn *e)
{
	if (e->hc.state == HC_CONN_MANAGED || e->hc.state == HC_CONN_CONNECTING)
		SV_COUNT(p, passthrough);
	e->hc.state = HC_CONN_UNMANAGED;
}

/* Leaves e alone for good because of what it carries (l, why): the
 * library's rule (session.h), counted in p's stats. */
void sv_leave(struct sv_proc *p, struct sv_conn *e, enum hc_leave l, const char *why)
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
