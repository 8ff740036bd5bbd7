/* page.c - the live-counter page (page.h): its layout, its creation in a
 * directory that is safe to write, and the library's own page. System calls
 * are raw where a wrapped libc call would re-enter the library (close, read). */
#define _GNU_SOURCE
#include "page.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define HC_STATS_NAMESTR(k) #k "\0"
static const char key_names[] = HC_STATS_KEYS(HC_STATS_NAMESTR);
#undef HC_STATS_NAMESTR

_Static_assert(sizeof(struct hc_page) <= HC_PAGE_COUNTERS_OFF, "the header fits before the counters");
_Static_assert(HC_PAGE_COUNTERS_OFF + sizeof(struct hc_stats) + sizeof(key_names) <= HC_PAGE_SIZE,
	       "every counter and key name fits in one page");
_Static_assert(sizeof(atomic_ulong) == 8, "counters are 64-bit words");
_Static_assert(offsetof(struct hc_page, pid) == 36 && offsetof(struct hc_page, start_ticks) == 48 &&
		       offsetof(struct hc_page, comm) == 72,
	       "the layout page.h describes");

static void close_raw(int fd)
{
	if (fd >= 0)
		syscall(SYS_close, fd);
}

const char *hc_page_dir_refusal(const struct stat *st, uid_t euid)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != euid && st->st_uid != 0)
		return "owned by another user";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !((st->st_mode & S_ISVTX) && st->st_uid == euid))
		return "writable by others (allowed only if it is sticky and yours)";
	return NULL;
}

/* Reads the start of a small /proc file into buf (NUL-terminated). Returns
 * its length or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	do
		n = syscall(SYS_read, fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	close_raw(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int hc_page_owner_of(pid_t pid, pid_t writer, uint32_t flags, struct hc_page_owner *o)
{
	char path[64], buf[1024];
	const char *open_paren, *close_paren, *p;
	struct stat st;
	struct timespec real, boot;
	long hz = sysconf(_SC_CLK_TCK);

	memset(o, 0, sizeof(*o));
	o->pid = pid;
	o->writer = writer;
	o->flags = flags;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_proc(path, buf, sizeof(buf)) < 0)
		return -1;
	/* "PID (COMM) STATE ..." where COMM may hold spaces and parentheses. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren) {
		errno = EINVAL;
		return -1;
	}
	snprintf(o->comm, sizeof(o->comm), "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	p = close_paren + 1; /* the space before field 3, the state */
	for (int field = 3; field < 22 && p != NULL; field++) /* to the space before 22, starttime */
		p = strchr(p + 1, ' ');
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	o->start_ticks = strtoull(p + 1, NULL, 10);
	if (hz > 0 && clock_gettime(CLOCK_REALTIME, &real) == 0 && clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
		int64_t boot_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
		int64_t real_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
		o->start_unix_ns = real_ns - boot_ns + (int64_t)(o->start_ticks * (1000000000u / (uint64_t)hz));
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &st) == 0)
		o->pidns = (uint64_t)st.st_ino;
	return 0;
}

/* Fills a fresh (zeroed) page for o, the magic last. */
static void page_fill(struct hc_page *pg, const struct hc_page_owner *o)
{
	pg->version = HC_PAGE_VERSION;
	pg->size = HC_PAGE_SIZE;
	pg->counters_off = HC_PAGE_COUNTERS_OFF;
	pg->counter_size = sizeof(atomic_ulong);
	pg->nkeys = (uint32_t)hc_stats_nkeys;
	pg->keys_off = HC_PAGE_COUNTERS_OFF + (uint32_t)sizeof(struct hc_stats);
	pg->keys_len = (uint32_t)sizeof(key_names) - 1; /* the string literal's own NUL is not a key's */
	pg->pid = o->pid;
	pg->writer = o->writer;
	pg->flags = o->flags;
	pg->start_ticks = o->start_ticks;
	pg->start_unix_ns = o->start_unix_ns;
	pg->pidns = o->pidns;
	memcpy(pg->comm, o->comm, sizeof(pg->comm));
	pg->comm[sizeof(pg->comm) - 1] = '\0';
	memcpy((char *)pg + pg->keys_off, key_names, pg->keys_len);
	atomic_store_explicit(&pg->magic, HC_PAGE_MAGIC, memory_order_release);
}

struct hc_page *hc_page_create(const char *dir, const struct hc_page_owner *o, char *why, size_t whylen)
{
	char name[32];
	const char *refusal;
	struct stat st;
	struct hc_page *pg = NULL;
	void *map;
	int fd = -1, dfd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0 || fstat(dfd, &st) != 0) {
		snprintf(why, whylen, "cannot open the directory: %s", strerror(errno));
		goto out;
	}
	refusal = hc_page_dir_refusal(&st, geteuid());
	if (refusal != NULL) {
		snprintf(why, whylen, "refused: %s", refusal);
		goto out;
	}
	snprintf(name, sizeof(name), HC_PAGE_PREFIX "%d", (int)o->pid);
	/* A page of this pid is an earlier program's (exec) or a dead process's. */
	if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
		snprintf(why, whylen, "cannot replace %s: %s", name, strerror(errno));
		goto out;
	}
	fd = (int)syscall(SYS_openat, dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || ftruncate(fd, HC_PAGE_SIZE) != 0) {
		snprintf(why, whylen, "cannot create %s: %s", name, strerror(errno));
		if (fd >= 0)
			unlinkat(dfd, name, 0);
		goto out;
	}
	map = mmap(NULL, HC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(why, whylen, "cannot map %s: %s", name, strerror(errno));
		unlinkat(dfd, name, 0);
		goto out;
	}
	pg = map;
	page_fill(pg, o);
out:
	close_raw(fd);
	close_raw(dfd);
	return pg;
}

struct hc_stats *hc_page_counters(struct hc_page *pg)
{
	return (struct hc_stats *)((char *)pg + HC_PAGE_COUNTERS_OFF);
}

void hc_page_unmap(struct hc_page *pg)
{
	if (pg != NULL)
		munmap(pg, HC_PAGE_SIZE);
}

void hc_page_remove(const char *dir, pid_t pid)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/" HC_PAGE_PREFIX "%d", dir, (int)pid) < (int)sizeof(path))
		unlink(path);
}

/* ---- the library's own page ------------------------------------------- */

/* Written under the table lock or in a fork child; read at exit by any thread. */
static struct hc_page *_Atomic own_page;
static bool own_tried; /* this process tried to create its page (under the table lock) */

static void remove_at_exit(void)
{
	int saved = errno;
	struct hc_page *pg = atomic_load(&own_page);
	if (pg != NULL && pg->pid == getpid())
		hc_page_remove(hc_cfg.stats_dir, getpid());
	errno = saved;
}

void hc_live_init(void)
{
	int saved = errno;
	if (hc_cfg.stats_dir[0] != '\0') {
		hc_page_remove(hc_cfg.stats_dir, getpid());
		atexit(remove_at_exit);
	}
	errno = saved;
}

/* Creates this process's page and points the counters at it. */
static void live_create(void)
{
	struct hc_page_owner o;
	char why[256];
	pid_t self = getpid();

	own_tried = true;
	if (hc_page_owner_of(self, self, 0, &o) != 0) {
		hc_log(HC_LOG_WARN, "HALFCLOSE_STATS_DIR=\"%s\": cannot read /proc/%d/stat (%s); no live counters",
		       hc_cfg.stats_dir, (int)self, strerror(errno));
		return;
	}
	struct hc_page *pg = hc_page_create(hc_cfg.stats_dir, &o, why, sizeof(why));
	if (pg == NULL) {
		hc_log(HC_LOG_WARN, "HALFCLOSE_STATS_DIR=\"%s\": %s; no live counters", hc_cfg.stats_dir, why);
		return;
	}
	atomic_store(&own_page, pg);
	/* Nothing was counted yet in this process (the first socket is still to
	 * come), but what was is carried over rather than lost. */
	struct hc_stats *live = hc_page_counters(pg);
	for (size_t i = 0; i < hc_stats_nkeys; i++)
		((atomic_ulong *)live)[i] = atomic_load(&((atomic_ulong *)&hc_stats)[i]);
	atomic_store_explicit(&hc_stats_live, live, memory_order_release);
}

void hc_live_ensure(void)
{
	int saved;

	if (own_tried || hc_cfg.stats_dir[0] == '\0')
		return;
	saved = errno;
	live_create();
	errno = saved;
}

void hc_live_fork_child(void)
{
	int saved = errno;
	struct hc_page *parents = atomic_exchange(&own_page, NULL);

	/* The mapping the child inherited is the parent's file: not one more count there. */
	atomic_store_explicit(&hc_stats_live, &hc_stats, memory_order_release);
	hc_stats_reset();
	hc_page_unmap(parents);
	own_tried = false;
	if (parents != NULL)
		live_create();
	errno = saved;
}
