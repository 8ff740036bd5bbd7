/* log.c - log lines, address formatting, and the stats line written at exit.
 * Output goes through raw write(2)/openat(2) system calls: no wrapper re-entry,
 * no stdio buffers, and no long-lived fd the program could close under us. */
#define _GNU_SOURCE
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hc_stats hc_stats;
struct hc_stats *_Atomic hc_stats_live = &hc_stats;

/* Writes all of buf to fd, or gives up quietly: logging must never fail the program. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		long n = syscall(SYS_write, fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

int hc_path_fd(const char *path)
{
	static const char *const dirs[] = { "/dev/fd/", "/proc/self/fd/" };
	char *end;
	long n;

	if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0 || strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	if (strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t k = strlen(dirs[i]);
		if (strncmp(path, dirs[i], k) != 0 || path[k] < '0' || path[k] > '9')
			continue;
		n = strtol(path + k, &end, 10);
		if (*end == '\0' && n >= 0 && n <= INT_MAX)
			return (int)n;
	}
	return -1;
}

/* Opens path to append to (created 0600, never through a symlink;
 * O_NONBLOCK: a FIFO without a reader must not hang the program). Returns the
 * fd, or -1 with errno. */
static int open_append(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path,
			    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
}

/* Appends buf to path, or to the fd it names (hc_path_fd: stderr for NULL,
 * "" or "-"). */
static void append_line(const char *path, const char *buf, size_t len)
{
	int fd = hc_path_fd(path);

	if (fd >= 0) {
		write_all(fd, buf, len);
		return;
	}
	fd = open_append(path);
	if (fd < 0)
		return;
	write_all(fd, buf, len);
	syscall(SYS_close, fd);
}

/* True if path names an fd, or can be opened to append to (left closed). */
static bool can_append(const char *path)
{
	int fd;

	if (hc_path_fd(path) >= 0)
		return true;
	fd = open_append(path);
	if (fd < 0)
		return false;
	syscall(SYS_close, fd);
	return true;
}

void hc_log_check_paths(struct hc_config *cfg)
{
	int saved = errno;

	if (!can_append(cfg->log_file)) {
		hc_log_stderr("HALFCLOSE_LOG_FILE=\"%.200s\": cannot be opened (%s); log lines go to stderr",
			      cfg->log_file, strerror(errno));
		cfg->log_file[0] = '\0';
	}
	if (cfg->stats_file[0] != '\0' && !can_append(cfg->stats_file))
		hc_log_stderr("HALFCLOSE_STATS=\"%.200s\": cannot be opened (%s); no stats line will be written there",
			      cfg->stats_file, strerror(errno));
	errno = saved;
}

__attribute__((format(printf, 2, 0))) static void vlog_to(const char *path, const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "halfclose[%d]: ", (int)getpid());
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	append_line(path, line, len);
}

void hc_log(enum hc_log_level level, const char *fmt, ...)
{
	int saved = errno;
	if (level != HC_LOG_OFF && level <= hc_cfg.log_level) {
		va_list ap;
		va_start(ap, fmt);
		vlog_to(hc_cfg.log_file, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void hc_log_stderr(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog_to(NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *hc_addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

#define HC_STATS_NAME(k) #k,
const char *const hc_stats_keys[] = { HC_STATS_KEYS(HC_STATS_NAME) };
#undef HC_STATS_NAME
const size_t hc_stats_nkeys = sizeof(hc_stats_keys) / sizeof(hc_stats_keys[0]);

/* The counters of st in key order: the struct is nothing but them. */
_Static_assert(sizeof(struct hc_stats) == sizeof(hc_stats_keys) / sizeof(hc_stats_keys[0]) * sizeof(atomic_ulong),
	       "struct hc_stats holds exactly one counter per key");
static const atomic_ulong *stats_counter(const struct hc_stats *st, size_t i)
{
	return (const atomic_ulong *)st + i;
}

size_t hc_stats_format_of(char *buf, size_t len, pid_t pid, const struct hc_stats *st)
{
	size_t used;
	int n = snprintf(buf, len, "halfclose pid=%d", (int)pid);

	if (n < 0 || len == 0)
		return 0;
	used = (size_t)n < len ? (size_t)n : len - 1;
	for (size_t i = 0; i < hc_stats_nkeys && used < len - 1; i++) {
		n = snprintf(buf + used, len - used, " %s=%lu", hc_stats_keys[i],
			     atomic_load_explicit(stats_counter(st, i), memory_order_relaxed));
		if (n < 0)
			return used;
		used += (size_t)n < len - used ? (size_t)n : len - used - 1;
	}
	if (used < len - 1)
		buf[used++] = '\n';
	buf[used] = '\0';
	return used;
}

size_t hc_stats_format(char *buf, size_t len, pid_t pid)
{
	return hc_stats_format_of(buf, len, pid, atomic_load_explicit(&hc_stats_live, memory_order_acquire));
}

void hc_stats_write_of(const char *path, pid_t pid, const struct hc_stats *st)
{
	int saved = errno;
	char line[1024];
	size_t len = hc_stats_format_of(line, sizeof(line), pid, st);
	append_line(path, line, len);
	errno = saved;
}

void hc_stats_write(const char *path)
{
	hc_stats_write_of(path, getpid(), atomic_load_explicit(&hc_stats_live, memory_order_acquire));
}

void hc_stats_reset(void)
{
	for (size_t i = 0; i < hc_stats_nkeys; i++)
		atomic_store_explicit((atomic_ulong *)stats_counter(&hc_stats, i), 0, memory_order_relaxed);
}
