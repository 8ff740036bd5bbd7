/* page.h - live counters: one file-backed shared page per process,
 * DIR/halfclose.PID (HALFCLOSE_STATS_DIR), read by `halfclose stats`.
 *
 * The page is the process's struct hc_stats itself: HC_COUNT's atomic
 * increments land in it, so keeping it live costs no system call. A reader
 * maps the file read-only and loads each counter as one aligned 64-bit word
 * (a read(2) of the file may tear a value; a load never does). The page
 * carries its key names, so a reader finds counters by name and shows keys
 * added after it was written. Layout (native byte order, version 1):
 *
 *   0    magic          HC_PAGE_MAGIC, stored last: a page without it is not
 *                       complete yet (or not a page)
 *   8    version        HC_PAGE_VERSION; later versions only add fields
 *   12   size           bytes of the file
 *   16   counters_off   offset of the counters, nkeys words of counter_size
 *   20   counter_size   8
 *   24   nkeys
 *   28   keys_off       the key names: nkeys NUL-terminated strings, in
 *   32   keys_len       counter order, keys_len bytes with their NULs
 *   36   pid            the process counted
 *   40   writer         the process that maps and updates the page: pid
 *                       itself, or the supervisor (HC_PAGE_SUPERVISED)
 *   44   flags
 *   48   start_ticks    pid's start time, clock ticks after boot
 *                       (/proc/PID/stat, field 22)
 *   56   start_unix_ns  the same as wall-clock time
 *   64   pidns          inode of pid's pid namespace (/proc/PID/ns/pid)
 *   72   comm           pid's command name (/proc/PID/comm), NUL-terminated
 */
#ifndef HC_PAGE_H
#define HC_PAGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "log.h"

#define HC_PAGE_SIZE 4096u
#define HC_PAGE_MAGIC UINT64_C(0x3165676170636868) /* "hhcpage1" read as a little-endian word */
#define HC_PAGE_VERSION 1u
#define HC_PAGE_COUNTERS_OFF 128u
#define HC_PAGE_SUPERVISED 1u /* written by the supervisor, not by the process */
#define HC_PAGE_PREFIX "halfclose."

struct hc_page {
	_Atomic uint64_t magic;
	uint32_t version;
	uint32_t size;
	uint32_t counters_off;
	uint32_t counter_size;
	uint32_t nkeys;
	uint32_t keys_off;
	uint32_t keys_len;
	int32_t pid;
	int32_t writer;
	uint32_t flags;
	uint64_t start_ticks;
	int64_t start_unix_ns;
	uint64_t pidns;
	char comm[16];
};

/* Who a page counts: filled by hc_page_owner_of, or by hand in tests. */
struct hc_page_owner {
	pid_t pid;
	pid_t writer;
	uint32_t flags;
	uint64_t start_ticks;
	int64_t start_unix_ns;
	uint64_t pidns;
	char comm[16];
};

/* Why directory st may not hold pages for a process of effective uid euid, or
 * NULL if it may: it must be a directory owned by euid or root, and not
 * writable by group or others unless it is sticky and owned by euid. */
const char *hc_page_dir_refusal(const struct stat *st, uid_t euid);

/* Fills *o for process pid, written by writer: start time from
 * /proc/PID/stat, comm, pid namespace. Returns 0, or -1 (errno) if pid's
 * /proc entry cannot be read. Preserves nothing: callers save errno. */
int hc_page_owner_of(pid_t pid, pid_t writer, uint32_t flags, struct hc_page_owner *o);

/* Creates DIR/halfclose.PID for o->pid afresh (whatever had that name is
 * removed first), mode 0600, never through a symlink, in a directory that
 * hc_page_dir_refusal accepts, and maps it. Returns the page, all counters
 * zero, or NULL with a reason in why. Opens no fd that outlives the call. */
struct hc_page *hc_page_create(const char *dir, const struct hc_page_owner *o, char *why, size_t whylen);

/* The counters of pg, where HC_COUNT may point. */
struct hc_stats *hc_page_counters(struct hc_page *pg);

/* Unmaps pg (NULL: nothing). The file stays. */
void hc_page_unmap(struct hc_page *pg);

/* Removes DIR/halfclose.PID if it is there. */
void hc_page_remove(const char *dir, pid_t pid);

/* The library's own page (HALFCLOSE_STATS_DIR), for conn.c's hooks. Each
 * preserves errno and makes its system calls only where it says. */

/* At initialisation: removes the page an earlier program of this process left
 * (an exec starts fresh) and arranges for this one's to go at exit. */
void hc_live_init(void);

/* Before the first TCP socket is looked at (table lock held): creates the
 * page once per process and points HC_COUNT at it; on failure one warning,
 * and the counters stay private. After that: one load, no system call. */
void hc_live_ensure(void);

/* In a forked child: the parent's page is the parent's; the child's counters
 * start at zero, in a page of its own if the parent had one. */
void hc_live_fork_child(void);

#endif
