/* fuzz_config.c - libFuzzer target for the configuration parser (shim/config.c):
 * the input becomes a small environment for hc_config_parse and, whole, a target
 * list for hc_targets_parse; every promise config.h makes is checked on the result.
 *
 * Entries are separated by NUL bytes if the input has any (the exact envp model:
 * a value may hold a newline), else by newlines, so that seeds stay readable. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_ENTRIES 16
#define ERRLEN 512 /* what hc_init gives the parser */
#define MS_MAX 86400000u
#define UNKNOWN "unknown variable HALFCLOSE_"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ends the run: libFuzzer saves the input as a crash and prints the stack. */
static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s: \"%s\"\n", what, detail);
	abort();
}

/* A heap copy of len bytes at s plus a NUL, in a block of exactly that size, so
 * that ASan sees any read past the string's end. */
static char *copy_string(const void *s, size_t len)
{
	char *p = malloc(len + 1);
	if (p == NULL)
		abort();
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Splits data into at most MAX_ENTRIES strings, each its own heap block, into
 * envp (NULL-terminated). Returns how many; the caller frees them. */
static size_t split_env(const uint8_t *data, size_t size, char **envp)
{
	const int sep = memchr(data, '\0', size) != NULL ? '\0' : '\n';
	const uint8_t *p = data, *end = data + size;
	size_t n = 0;

	while (p < end && n < MAX_ENTRIES) {
		const uint8_t *q = memchr(p, sep, (size_t)(end - p));
		size_t len = q != NULL ? (size_t)(q - p) : (size_t)(end - p);
		envp[n++] = copy_string(p, len);
		p += len + 1;
	}
	envp[n] = NULL;
	return n;
}

/* A message from the parser is a non-empty NUL-terminated line within ERRLEN
 * with no control character: it goes to a terminal or a log as one line. */
static void check_message(const char *err)
{
	const char *nul = memchr(err, '\0', ERRLEN);

	if (nul == NULL)
		fail("message not NUL-terminated within errlen", "");
	if (nul == err)
		fail("empty message", "");
	for (const char *p = err; p < nul; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail("control character in message", err);
	}
}

/* A failed parse names the variable: an unknown HALFCLOSE_* name, or a known
 * one that is in envp, followed by its value ("NAME=..."). */
static void check_names_variable(const char *err, char *const *envp)
{
	const char *eq = strchr(err, '=');

	if (strncmp(err, UNKNOWN, strlen(UNKNOWN)) == 0)
		return;
	if (eq == NULL || strncmp(err, "HALFCLOSE_", 10) != 0)
		fail("message does not start with the variable", err);
	for (; *envp != NULL; envp++) {
		if (strncmp(*envp, err, (size_t)(eq - err + 1)) == 0)
			return;
	}
	fail("message names a variable that is not in the environment", err);
}

/* A peer at addr (4 or 16 bytes, by family) and port, in ss. */
static const struct sockaddr *peer(struct sockaddr_storage *ss, int family, const unsigned char *addr,
				   unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, addr, 16);
	}
	return (const struct sockaddr *)ss;
}

/* Every entry is in range, and a peer at an entry's own address and port
 * matches the list (an IPv4 entry in its IPv4-mapped IPv6 form too). */
static void check_targets(const struct hc_target_list *l)
{
	static const unsigned char zero[12];
	struct sockaddr_storage ss;

	if (l->n > HC_MAX_TARGETS)
		fail("more entries than HC_MAX_TARGETS", "");
	for (unsigned i = 0; i < l->n; i++) {
		const struct hc_target *t = &l->t[i];
		unsigned port = t->port != 0 ? t->port : 1;
		if (t->family != AF_INET && t->family != AF_INET6)
			fail("entry of an unknown family", "");
		if (t->prefix > (t->family == AF_INET ? 32u : 128u) || t->port > 65535)
			fail("prefix or port out of range", "");
		if (t->family == AF_INET && memcmp(t->addr + 4, zero, sizeof(zero)) != 0)
			fail("IPv4 entry with bytes past its address", "");
		if (!hc_targets_match(l, peer(&ss, t->family, t->addr, port)))
			fail("an entry does not match its own address", "");
		if (t->family == AF_INET) {
			unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff };
			memcpy(mapped + 12, t->addr, 4);
			if (!hc_targets_match(l, peer(&ss, AF_INET6, mapped, port)))
				fail("an IPv4 entry does not match its IPv4-mapped form", "");
		}
	}
}

/* EXCLUDE wins over TARGETS: a peer at an excluded entry's own address is
 * never managed. */
static void check_exclude_wins(const struct hc_config *c)
{
	struct sockaddr_storage ss;

	for (unsigned i = 0; i < c->exclude.n; i++) {
		const struct hc_target *t = &c->exclude.t[i];
		if (hc_config_manages(c, peer(&ss, t->family, t->addr, t->port != 0 ? t->port : 1)))
			fail("an excluded address is managed", "");
	}
}

/* Every value of a successful parse is in the range config.h documents. */
static void check_config(const struct hc_config *c)
{
	if (c->probe_after_ms > MS_MAX || c->min_idle_ms > MS_MAX || c->write_gap_ms > MS_MAX ||
	    c->max_idle_ms > MS_MAX)
		fail("milliseconds out of range", "");
	if (c->connect_timeout_ms < 1 || c->connect_timeout_ms > 600000 || c->retries > 10 ||
	    c->nonblock_connect_ms < 1 || c->nonblock_connect_ms > 600000)
		fail("connect timeouts or retries out of range", "");
	if (c->session_max > 1048576 || (c->heal != HC_HEAL_ALL && c->heal != HC_HEAL_KNOWN))
		fail("session bound or heal policy out of range", "");
	if ((c->unread != HC_UNREAD_KEEP && c->unread != HC_UNREAD_DISCARD) || c->log_level > HC_LOG_DEBUG)
		fail("unread policy or log level out of range", "");
	if (memchr(c->log_file, '\0', PATH_MAX) == NULL || memchr(c->stats_file, '\0', PATH_MAX) == NULL ||
	    memchr(c->stats_dir, '\0', PATH_MAX) == NULL)
		fail("path not NUL-terminated", "");
	if (c->stats_dir[0] != '\0' && (c->stats_dir[0] != '/' || strlen(c->stats_dir) >= PATH_MAX - 32))
		fail("HALFCLOSE_STATS_DIR not an absolute path with room for a page's name", "");
	check_targets(&c->targets);
	check_targets(&c->exclude);
	check_exclude_wins(c);
}

/* hc_config_parse on envp into a cfg that held fill bytes; checks the result.
 * Returns the parser's result; err holds its message. */
static int parse_env(struct hc_config *cfg, int fill, char *const *envp, char *err)
{
	int rc;

	memset(cfg, fill, sizeof(*cfg));
	memset(err, '#', ERRLEN); /* a NUL found later is the parser's */
	rc = hc_config_parse(cfg, envp, err, ERRLEN);
	if (rc == 0) {
		check_config(cfg);
	} else if (rc == -1) {
		check_message(err);
		check_names_variable(err, envp);
	} else {
		fail("hc_config_parse returned neither 0 nor -1", "");
	}
	return rc;
}

/* The environment twice, into a zeroed and into a garbage cfg: a parse starts
 * from the defaults, so both give the same result. */
static void fuzz_env(const uint8_t *data, size_t size)
{
	static struct hc_config a, b; /* PATH_MAX twice: too big for the stack */
	char *envp[MAX_ENTRIES + 1];
	char err_a[ERRLEN], err_b[ERRLEN];
	size_t n = split_env(data, size, envp);
	int rc = parse_env(&a, 0x00, envp, err_a);

	if (parse_env(&b, 0xa5, envp, err_b) != rc)
		fail("the same environment parsed two ways", "");
	if (rc == 0 && memcmp(&a, &b, sizeof(a)) != 0)
		fail("a parse depends on what cfg held before", "");
	if (rc != 0 && strcmp(err_a, err_b) != 0)
		fail("the same environment gave two messages", err_b);
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
}

/* The whole input as one HALFCLOSE_TARGETS value (up to its first NUL), and a
 * peer made of its first bytes matched against the result. */
static void fuzz_targets(const uint8_t *data, size_t size)
{
	static struct hc_target_list list;
	struct sockaddr_storage ss;
	unsigned char addr[16] = { 0 };
	char err[ERRLEN];
	char *text = copy_string(data, size);

	memset(err, '#', sizeof(err));
	if (hc_targets_parse(&list, text, err, sizeof(err)) == 0) {
		check_targets(&list);
		memcpy(addr, data, size < sizeof(addr) ? size : sizeof(addr));
		(void)hc_targets_match(&list, peer(&ss, AF_INET, addr, 6379));
		(void)hc_targets_match(&list, peer(&ss, AF_INET6, addr, 6379));
	} else {
		check_message(err);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_env(data, size);
	fuzz_targets(data, size);
	return 0;
}
