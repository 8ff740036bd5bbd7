/* log.h - log lines ("halfclose[PID]: ...") and the exit-time stats line.
 * Both are written with raw system calls, so they never enter a wrapper. */
#ifndef HC_LOG_H
#define HC_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"

/* Formats and writes one log line if level is enabled. Preserves errno. */
void hc_log(enum hc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line to stderr, whatever the log settings (configuration errors).
 * Preserves errno. */
void hc_log_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The fd a log or stats path names by itself, without opening anything:
 * stderr for "", "-" and /dev/stderr, stdout for /dev/stdout, N for /dev/fd/N
 * and /proc/self/fd/N (symlinks a O_NOFOLLOW open would refuse); -1 for a
 * path to open. */
int hc_path_fd(const char *path);

/* At start: a HALFCLOSE_LOG_FILE or HALFCLOSE_STATS path that cannot be
 * opened (a missing directory, a symlink) gets one warning line on stderr;
 * the log then goes to stderr. Preserves errno. */
void hc_log_check_paths(struct hc_config *cfg);

/* "127.0.0.1:6379" or "[::1]:6379" into buf; returns buf. */
const char *hc_addr_format(const struct sockaddr *sa, char *buf, size_t len);

/* The counters of the stats line, in its order: X(key). Keys are only ever
 * added at the end, never renamed or reordered (scripts parse the line). */
#define HC_STATS_KEYS(X)                                                                              \
	X(managed) X(probes) X(stale) X(reconnects) X(reconnect_failures) X(unread_kept) X(retired)    \
	X(tls_skipped) X(passthrough) X(replays) X(session_rebuilds) X(session_failures)               \
	X(stateful_skipped) X(unknown_skipped)

/* Process-wide counters, one per key. */
struct hc_stats {
#define HC_STATS_FIELD(k) atomic_ulong k;
	HC_STATS_KEYS(HC_STATS_FIELD)
#undef HC_STATS_FIELD
};
extern struct hc_stats hc_stats;
/* The counters HC_COUNT increments: &hc_stats, or the process's live page
 * once it has one (page.h). Set before anything is counted; a plain load. */
extern struct hc_stats *_Atomic hc_stats_live;

/* The keys, in order, and their number. */
extern const char *const hc_stats_keys[];
extern const size_t hc_stats_nkeys;

#define HC_COUNT(field)                                                                                \
	atomic_fetch_add_explicit(&atomic_load_explicit(&hc_stats_live, memory_order_acquire)->field, 1, \
				  memory_order_relaxed)

/* Formats the stats line (with its newline) of counters st for pid into buf;
 * returns its length. hc_stats_format: this process's counters (live). */
size_t hc_stats_format_of(char *buf, size_t len, pid_t pid, const struct hc_stats *st);
size_t hc_stats_format(char *buf, size_t len, pid_t pid);

/* Appends the stats line of st for pid to path ("-" = stderr), created 0600,
 * never through a symlink. hc_stats_write: this process's. Preserve errno. */
void hc_stats_write_of(const char *path, pid_t pid, const struct hc_stats *st);
void hc_stats_write(const char *path);

/* Zeroes every counter of hc_stats (a forked child starts its own line). */
void hc_stats_reset(void);

#endif
