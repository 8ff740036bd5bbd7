/* config.c - parses and validates the HALFCLOSE_* variables (DESIGN.md's table)
 * and matches peers against HALFCLOSE_TARGETS / HALFCLOSE_EXCLUDE. */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hc_config hc_cfg;

#define MS_MAX 86400000u /* one day: more is surely a typo */

void hc_config_defaults(struct hc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->min_idle_ms = 250;
	cfg->probe_after_ms = cfg->min_idle_ms; /* follows MIN_IDLE_MS unless set (hc_config_parse) */
	cfg->write_gap_ms = 1000;
	cfg->max_idle_ms = 0;
	cfg->connect_timeout_ms = 2000;
	cfg->nonblock_connect_ms = 100;
	cfg->retries = 2;
	cfg->replay_max = 65536;
	cfg->replay_wait_ms = 200;
	cfg->replay = HC_REPLAY_SAFE;
	cfg->session_max = 4096;
	cfg->unread = HC_UNREAD_KEEP;
	cfg->heal = HC_HEAL_ALL;
	cfg->log_level = HC_LOG_WARN;
}

/* Copies at most len bytes of s (less at a NUL) into buf, which holds len + 1,
 * each control character as '?': a value quoted in a message must not break its
 * one line (a newline) or drive the terminal that shows it (an escape).
 * Returns buf. */
static const char *printable(char *buf, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i] != '\0'; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Parses a decimal whole number in [min, max]. Returns 0 or -1. */
static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Parses one target entry of length len at s. Returns 0 or -1. */
static int parse_target(const char *s, size_t len, struct hc_target *t)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *p = s, *end = s + len, *a_end;
	unsigned max_prefix;

	memset(t, 0, sizeof(*t));
	if (len == 0)
		return -1;
	if (*p == '[') {
		a_end = memchr(p, ']', len);
		if (a_end == NULL || (size_t)(a_end - p - 1) >= sizeof(addr))
			return -1;
		memcpy(addr, p + 1, (size_t)(a_end - p - 1));
		addr[a_end - p - 1] = '\0';
		if (inet_pton(AF_INET6, addr, t->addr) != 1)
			return -1;
		t->family = AF_INET6;
		max_prefix = 128;
		p = a_end + 1;
	} else {
		a_end = p;
		while (a_end < end && *a_end != '/' && *a_end != ':')
			a_end++;
		if ((size_t)(a_end - p) >= sizeof(addr))
			return -1;
		memcpy(addr, p, (size_t)(a_end - p));
		addr[a_end - p] = '\0';
		if (inet_pton(AF_INET, addr, t->addr) != 1)
			return -1;
		t->family = AF_INET;
		max_prefix = 32;
		p = a_end;
	}
	t->prefix = max_prefix;
	if (p < end && *p == '/') {
		char num[8];
		const char *n_end = ++p;
		uint32_t v;
		while (n_end < end && *n_end != ':')
			n_end++;
		if ((size_t)(n_end - p) >= sizeof(num))
			return -1;
		memcpy(num, p, (size_t)(n_end - p));
		num[n_end - p] = '\0';
		if (parse_uint(num, 0, max_prefix, &v) != 0)
			return -1;
		t->prefix = v;
		p = n_end;
	}
	if (p < end && *p == ':') {
		char num[8];
		uint32_t v;
		p++;
		if ((size_t)(end - p) >= sizeof(num))
			return -1;
		memcpy(num, p, (size_t)(end - p));
		num[end - p] = '\0';
		if (parse_uint(num, 1, 65535, &v) != 0)
			return -1;
		t->port = v;
		p = end;
	}
	return p == end ? 0 : -1;
}

int hc_targets_parse(struct hc_target_list *list, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	list->n = 0;
	if (*text == '\0')
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		/* "a, b" is what people type: spaces around an entry do not count. */
		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (list->n == HC_MAX_TARGETS) {
			snprintf(err, errlen, "at most %d entries", HC_MAX_TARGETS);
			return -1;
		}
		if (parse_target(p, len, &list->t[list->n]) != 0) {
			char shown[65];
			snprintf(err, errlen, "bad entry \"%s\"", printable(shown, p, len > 64 ? 64 : len));
			return -1;
		}
		list->n++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool hc_targets_match(const struct hc_target_list *list, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char *addr, *v4 = NULL; /* v4: the IPv4 address inside a mapped one */
	unsigned port;
	int family = sa->sa_family;

	if (family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		addr = (const unsigned char *)&in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		addr = in6->sin6_addr.s6_addr;
		port = ntohs(in6->sin6_port);
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0)
			v4 = addr + sizeof(v4mapped);
	} else {
		return false;
	}
	for (unsigned i = 0; i < list->n; i++) {
		const struct hc_target *t = &list->t[i];
		if (t->port != 0 && t->port != port)
			continue;
		if (t->family == family && prefix_equal(t->addr, addr, t->prefix))
			return true;
		/* A mapped peer is an IPv4 host for the IPv4 entries, and still the IPv6
		 * address it is for the IPv6 ones: [::ffff:10.0.0.1] matches what it names. */
		if (v4 != NULL && t->family == AF_INET && prefix_equal(t->addr, v4, t->prefix))
			return true;
	}
	return false;
}

socklen_t hc_inet_len(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return sizeof(struct sockaddr_in6);
	return 0;
}

bool hc_config_manages(const struct hc_config *cfg, const struct sockaddr *peer)
{
	if (cfg->targets.n > 0 && !hc_targets_match(&cfg->targets, peer))
		return false;
	return !hc_targets_match(&cfg->exclude, peer);
}

/* One variable: its name, what it expects (for messages), and its parser. */
struct var {
	const char *name;
	const char *expects;
	int (*parse)(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen);
	size_t offset; /* of the field it sets: uint32_t for numbers, char[PATH_MAX] for paths, an enum for words */
	uint32_t min, max;
	const char *const *words; /* parse_choice: the enum's names, in its order */
};

static int parse_number(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	return parse_uint(value, v->min, v->max, (uint32_t *)((char *)cfg + v->offset));
}

static int parse_disable(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	(void)v, (void)why, (void)whylen;
	if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
		return -1;
	cfg->disabled = value[0] == '1';
	return 0;
}

static int parse_targets(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	struct hc_target_list *l = strcmp(v->name, "HALFCLOSE_TARGETS") == 0 ? &cfg->targets : &cfg->exclude;
	return hc_targets_parse(l, value, why, whylen);
}

/* One of a NULL-ended list of words, stored as its index in the enum field
 * at v->offset (the words are in the order of the enum). */
static int parse_choice(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	for (int i = 0; v->words[i] != NULL; i++) {
		if (strcmp(value, v->words[i]) == 0) {
			memcpy((char *)cfg + v->offset, &i, sizeof(i));
			return 0;
		}
	}
	return -1;
}
_Static_assert(sizeof(enum hc_unread_policy) == sizeof(int) && sizeof(enum hc_heal_policy) == sizeof(int) &&
		       sizeof(enum hc_log_level) == sizeof(int) && sizeof(enum hc_replay_policy) == sizeof(int),
	       "parse_choice stores an int");

static int parse_path(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	char *dst = (char *)cfg + v->offset;
	(void)why, (void)whylen;
	if (strlen(value) >= PATH_MAX)
		return -1;
	strcpy(dst, value); /* empty: as if unset */
	return 0;
}

/* A directory for the live pages: absolute (a daemon changes its working
 * directory), with room for "/halfclose.PID". */
static int parse_dir(struct hc_config *cfg, const struct var *v, const char *value, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	if (value[0] != '\0' && (value[0] != '/' || strlen(value) >= PATH_MAX - 32))
		return -1;
	strcpy((char *)cfg + v->offset, value); /* empty: as if unset */
	return 0;
}

#define MS(field) offsetof(struct hc_config, field)
static const struct var vars[] = {
	{ "HALFCLOSE_DISABLE", "0 or 1", parse_disable, 0, 0, 0, NULL },
	{ "HALFCLOSE_TARGETS", "a comma list of ADDR[/PREFIX][:PORT], IPv6 as [ADDR]", parse_targets, 0, 0, 0, NULL },
	{ "HALFCLOSE_EXCLUDE", "a comma list of ADDR[/PREFIX][:PORT], IPv6 as [ADDR]", parse_targets, 0, 0, 0, NULL },
	{ "HALFCLOSE_PROBE_AFTER_MS", "milliseconds, 0 to 86400000", parse_number, MS(probe_after_ms), 0, MS_MAX, NULL },
	{ "HALFCLOSE_MIN_IDLE_MS", "milliseconds, 0 to 86400000", parse_number, MS(min_idle_ms), 0, MS_MAX, NULL },
	{ "HALFCLOSE_WRITE_GAP_MS", "milliseconds, 0 (off) to 86400000", parse_number, MS(write_gap_ms), 0, MS_MAX, NULL },
	{ "HALFCLOSE_MAX_IDLE_MS", "milliseconds, 0 (off) to 86400000", parse_number, MS(max_idle_ms), 0, MS_MAX, NULL },
	{ "HALFCLOSE_CONNECT_TIMEOUT_MS", "milliseconds, 1 to 600000", parse_number, MS(connect_timeout_ms), 1, 600000, NULL },
	{ "HALFCLOSE_NONBLOCK_CONNECT_MS", "milliseconds, 1 to 600000", parse_number, MS(nonblock_connect_ms), 1, 600000, NULL },
	{ "HALFCLOSE_RETRIES", "a count, 0 to 10", parse_number, MS(retries), 0, 10, NULL },
	{ "HALFCLOSE_REPLAY", "safe, all or off", parse_choice, MS(replay), 0, 0, (const char *const[]){ "safe", "all", "off", NULL } },
	{ "HALFCLOSE_REPLAY_MAX", "bytes, 0 (off) to 16777216", parse_number, MS(replay_max), 0, 16777216, NULL },
	{ "HALFCLOSE_REPLAY_WAIT_MS", "milliseconds, 1 to 60000", parse_number, MS(replay_wait_ms), 1, 60000, NULL },
	{ "HALFCLOSE_UNREAD", "keep or discard", parse_choice, MS(unread), 0, 0, (const char *const[]){ "keep", "discard", NULL } },
	{ "HALFCLOSE_HEAL", "all or known", parse_choice, MS(heal), 0, 0, (const char *const[]){ "all", "known", NULL } },
	{ "HALFCLOSE_SESSION_MAX", "bytes, 0 to 1048576", parse_number, MS(session_max), 0, 1048576, NULL },
	{ "HALFCLOSE_LOG", "off, error, warn, info or debug", parse_choice, MS(log_level), 0, 0,
	  (const char *const[]){ "off", "error", "warn", "info", "debug", NULL } },
	{ "HALFCLOSE_LOG_FILE", "a file path shorter than PATH_MAX", parse_path, MS(log_file), 0, 0, NULL },
	{ "HALFCLOSE_STATS", "a file path shorter than PATH_MAX, or - for stderr", parse_path, MS(stats_file), 0, 0, NULL },
	{ "HALFCLOSE_STATS_DIR", "an absolute directory path", parse_dir, MS(stats_dir), 0, 0, NULL },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* "HALFCLOSE_DISABLE, TARGETS, ...": every name of the table, for the message
 * about an unknown one. */
static const char *var_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NVARS && used < len; i++) {
		const char *name = i == 0 ? vars[i].name : vars[i].name + strlen("HALFCLOSE_");
		int n = snprintf(buf + used, len - used, "%s%s", i == 0 ? "" : ", ", name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

int hc_config_parse(struct hc_config *cfg, char *const *envp, char *err, size_t errlen)
{
	static const char prefix[] = "HALFCLOSE_";
	bool probe_after_set = false;

	hc_config_defaults(cfg);
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *entry = *envp, *eq = strchr(entry, '=');
		const struct var *v = NULL;
		char why[128] = "", name[65], value[65];

		if (eq == NULL || strncmp(entry, prefix, sizeof(prefix) - 1) != 0)
			continue;
		for (size_t i = 0; i < NVARS; i++) {
			if (strlen(vars[i].name) == (size_t)(eq - entry) &&
			    strncmp(vars[i].name, entry, (size_t)(eq - entry)) == 0)
				v = &vars[i];
		}
		if (v == NULL) {
			char names[512];
			snprintf(err, errlen, "unknown variable %s=\"%s\": expected one of %s",
				 printable(name, entry, (size_t)(eq - entry > 64 ? 64 : eq - entry)),
				 printable(value, eq + 1, 64), var_names(names, sizeof(names)));
			return -1;
		}
		if (v->parse(cfg, v, eq + 1, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s=\"%s\": expected %s%s%s", v->name, printable(value, eq + 1, 64),
				 v->expects, why[0] ? "; " : "", why);
			return -1;
		}
		if (v->parse == parse_number && v->offset == MS(probe_after_ms))
			probe_after_set = true;
	}
	/* A connection too recently active to be swapped is not probed either:
	 * a busy connection costs no system call (DESIGN.md, "Probe"). */
	if (!probe_after_set)
		cfg->probe_after_ms = cfg->min_idle_ms;
	return 0;
}
