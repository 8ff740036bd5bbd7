/* config.h - the HALFCLOSE_* environment, parsed once and validated.
 * Parsing is pure (it takes an envp array), so unit tests drive it directly. */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"

#define HC_MAX_TARGETS 32

enum hc_log_level { HC_LOG_OFF, HC_LOG_ERROR, HC_LOG_WARN, HC_LOG_INFO, HC_LOG_DEBUG };
enum hc_unread_policy { HC_UNREAD_KEEP, HC_UNREAD_DISCARD };
/* Which requests a replay may resend (safe.h): the safe ones, any, none. */
enum hc_replay_policy { HC_REPLAY_SAFE, HC_REPLAY_ALL, HC_REPLAY_OFF };

/* One HALFCLOSE_TARGETS / HALFCLOSE_EXCLUDE entry: ADDR[/PREFIX][:PORT]. */
struct hc_target {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; IPv4 uses the first 4 bytes */
	unsigned prefix;        /* bits that must match */
	unsigned port;          /* 0 = any port */
};

struct hc_target_list {
	unsigned n;
	struct hc_target t[HC_MAX_TARGETS];
};

struct hc_config {
	bool disabled;
	struct hc_target_list targets;
	struct hc_target_list exclude;
	uint32_t probe_after_ms;
	uint32_t min_idle_ms;
	uint32_t write_gap_ms;
	uint32_t max_idle_ms;
	uint32_t connect_timeout_ms;
	uint32_t nonblock_connect_ms; /* the same for a non-blocking socket, with no retry */
	uint32_t retries;
	uint32_t replay_max;     /* bytes of a request kept for a replay; 0 = no replay */
	uint32_t replay_wait_ms; /* bound on the wait for proof that a request was never delivered */
	enum hc_replay_policy replay;
	uint32_t session_max;    /* bytes of session commands kept per connection */
	enum hc_unread_policy unread;
	enum hc_heal_policy heal;
	enum hc_log_level log_level;
	char log_file[PATH_MAX]; /* empty = stderr */
	char stats_file[PATH_MAX]; /* empty = no stats; "-" = stderr */
	char stats_dir[PATH_MAX];  /* empty = no live page; else an absolute directory (page.h) */
};

/* The configuration of this process, set once by hc_init() (conn.h). */
extern struct hc_config hc_cfg;

/* Fills *cfg with the defaults of DESIGN.md. */
void hc_config_defaults(struct hc_config *cfg);

/* Parses the HALFCLOSE_* entries of envp (NULL-terminated "NAME=VALUE" strings,
 * others ignored) into *cfg, starting from the defaults. Returns 0, or -1 at
 * the first bad value or unknown HALFCLOSE_* name with one line (no newline)
 * naming the variable, the value and what is expected in err. */
int hc_config_parse(struct hc_config *cfg, char *const *envp, char *err, size_t errlen);

/* Parses a comma list of ADDR[/PREFIX][:PORT] (IPv6 as [ADDR]) into *list.
 * Returns 0, or -1 with the offending entry described in err. */
int hc_targets_parse(struct hc_target_list *list, const char *text, char *err, size_t errlen);

/* True if the peer address sa matches an entry of list (IPv4-mapped IPv6
 * addresses match IPv4 entries). */
bool hc_targets_match(const struct hc_target_list *list, const struct sockaddr *sa);

/* The length of sa's address proper, given a buffer of len bytes (programs
 * often pass sizeof(struct sockaddr_storage)); 0 if it is no IPv4/IPv6 address. */
socklen_t hc_inet_len(const struct sockaddr *sa, socklen_t len);

/* True if a connection to peer is to be managed under cfg. */
bool hc_config_manages(const struct hc_config *cfg, const struct sockaddr *peer);

#endif
