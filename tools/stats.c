/* stats.c - `halfclose stats [DIR...] [--prune] [--json] [--prometheus]`:
 * reads the live pages (shim/page.h) of every process in DIR without
 * touching the processes, and prints them as a table, JSON or the Prometheus
 * text exposition format. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "page.h"
#include "stats.h"

#define DEFAULT_DIR "/run/halfclose"

static struct stats_set st;

static void usage(FILE *out)
{
	fprintf(out, "usage: halfclose stats [DIR...] [--prune] [--json | --prometheus]\n"
		     "Prints the live counters of every process that keeps a page in DIR\n"
		     "(HALFCLOSE_STATS_DIR; default: $HALFCLOSE_STATS_DIR, else " DEFAULT_DIR ").\n"
		     "  --prune        remove the pages of processes that are gone\n"
		     "  --json         one JSON object\n"
		     "  --prometheus   the Prometheus text format (node_exporter's textfile collector)\n");
}

/* The column of key, added if new; -1 if there is no room. */
static int column_of(const char *key)
{
	for (unsigned i = 0; i < st.ncols; i++)
		if (strcmp(st.cols[i], key) == 0)
			return (int)i;
	if (st.ncols == MAX_COLS)
		return -1;
	st.cols[st.ncols] = key;
	return (int)st.ncols++;
}

/* Why pg (size bytes, named for pid) is not a complete page, or NULL. */
static const char *page_invalid(const struct hc_page *pg, size_t size, pid_t pid)
{
	if (size < sizeof(*pg) || atomic_load_explicit(&pg->magic, memory_order_acquire) != HC_PAGE_MAGIC)
		return "no page header";
	if (pg->version < 1 || pg->size > size || pg->counter_size != 8 || pg->nkeys > MAX_COLS)
		return "unknown layout";
	if (pg->counters_off % 8 != 0 || pg->counters_off > pg->size ||
	    (size_t)pg->nkeys * 8 > pg->size - pg->counters_off || pg->keys_off > pg->size ||
	    pg->keys_len > pg->size - pg->keys_off)
		return "offsets outside the page";
	if (pg->pid != pid)
		return "its pid is not its name's";
	return NULL;
}

/* Splits the key names of v's page into v->keys. Returns 0 or -1. */
static int split_keys(struct view *v)
{
	const char *p = (const char *)v->pg + v->pg->keys_off, *end = p + v->pg->keys_len;

	for (v->nkeys = 0; v->nkeys < v->pg->nkeys; v->nkeys++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL || nul == p)
			return -1;
		v->keys[v->nkeys] = p;
		p = nul + 1;
	}
	return 0;
}

/* True if process writer maps the file (dev, ino); also true if its maps
 * cannot be read (another user's process: the start time decided). */
static bool writer_maps(pid_t writer, dev_t dev, ino_t ino)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)writer);
	f = fopen(path, "re");
	if (f == NULL)
		return errno != ENOENT && errno != ESRCH;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned maj, min;
		unsigned long long inode;
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
			found = inode == (unsigned long long)ino && makedev(maj, min) == dev;
	}
	fclose(f);
	return found;
}

/* Whether the process v's page counts is still there: same pid, same start
 * time, and its writer still maps the page (a program exec'd without the
 * library, or a killed supervisor, leave a page nobody updates). */
static enum liveness liveness_of(const struct view *v, const struct stat *sb)
{
	struct hc_page_owner now;

	if (v->pg->pidns != 0 && st.own_pidns != 0 && v->pg->pidns != st.own_pidns)
		return FOREIGN;
	if (hc_page_owner_of(v->pg->pid, 0, 0, &now) != 0 || now.start_ticks != v->pg->start_ticks)
		return GONE;
	return writer_maps(v->pg->writer, sb->st_dev, sb->st_ino) ? LIVE : GONE;
}

/* Adds the page at dir/name, or prunes it. Returns 0, or -1 if it was
 * skipped (with a message). */
static int load_page(const char *dir, int dfd, const char *name, pid_t pid, bool prune)
{
	struct stat sb;
	struct view v = { .dir = dir };
	const char *bad;
	void *map = MAP_FAILED;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	v.size = (size_t)sb.st_size < 65536 ? (size_t)sb.st_size : 65536;
	map = mmap(NULL, v.size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	v.pg = map;
	bad = page_invalid(v.pg, v.size, pid);
	if (bad == NULL && split_keys(&v) != 0)
		bad = "bad key names";
	if (bad != NULL) {
		/* Half-written (its process is creating it) or not ours: left alone,
		 * unless nothing lives under its pid any more. */
		if (prune && kill(pid, 0) != 0 && errno == ESRCH && unlinkat(dfd, name, 0) == 0)
			st.pruned++;
		else
			fprintf(stderr, "halfclose stats: %s/%s: %s; skipped\n", dir, name, bad);
		munmap(map, v.size);
		return -1;
	}
	v.state = liveness_of(&v, &sb);
	if (v.state == GONE && prune) {
		if (unlinkat(dfd, name, 0) == 0)
			st.pruned++;
		munmap(map, v.size);
		return 0;
	}
	if (st.nviews == st.cap) {
		size_t cap = st.cap ? st.cap * 2 : 64;
		struct view *nv = realloc(st.views, cap * sizeof(*nv));
		if (nv == NULL) {
			munmap(map, v.size);
			return -1;
		}
		st.views = nv;
		st.cap = cap;
	}
	for (unsigned i = 0; i < v.nkeys; i++)
		column_of(v.keys[i]);
	st.views[st.nviews++] = v;
	return 0;
}

/* Loads (or prunes) every page of dir. Returns 0, or -1 if dir cannot be read. */
static int load_dir(const char *dir, bool prune)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "halfclose stats: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *num = de->d_name + strlen(HC_PAGE_PREFIX);
		char *end;
		long pid;
		if (strncmp(de->d_name, HC_PAGE_PREFIX, strlen(HC_PAGE_PREFIX)) != 0 || *num < '1' || *num > '9')
			continue;
		pid = strtol(num, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > 0x7fffffff)
			continue;
		load_page(dir, dirfd(d), de->d_name, (pid_t)pid, prune);
	}
	closedir(d);
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct view *x = a, *y = b;
	int c = strcmp(x->dir, y->dir);
	return c != 0 ? c : (x->pg->pid > y->pg->pid) - (x->pg->pid < y->pg->pid);
}

int hc_cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prune", no_argument, NULL, 'p' },      { "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum { TABLE, JSON, PROMETHEUS } format = TABLE;
	const char *env = getenv("HALFCLOSE_STATS_DIR");
	struct stat ns;
	bool prune = false;
	size_t shown = 0, gone = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			prune = true;
			break;
		case 'j':
			format = JSON;
			break;
		case 'P':
			format = PROMETHEUS;
			break;
		default: /* -h, --help, or a word it does not take */
			return hc_cmd_usage(usage, c);
		}
	}
	for (size_t i = 0; i < hc_stats_nkeys; i++)
		column_of(hc_stats_keys[i]);
	if (stat("/proc/self/ns/pid", &ns) == 0)
		st.own_pidns = (uint64_t)ns.st_ino;
	if (optind == argc && load_dir(env != NULL && env[0] != '\0' ? env : DEFAULT_DIR, prune) != 0)
		rc = 1;
	for (int i = optind; i < argc; i++)
		if (load_dir(argv[i], prune) != 0)
			rc = 1;
	qsort(st.views, st.nviews, sizeof(*st.views), by_pid);
	for (size_t i = 0; i < st.nviews; i++) {
		if (st.views[i].state == GONE)
			gone++;
		else
			shown++;
	}
	if (st.pruned > 0)
		fprintf(stderr, "halfclose stats: removed %zu page%s of processes that are gone\n", st.pruned,
			st.pruned == 1 ? "" : "s");
	if (format == JSON)
		hc_stats_print_json(&st, shown);
	else if (format == PROMETHEUS)
		hc_stats_print_prometheus(&st, shown);
	else
		hc_stats_print_table(&st, shown, gone);
	return fflush(stdout) == 0 ? rc : 1;
}
