/* test_config.c - the HALFCLOSE_* environment: defaults, every variable's valid
 * and invalid values, the error line, target syntax and target matching. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "suites.h"

/* Parses a NULL-terminated list of "NAME=VALUE" strings into cfg/err. */
#define PARSE(cfg, err, ...) \
	hc_config_parse((cfg), (char *const[]){ __VA_ARGS__, NULL }, (err), sizeof(err))

static struct sockaddr_storage ss;

static const struct sockaddr *v4(const char *ip, unsigned short port)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof ss);
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	return (const struct sockaddr *)&ss;
}

static const struct sockaddr *v6(const char *ip, unsigned short port)
{
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof ss);
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	return (const struct sockaddr *)&ss;
}

static struct hc_target_list targets(const char *text)
{
	struct hc_target_list list;
	char err[256] = "";
	memset(&list, 0, sizeof list);
	ck_assert_msg(hc_targets_parse(&list, text, err, sizeof err) == 0, "\"%s\" rejected: %s", text, err);
	return list;
}

static void assert_defaults(const struct hc_config *c)
{
	ck_assert(!c->disabled);
	ck_assert_uint_eq(c->targets.n, 0);
	ck_assert_uint_eq(c->exclude.n, 0);
	ck_assert_uint_eq(c->probe_after_ms, 250);
	ck_assert_uint_eq(c->min_idle_ms, 250);
	ck_assert_uint_eq(c->write_gap_ms, 1000);
	ck_assert_uint_eq(c->max_idle_ms, 0);
	ck_assert_uint_eq(c->connect_timeout_ms, 2000);
	ck_assert_uint_eq(c->nonblock_connect_ms, 100);
	ck_assert_uint_eq(c->retries, 2);
	ck_assert_uint_eq(c->replay_max, 65536);
	ck_assert_uint_eq(c->replay_wait_ms, 200);
	ck_assert_uint_eq(c->session_max, 4096);
	ck_assert_int_eq(c->unread, HC_UNREAD_KEEP);
	ck_assert_int_eq(c->heal, HC_HEAL_ALL);
	ck_assert_int_eq(c->log_level, HC_LOG_WARN);
	ck_assert_str_eq(c->log_file, "");
	ck_assert_str_eq(c->stats_file, "");
}

/* ---- defaults ---------------------------------------------------------- */

START_TEST(defaults_match_the_design_table)
{
	struct hc_config c;
	memset(&c, 0x5a, sizeof c);
	hc_config_defaults(&c);
	assert_defaults(&c);
}
END_TEST

START_TEST(empty_environment_gives_the_defaults)
{
	struct hc_config c;
	char err[256] = "";
	memset(&c, 0x5a, sizeof c);
	char *const envp[] = { NULL };
	ck_assert_int_eq(hc_config_parse(&c, envp, err, sizeof err), 0);
	assert_defaults(&c);
}
END_TEST

START_TEST(non_halfclose_variables_are_ignored)
{
	struct hc_config c;
	char err[256] = "";
	int r = PARSE(&c, err, "PATH=/usr/bin:/bin", "HOME=/root", "MY_HALFCLOSE_LOG=loud",
		      "XHALFCLOSE_RETRIES=many", "LD_PRELOAD=libhalfclose.so", "EMPTY=");
	ck_assert_msg(r == 0, "rejected: %s", err);
	assert_defaults(&c);
}
END_TEST

START_TEST(parse_starts_from_the_defaults_whatever_cfg_held)
{
	struct hc_config c;
	char err[256] = "";
	memset(&c, 0x5a, sizeof c);
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_RETRIES=5"), 0);
	ck_assert_uint_eq(c.retries, 5);
	ck_assert_uint_eq(c.min_idle_ms, 250);
	ck_assert_uint_eq(c.targets.n, 0);
	ck_assert_str_eq(c.log_file, "");
}
END_TEST

/* ---- the millisecond and count variables ------------------------------- */

/* Each numeric variable with the range the parser enforces (a value outside
 * it is surely a typo: more than a day of milliseconds, more than 10 retries). */
static const struct {
	const char *name;
	size_t offset;
	const char *min, *below_min; /* below_min NULL: min is 0 */
	const char *max, *above_max;
} numeric[] = {
	{ "HALFCLOSE_PROBE_AFTER_MS", offsetof(struct hc_config, probe_after_ms), "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_MIN_IDLE_MS", offsetof(struct hc_config, min_idle_ms), "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_WRITE_GAP_MS", offsetof(struct hc_config, write_gap_ms), "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_MAX_IDLE_MS", offsetof(struct hc_config, max_idle_ms), "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_CONNECT_TIMEOUT_MS", offsetof(struct hc_config, connect_timeout_ms), "1", "0", "600000",
	  "600001" },
	{ "HALFCLOSE_NONBLOCK_CONNECT_MS", offsetof(struct hc_config, nonblock_connect_ms), "1", "0", "600000",
	  "600001" },
	{ "HALFCLOSE_RETRIES", offsetof(struct hc_config, retries), "0", NULL, "10", "11" },
	{ "HALFCLOSE_REPLAY_MAX", offsetof(struct hc_config, replay_max), "0", NULL, "16777216", "16777217" },
	{ "HALFCLOSE_REPLAY_WAIT_MS", offsetof(struct hc_config, replay_wait_ms), "1", "0", "60000", "60001" },
	{ "HALFCLOSE_SESSION_MAX", offsetof(struct hc_config, session_max), "0", NULL, "1048576", "1048577" },
};
#define N_NUMERIC ((int)(sizeof numeric / sizeof numeric[0]))

static uint32_t numeric_field(const struct hc_config *c, int i)
{
	uint32_t v;
	memcpy(&v, (const char *)c + numeric[i].offset, sizeof v);
	return v;
}

/* Parses NAME=value alone; returns hc_config_parse's result, err filled. */
static int parse_one(struct hc_config *c, const char *name, const char *value, char *err, size_t errlen)
{
	char entry[PATH_MAX + 64];
	snprintf(entry, sizeof entry, "%s=%s", name, value);
	char *const envp[] = { entry, NULL };
	err[0] = '\0';
	return hc_config_parse(c, envp, err, errlen);
}

/* The error line names the variable and the value, and says more than that. */
static void assert_error_names(const char *err, const char *name, const char *value)
{
	ck_assert_msg(strstr(err, name) != NULL, "error \"%s\" does not name %s", err, name);
	if (value[0] != '\0')
		ck_assert_msg(strstr(err, value) != NULL, "error \"%s\" does not quote the value \"%s\"", err,
			      value);
	ck_assert_msg(strlen(err) > strlen(name) + strlen(value) + 10, "error \"%s\" does not say what is expected",
		      err);
	ck_assert_msg(strchr(err, '\n') == NULL, "error \"%s\" is more than one line", err);
}

START_TEST(every_numeric_variable_takes_a_decimal_value)
{
	struct hc_config c;
	char err[256];
	ck_assert_msg(parse_one(&c, numeric[_i].name, "7", err, sizeof err) == 0, "%s=7: %s", numeric[_i].name,
		      err);
	ck_assert_uint_eq(numeric_field(&c, _i), 7);
}
END_TEST

START_TEST(every_numeric_variable_takes_both_ends_of_its_range)
{
	struct hc_config c;
	char err[256];
	ck_assert_msg(parse_one(&c, numeric[_i].name, numeric[_i].min, err, sizeof err) == 0, "%s=%s: %s",
		      numeric[_i].name, numeric[_i].min, err);
	ck_assert_uint_eq(numeric_field(&c, _i), strtoul(numeric[_i].min, NULL, 10));
	ck_assert_msg(parse_one(&c, numeric[_i].name, numeric[_i].max, err, sizeof err) == 0, "%s=%s: %s",
		      numeric[_i].name, numeric[_i].max, err);
	ck_assert_uint_eq(numeric_field(&c, _i), strtoul(numeric[_i].max, NULL, 10));
}
END_TEST

START_TEST(every_numeric_variable_rejects_values_out_of_its_range)
{
	const char *bad[] = { numeric[_i].above_max, numeric[_i].below_min };
	for (size_t k = 0; k < 2; k++) {
		if (bad[k] == NULL)
			continue;
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, numeric[_i].name, bad[k], err, sizeof err) == -1, "%s=%s accepted",
			      numeric[_i].name, bad[k]);
		assert_error_names(err, numeric[_i].name, bad[k]);
		ck_assert_msg(strstr(err, numeric[_i].max) != NULL, "error \"%s\" does not give the range", err);
	}
}
END_TEST

START_TEST(every_numeric_variable_rejects_garbage_naming_variable_and_value)
{
	static const char *bad[] = {
		"abc",                  /* non-numeric */
		"12abc",                /* trailing garbage */
		"1.5",                  /* not an integer */
		"-1",                   /* negative */
		"-0x5",                 /* negative, hex */
		"",                     /* empty */
		"99999999999999999999", /* overflows unsigned long */
		"4294967296",           /* does not fit the 32-bit field */
		"18446744073709551616", /* ULONG_MAX + 1 */
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_config c;
		char err[256];
		int r = parse_one(&c, numeric[_i].name, bad[k], err, sizeof err);
		ck_assert_msg(r == -1, "%s=\"%s\" accepted", numeric[_i].name, bad[k]);
		assert_error_names(err, numeric[_i].name, bad[k]);
	}
}
END_TEST

/* ---- DISABLE, UNREAD, LOG ------------------------------------------------ */

START_TEST(disable_takes_0_or_1)
{
	struct hc_config c;
	char err[256];
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_DISABLE", "1", err, sizeof err), 0);
	ck_assert(c.disabled);
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_DISABLE", "0", err, sizeof err), 0);
	ck_assert(!c.disabled);
}
END_TEST

START_TEST(disable_rejects_anything_but_0_or_1)
{
	static const char *bad[] = { "2", "yes", "true", "on", "", "-1", "1x" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, "HALFCLOSE_DISABLE", bad[k], err, sizeof err) == -1,
			      "HALFCLOSE_DISABLE=\"%s\" accepted", bad[k]);
		assert_error_names(err, "HALFCLOSE_DISABLE", bad[k]);
	}
}
END_TEST

START_TEST(unread_takes_keep_or_discard)
{
	struct hc_config c;
	char err[256];
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_UNREAD", "discard", err, sizeof err), 0);
	ck_assert_int_eq(c.unread, HC_UNREAD_DISCARD);
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_UNREAD", "keep", err, sizeof err), 0);
	ck_assert_int_eq(c.unread, HC_UNREAD_KEEP);
}
END_TEST

START_TEST(unread_rejects_other_words_and_lists_the_choices)
{
	static const char *bad[] = { "drop", "", "keepx", "1" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, "HALFCLOSE_UNREAD", bad[k], err, sizeof err) == -1,
			      "HALFCLOSE_UNREAD=\"%s\" accepted", bad[k]);
		assert_error_names(err, "HALFCLOSE_UNREAD", bad[k]);
		ck_assert_msg(strstr(err, "keep") && strstr(err, "discard"), "error \"%s\" lacks the choices", err);
	}
}
END_TEST

START_TEST(heal_takes_all_or_known)
{
	struct hc_config c;
	char err[256];
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_HEAL", "known", err, sizeof err), 0);
	ck_assert_int_eq(c.heal, HC_HEAL_KNOWN);
	ck_assert_int_eq(parse_one(&c, "HALFCLOSE_HEAL", "all", err, sizeof err), 0);
	ck_assert_int_eq(c.heal, HC_HEAL_ALL);
}
END_TEST

START_TEST(heal_rejects_other_words_and_lists_the_choices)
{
	static const char *bad[] = { "none", "", "ALL", "known,all" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, "HALFCLOSE_HEAL", bad[k], err, sizeof err) == -1,
			      "HALFCLOSE_HEAL=\"%s\" accepted", bad[k]);
		assert_error_names(err, "HALFCLOSE_HEAL", bad[k]);
		ck_assert_msg(strstr(err, "all") && strstr(err, "known"), "error \"%s\" lacks the choices", err);
	}
}
END_TEST

/* DESIGN.md, "Probe": PROBE_AFTER_MS follows MIN_IDLE_MS unless it is set,
 * in either order, and an explicit 0 stays 0. */
START_TEST(probe_after_follows_min_idle_unless_set)
{
	struct hc_config c;
	char err[256];

	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_MIN_IDLE_MS=900"), 0);
	ck_assert_uint_eq(c.probe_after_ms, 900);
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_MIN_IDLE_MS=0"), 0);
	ck_assert_uint_eq(c.probe_after_ms, 0);
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_PROBE_AFTER_MS=0", "HALFCLOSE_MIN_IDLE_MS=900"), 0);
	ck_assert_uint_eq(c.probe_after_ms, 0);
	ck_assert_uint_eq(c.min_idle_ms, 900);
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_MIN_IDLE_MS=900", "HALFCLOSE_PROBE_AFTER_MS=30"), 0);
	ck_assert_uint_eq(c.probe_after_ms, 30);
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_RETRIES=3"), 0);
	ck_assert_uint_eq(c.probe_after_ms, 250);
}
END_TEST

START_TEST(log_takes_each_level_word)
{
	static const struct {
		const char *word;
		enum hc_log_level level;
	} levels[] = { { "off", HC_LOG_OFF },   { "error", HC_LOG_ERROR }, { "warn", HC_LOG_WARN },
		       { "info", HC_LOG_INFO }, { "debug", HC_LOG_DEBUG } };
	for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, "HALFCLOSE_LOG", levels[k].word, err, sizeof err) == 0, "%s: %s",
			      levels[k].word, err);
		ck_assert_int_eq(c.log_level, levels[k].level);
	}
}
END_TEST

START_TEST(log_rejects_other_words_and_lists_the_levels)
{
	static const char *bad[] = { "verbose", "", "3", "warning", "trace" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, "HALFCLOSE_LOG", bad[k], err, sizeof err) == -1,
			      "HALFCLOSE_LOG=\"%s\" accepted", bad[k]);
		assert_error_names(err, "HALFCLOSE_LOG", bad[k]);
		ck_assert_msg(strstr(err, "off") && strstr(err, "error") && strstr(err, "warn") &&
				      strstr(err, "info") && strstr(err, "debug"),
			      "error \"%s\" lacks the levels", err);
	}
}
END_TEST

/* ---- LOG_FILE, STATS ------------------------------------------------------ */

START_TEST(log_file_and_stats_take_a_path)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_LOG_FILE=/tmp/hc.log", "HALFCLOSE_STATS=/tmp/hc.stats"), 0);
	ck_assert_str_eq(c.log_file, "/tmp/hc.log");
	ck_assert_str_eq(c.stats_file, "/tmp/hc.stats");
}
END_TEST

START_TEST(stats_dash_means_stderr)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_STATS=-"), 0);
	ck_assert_str_eq(c.stats_file, "-");
}
END_TEST

START_TEST(empty_log_file_and_stats_mean_unset)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_LOG_FILE=", "HALFCLOSE_STATS="), 0);
	ck_assert_str_eq(c.log_file, "");
	ck_assert_str_eq(c.stats_file, "");
}
END_TEST

START_TEST(a_path_longer_than_path_max_is_rejected)
{
	static char longpath[PATH_MAX + 16];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	static const char *names[] = { "HALFCLOSE_LOG_FILE", "HALFCLOSE_STATS" };
	for (size_t k = 0; k < 2; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_msg(parse_one(&c, names[k], longpath, err, sizeof err) == -1, "%s accepted %zu bytes",
			      names[k], strlen(longpath));
		ck_assert_msg(strstr(err, names[k]) != NULL, "error \"%s\" does not name %s", err, names[k]);
	}
}
END_TEST

START_TEST(stats_dir_takes_an_absolute_directory)
{
	struct hc_config c;
	char err[512] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_STATS_DIR=/run/halfclose"), 0);
	ck_assert_str_eq(c.stats_dir, "/run/halfclose");
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_STATS_DIR="), 0);
	ck_assert_str_eq(c.stats_dir, "");
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_STATS_DIR=run/halfclose"), -1);
	ck_assert_str_eq(err, "HALFCLOSE_STATS_DIR=\"run/halfclose\": expected an absolute directory path");
}
END_TEST

START_TEST(unknown_name_message_lists_every_variable_of_the_table)
{
	struct hc_config c;
	char err[512] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_STATSDIR=/x"), -1);
	ck_assert_str_eq(err, "unknown variable HALFCLOSE_STATSDIR=\"/x\": expected one of HALFCLOSE_DISABLE, TARGETS, "
			      "EXCLUDE, PROBE_AFTER_MS, MIN_IDLE_MS, WRITE_GAP_MS, MAX_IDLE_MS, CONNECT_TIMEOUT_MS, "
			      "NONBLOCK_CONNECT_MS, RETRIES, REPLAY, REPLAY_MAX, REPLAY_WAIT_MS, UNREAD, HEAL, SESSION_MAX, LOG, LOG_FILE, STATS, "
			      "STATS_DIR");
}
END_TEST

/* ---- unknown names, the error line ------------------------------------------ */

START_TEST(unknown_halfclose_variable_is_an_error_naming_it)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "PATH=/bin", "HALFCLOSE_FOO=1"), -1);
	ck_assert_msg(strstr(err, "HALFCLOSE_FOO") != NULL, "error \"%s\" does not name HALFCLOSE_FOO", err);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(a_typo_in_a_known_name_is_reported)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_TARGET=127.0.0.1"), -1);
	ck_assert_msg(strstr(err, "HALFCLOSE_TARGET") != NULL, "error \"%s\"", err);
}
END_TEST

START_TEST(the_first_bad_variable_is_the_one_reported)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_RETRIES=3", "HALFCLOSE_LOG=loud", "HALFCLOSE_UNREAD=drop"), -1);
	ck_assert_msg(strstr(err, "HALFCLOSE_LOG") && strstr(err, "loud"), "error \"%s\"", err);
	ck_assert_msg(strstr(err, "HALFCLOSE_UNREAD") == NULL, "error \"%s\" names the second bad one", err);
}
END_TEST

START_TEST(error_message_is_truncated_to_errlen)
{
	struct hc_config c;
	char buf[64];
	memset(buf, '#', sizeof buf);
	char *const envp[] = { "HALFCLOSE_CONNECT_TIMEOUT_MS=not-a-number-at-all-and-quite-long", NULL };
	ck_assert_int_eq(hc_config_parse(&c, envp, buf, 16), -1);
	ck_assert_msg(memchr(buf, '\0', 16) != NULL, "no terminating NUL within errlen");
	for (size_t k = 16; k < sizeof buf; k++)
		ck_assert_msg(buf[k] == '#', "byte %zu past errlen written", k);
}
END_TEST

/* Found by the fuzzer (tests/fuzz): an environment value may hold any byte but
 * NUL, and a newline or an escape in it went into the message as it was. */
static const struct {
	const char *entry, *shown;
} control_cases[] = {
	{ "HALFCLOSE_LOG=warn\nHALFCLOSE_FAKE=1", "HALFCLOSE_LOG=\"warn?HALFCLOSE_FAKE=1\"" },
	{ "HALFCLOSE_TARGETS=127.0.0.1\n", "bad entry \"127.0.0.1?\"" },
	{ "HALFCLOSE_A\r\nB=1", "unknown variable HALFCLOSE_A??B=\"1\"" },
	{ "HALFCLOSE_UNREAD=\x1b[2Jkeep", "HALFCLOSE_UNREAD=\"?[2Jkeep\"" },
};
#define N_CONTROL_CASES (int)(sizeof(control_cases) / sizeof(control_cases[0]))

START_TEST(control_characters_in_a_bad_setting_are_shown_as_question_marks)
{
	struct hc_config c;
	char err[512] = "";
	char *const envp[] = { (char *)control_cases[_i].entry, NULL };
	ck_assert_int_eq(hc_config_parse(&c, envp, err, sizeof err), -1);
	for (const char *p = err; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "control character 0x%02x in \"%s\"",
			      (unsigned char)*p, err);
	ck_assert_msg(strstr(err, control_cases[_i].shown) != NULL, "error \"%s\" lacks %s", err,
		      control_cases[_i].shown);
}
END_TEST

START_TEST(every_variable_of_the_design_is_known)
{
	struct hc_config c;
	char err[256] = "";
	int r = PARSE(&c, err, "HALFCLOSE_DISABLE=0", "HALFCLOSE_TARGETS=127.0.0.1", "HALFCLOSE_EXCLUDE=127.0.0.2",
		      "HALFCLOSE_PROBE_AFTER_MS=10", "HALFCLOSE_MIN_IDLE_MS=20", "HALFCLOSE_WRITE_GAP_MS=30",
		      "HALFCLOSE_MAX_IDLE_MS=40", "HALFCLOSE_CONNECT_TIMEOUT_MS=50", "HALFCLOSE_RETRIES=6",
		      "HALFCLOSE_UNREAD=discard", "HALFCLOSE_LOG=debug", "HALFCLOSE_LOG_FILE=/tmp/l",
		      "HALFCLOSE_STATS=/tmp/s");
	ck_assert_msg(r == 0, "rejected: %s", err);
	ck_assert(!c.disabled);
	ck_assert_uint_eq(c.targets.n, 1);
	ck_assert_uint_eq(c.exclude.n, 1);
	ck_assert_uint_eq(c.probe_after_ms, 10);
	ck_assert_uint_eq(c.min_idle_ms, 20);
	ck_assert_uint_eq(c.write_gap_ms, 30);
	ck_assert_uint_eq(c.max_idle_ms, 40);
	ck_assert_uint_eq(c.connect_timeout_ms, 50);
	ck_assert_uint_eq(c.retries, 6);
	ck_assert_int_eq(c.unread, HC_UNREAD_DISCARD);
	ck_assert_int_eq(c.log_level, HC_LOG_DEBUG);
	ck_assert_str_eq(c.log_file, "/tmp/l");
	ck_assert_str_eq(c.stats_file, "/tmp/s");
}
END_TEST

START_TEST(empty_targets_and_exclude_are_valid_and_empty)
{
	struct hc_config c;
	char err[256] = "";
	ck_assert_int_eq(PARSE(&c, err, "HALFCLOSE_TARGETS=", "HALFCLOSE_EXCLUDE="), 0);
	ck_assert_uint_eq(c.targets.n, 0);
	ck_assert_uint_eq(c.exclude.n, 0);
}
END_TEST

START_TEST(bad_targets_name_the_variable_and_the_entry)
{
	static const char *names[] = { "HALFCLOSE_TARGETS", "HALFCLOSE_EXCLUDE" };
	for (size_t k = 0; k < 2; k++) {
		struct hc_config c;
		char err[256];
		ck_assert_int_eq(parse_one(&c, names[k], "127.0.0.1,300.1.2.3", err, sizeof err), -1);
		ck_assert_msg(strstr(err, names[k]) && strstr(err, "300.1.2.3"), "error \"%s\"", err);
	}
}
END_TEST

/* ---- target syntax ------------------------------------------------------- */

static void assert_target(const struct hc_target *t, int family, const char *ip, unsigned prefix, unsigned port)
{
	unsigned char want[16] = { 0 };
	ck_assert_int_eq(inet_pton(family, ip, want), 1);
	ck_assert_int_eq(t->family, family);
	ck_assert_mem_eq(t->addr, want, family == AF_INET ? 4 : 16);
	ck_assert_uint_eq(t->prefix, prefix);
	ck_assert_uint_eq(t->port, port);
}

START_TEST(ipv4_address_alone_means_that_host_any_port)
{
	struct hc_target_list l = targets("127.0.0.1");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET, "127.0.0.1", 32, 0);
}
END_TEST

START_TEST(ipv4_address_with_port)
{
	struct hc_target_list l = targets("127.0.0.1:6379");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET, "127.0.0.1", 32, 6379);
}
END_TEST

START_TEST(ipv4_prefix_with_and_without_port)
{
	struct hc_target_list l = targets("10.0.0.0/8");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET, "10.0.0.0", 8, 0);
	l = targets("10.0.0.0/8:80");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET, "10.0.0.0", 8, 80);
}
END_TEST

START_TEST(ipv6_in_brackets_with_and_without_port)
{
	struct hc_target_list l = targets("[::1]");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET6, "::1", 128, 0);
	l = targets("[::1]:6379");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET6, "::1", 128, 6379);
}
END_TEST

START_TEST(ipv6_prefix_with_and_without_port)
{
	struct hc_target_list l = targets("[fd00::]/8");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET6, "fd00::", 8, 0);
	l = targets("[fd00::]/8:443");
	ck_assert_uint_eq(l.n, 1);
	assert_target(&l.t[0], AF_INET6, "fd00::", 8, 443);
}
END_TEST

START_TEST(comma_list_keeps_every_entry_in_order)
{
	struct hc_target_list l = targets("127.0.0.1:6379,10.0.0.0/8,[::1]:11211,[fd00::]/8:443");
	ck_assert_uint_eq(l.n, 4);
	assert_target(&l.t[0], AF_INET, "127.0.0.1", 32, 6379);
	assert_target(&l.t[1], AF_INET, "10.0.0.0", 8, 0);
	assert_target(&l.t[2], AF_INET6, "::1", 128, 11211);
	assert_target(&l.t[3], AF_INET6, "fd00::", 8, 443);
}
END_TEST

START_TEST(spaces_around_entries_are_ignored)
{
	struct hc_target_list l = targets(" 127.0.0.1 , [::1]:6379,10.0.0.0/8 ");
	ck_assert_uint_eq(l.n, 3);
	assert_target(&l.t[0], AF_INET, "127.0.0.1", 32, 0);
	assert_target(&l.t[1], AF_INET6, "::1", 128, 6379);
	assert_target(&l.t[2], AF_INET, "10.0.0.0", 8, 0);
}
END_TEST

START_TEST(edge_prefixes_and_ports_are_accepted)
{
	struct hc_target_list l = targets("0.0.0.0/0,1.2.3.4/32,[::]/0,[::1]/128,1.2.3.4:1,1.2.3.4:65535");
	ck_assert_uint_eq(l.n, 6);
	ck_assert_uint_eq(l.t[0].prefix, 0);
	ck_assert_uint_eq(l.t[1].prefix, 32);
	ck_assert_uint_eq(l.t[2].prefix, 0);
	ck_assert_uint_eq(l.t[3].prefix, 128);
	ck_assert_uint_eq(l.t[4].port, 1);
	ck_assert_uint_eq(l.t[5].port, 65535);
}
END_TEST

START_TEST(empty_text_is_an_empty_list)
{
	struct hc_target_list l = targets("");
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(invalid_targets_are_rejected_naming_the_entry)
{
	static const char *bad[] = {
		"300.1.2.3",       /* octet out of range */
		"1.2.3",           /* too few octets */
		"1.2.3.4/33",      /* IPv4 prefix too long */
		"1.2.3.4/",        /* prefix missing */
		"1.2.3.4/x",       /* prefix not a number */
		"1.2.3.4/-1",      /* negative prefix */
		"[::1]/129",       /* IPv6 prefix too long */
		"1.2.3.4:0",       /* port 0 */
		"1.2.3.4:70000",   /* port out of range */
		"1.2.3.4:65536",   /* port out of range by one */
		"1.2.3.4:",        /* port missing */
		"1.2.3.4:80x",     /* trailing garbage */
		"1.2.3.4:-1",      /* negative port */
		"::1",             /* IPv6 without brackets */
		"fd00::/8",        /* IPv6 without brackets */
		"[::1",            /* unclosed bracket */
		"[::1]x",          /* garbage after bracket */
		"[1.2.3.4]",       /* IPv4 in brackets */
		"[zz::1]",         /* not an IPv6 address */
		"localhost",       /* names are not resolved */
		"1.2.3.4/8/9",     /* two prefixes */
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_target_list l;
		char err[256] = "";
		memset(&l, 0, sizeof l);
		ck_assert_msg(hc_targets_parse(&l, bad[k], err, sizeof err) == -1, "\"%s\" accepted", bad[k]);
		ck_assert_msg(strstr(err, bad[k]) != NULL, "error \"%s\" does not name \"%s\"", err, bad[k]);
	}
}
END_TEST

START_TEST(empty_entries_in_a_list_are_rejected)
{
	static const char *bad[] = { "127.0.0.1,,10.0.0.1", ",127.0.0.1", "127.0.0.1,", "," };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hc_target_list l;
		char err[256] = "";
		memset(&l, 0, sizeof l);
		ck_assert_msg(hc_targets_parse(&l, bad[k], err, sizeof err) == -1, "\"%s\" accepted", bad[k]);
		ck_assert_msg(err[0] != '\0', "no error message for \"%s\"", bad[k]);
	}
}
END_TEST

START_TEST(the_bad_entry_of_a_list_is_the_one_named)
{
	struct hc_target_list l;
	char err[256] = "";
	ck_assert_int_eq(hc_targets_parse(&l, "127.0.0.1:6379,[::1]/200,10.0.0.0/8", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "[::1]/200") != NULL, "error \"%s\"", err);
}
END_TEST

static void list_of(char *buf, size_t len, unsigned n)
{
	buf[0] = '\0';
	for (unsigned k = 0; k < n; k++) {
		char one[32];
		snprintf(one, sizeof one, "%s10.0.0.%u", k ? "," : "", k + 1);
		strncat(buf, one, len - strlen(buf) - 1);
	}
}

START_TEST(a_list_holds_up_to_hc_max_targets_entries)
{
	char text[32 * (HC_MAX_TARGETS + 1)];
	list_of(text, sizeof text, HC_MAX_TARGETS);
	struct hc_target_list l = targets(text);
	ck_assert_uint_eq(l.n, HC_MAX_TARGETS);
	assert_target(&l.t[HC_MAX_TARGETS - 1], AF_INET, "10.0.0.32", 32, 0);
}
END_TEST

START_TEST(one_entry_more_than_hc_max_targets_is_an_error)
{
	char text[32 * (HC_MAX_TARGETS + 1)];
	list_of(text, sizeof text, HC_MAX_TARGETS + 1);
	struct hc_target_list l;
	char err[256] = "";
	ck_assert_int_eq(hc_targets_parse(&l, text, err, sizeof err), -1);
	ck_assert_msg(err[0] != '\0', "no error message");
}
END_TEST

/* ---- matching ------------------------------------------------------------- */

START_TEST(ipv4_prefix_matches_inside_and_not_at_its_boundaries)
{
	struct hc_target_list l = targets("10.0.0.0/8");
	ck_assert(hc_targets_match(&l, v4("10.0.0.0", 80)));
	ck_assert(hc_targets_match(&l, v4("10.255.255.255", 80)));
	ck_assert(!hc_targets_match(&l, v4("9.255.255.255", 80)));
	ck_assert(!hc_targets_match(&l, v4("11.0.0.0", 80)));
}
END_TEST

START_TEST(ipv4_prefix_not_on_a_byte_boundary)
{
	struct hc_target_list l = targets("192.168.0.0/23");
	ck_assert(hc_targets_match(&l, v4("192.168.0.0", 1)));
	ck_assert(hc_targets_match(&l, v4("192.168.1.255", 1)));
	ck_assert(!hc_targets_match(&l, v4("192.168.2.0", 1)));
	ck_assert(!hc_targets_match(&l, v4("192.167.255.255", 1)));
}
END_TEST

START_TEST(address_without_prefix_matches_that_host_only)
{
	struct hc_target_list l = targets("127.0.0.1");
	ck_assert(hc_targets_match(&l, v4("127.0.0.1", 6379)));
	ck_assert(hc_targets_match(&l, v4("127.0.0.1", 1)));
	ck_assert(!hc_targets_match(&l, v4("127.0.0.2", 6379)));
	ck_assert(!hc_targets_match(&l, v4("127.0.0.0", 6379)));
}
END_TEST

START_TEST(prefix_zero_matches_every_ipv4_address)
{
	struct hc_target_list l = targets("0.0.0.0/0");
	ck_assert(hc_targets_match(&l, v4("0.0.0.0", 1)));
	ck_assert(hc_targets_match(&l, v4("255.255.255.255", 1)));
	ck_assert(hc_targets_match(&l, v4("127.0.0.1", 6379)));
}
END_TEST

START_TEST(port_must_match_when_given)
{
	struct hc_target_list l = targets("127.0.0.1:6379,10.0.0.0/8:80");
	ck_assert(hc_targets_match(&l, v4("127.0.0.1", 6379)));
	ck_assert(!hc_targets_match(&l, v4("127.0.0.1", 6380)));
	ck_assert(hc_targets_match(&l, v4("10.1.2.3", 80)));
	ck_assert(!hc_targets_match(&l, v4("10.1.2.3", 8080)));
	ck_assert(!hc_targets_match(&l, v4("10.1.2.3", 6379)));
}
END_TEST

START_TEST(ipv6_host_and_prefix_match)
{
	struct hc_target_list l = targets("[::1]:6379,[fd00::]/8");
	ck_assert(hc_targets_match(&l, v6("::1", 6379)));
	ck_assert(!hc_targets_match(&l, v6("::1", 6380)));
	ck_assert(!hc_targets_match(&l, v6("::2", 6379)));
	ck_assert(hc_targets_match(&l, v6("fd00::1", 1)));
	ck_assert(hc_targets_match(&l, v6("fdff:ffff::1", 1)));
	ck_assert(!hc_targets_match(&l, v6("fc00::1", 1)));
	ck_assert(!hc_targets_match(&l, v6("fe80::1", 1)));
}
END_TEST

START_TEST(ipv6_prefix_not_on_a_byte_boundary)
{
	struct hc_target_list l = targets("[2001:db8::]/33");
	ck_assert(hc_targets_match(&l, v6("2001:db8::1", 1)));
	ck_assert(hc_targets_match(&l, v6("2001:db8:7fff:ffff::1", 1)));
	ck_assert(!hc_targets_match(&l, v6("2001:db8:8000::", 1)));
	ck_assert(!hc_targets_match(&l, v6("2001:db9::", 1)));
}
END_TEST

START_TEST(families_do_not_match_each_other)
{
	struct hc_target_list l4 = targets("127.0.0.1");
	struct hc_target_list l6 = targets("[::1]");
	ck_assert(!hc_targets_match(&l4, v6("::1", 1)));
	ck_assert(!hc_targets_match(&l6, v4("127.0.0.1", 1)));
}
END_TEST

START_TEST(ipv4_mapped_ipv6_peer_matches_an_ipv4_entry)
{
	struct hc_target_list l = targets("127.0.0.1:6379");
	ck_assert(hc_targets_match(&l, v6("::ffff:127.0.0.1", 6379)));
	ck_assert(!hc_targets_match(&l, v6("::ffff:127.0.0.1", 6380)));
	ck_assert(!hc_targets_match(&l, v6("::ffff:127.0.0.2", 6379)));
	struct hc_target_list net = targets("10.0.0.0/8");
	ck_assert(hc_targets_match(&net, v6("::ffff:10.9.8.7", 1)));
	ck_assert(!hc_targets_match(&net, v6("::ffff:11.0.0.0", 1)));
}
END_TEST

/* Found by the fuzzer (tests/fuzz): an entry in IPv4-mapped form matched nothing,
 * not even the address it names, because mapped peers were compared as IPv4 only. */
START_TEST(ipv4_mapped_ipv6_entry_matches_the_address_it_names)
{
	struct hc_target_list l = targets("[::ffff:127.0.0.1]:6379");
	ck_assert(hc_targets_match(&l, v6("::ffff:127.0.0.1", 6379)));
	ck_assert(!hc_targets_match(&l, v6("::ffff:127.0.0.1", 6380)));
	ck_assert(!hc_targets_match(&l, v6("::ffff:127.0.0.2", 6379)));
	struct hc_target_list mapped = targets("[::ffff:0:0]/96");
	ck_assert(hc_targets_match(&mapped, v6("::ffff:10.9.8.7", 1)));
	ck_assert(!hc_targets_match(&mapped, v6("::1", 1)));
}
END_TEST

START_TEST(empty_list_matches_nothing)
{
	struct hc_target_list l = targets("");
	ck_assert(!hc_targets_match(&l, v4("127.0.0.1", 1)));
	ck_assert(!hc_targets_match(&l, v6("::1", 1)));
}
END_TEST

START_TEST(non_inet_address_matches_nothing)
{
	struct hc_target_list l = targets("0.0.0.0/0,[::]/0");
	struct sockaddr_un un;
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/tmp/sock");
	ck_assert(!hc_targets_match(&l, (const struct sockaddr *)&un));
}
END_TEST

static struct hc_config config_of(const char *targets_text, const char *exclude_text)
{
	struct hc_config c;
	char t[512], e[512], err[256] = "";
	snprintf(t, sizeof t, "HALFCLOSE_TARGETS=%s", targets_text);
	snprintf(e, sizeof e, "HALFCLOSE_EXCLUDE=%s", exclude_text);
	char *const envp[] = { t, e, NULL };
	ck_assert_msg(hc_config_parse(&c, envp, err, sizeof err) == 0, "rejected: %s", err);
	return c;
}

START_TEST(empty_targets_manage_every_tcp_peer)
{
	struct hc_config c;
	hc_config_defaults(&c);
	ck_assert(hc_config_manages(&c, v4("127.0.0.1", 6379)));
	ck_assert(hc_config_manages(&c, v4("203.0.113.9", 443)));
	ck_assert(hc_config_manages(&c, v6("::1", 80)));
	ck_assert(hc_config_manages(&c, v6("::ffff:127.0.0.1", 80)));
}
END_TEST

START_TEST(targets_limit_what_is_managed)
{
	struct hc_config c = config_of("127.0.0.1:6379,[::1]", "");
	ck_assert(hc_config_manages(&c, v4("127.0.0.1", 6379)));
	ck_assert(!hc_config_manages(&c, v4("127.0.0.1", 6380)));
	ck_assert(!hc_config_manages(&c, v4("127.0.0.2", 6379)));
	ck_assert(hc_config_manages(&c, v6("::1", 5432)));
	ck_assert(hc_config_manages(&c, v6("::ffff:127.0.0.1", 6379)));
}
END_TEST

START_TEST(exclude_alone_removes_from_everything)
{
	struct hc_config c = config_of("", "127.0.0.1:6379");
	ck_assert(!hc_config_manages(&c, v4("127.0.0.1", 6379)));
	ck_assert(!hc_config_manages(&c, v6("::ffff:127.0.0.1", 6379)));
	ck_assert(hc_config_manages(&c, v4("127.0.0.1", 6380)));
	ck_assert(hc_config_manages(&c, v6("::1", 6379)));
}
END_TEST

START_TEST(exclude_wins_over_targets)
{
	struct hc_config c = config_of("127.0.0.0/8", "127.0.0.1:6379,127.0.0.2");
	ck_assert(!hc_config_manages(&c, v4("127.0.0.1", 6379)));
	ck_assert(!hc_config_manages(&c, v4("127.0.0.2", 80)));
	ck_assert(hc_config_manages(&c, v4("127.0.0.1", 80)));
	ck_assert(hc_config_manages(&c, v4("127.0.0.3", 6379)));
	ck_assert(!hc_config_manages(&c, v4("10.0.0.1", 80)));
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");

	TCase *tc = tcase_create("defaults");
	tcase_add_test(tc, defaults_match_the_design_table);
	tcase_add_test(tc, empty_environment_gives_the_defaults);
	tcase_add_test(tc, non_halfclose_variables_are_ignored);
	tcase_add_test(tc, parse_starts_from_the_defaults_whatever_cfg_held);
	suite_add_tcase(s, tc);

	tc = tcase_create("variables");
	tcase_add_loop_test(tc, every_numeric_variable_takes_a_decimal_value, 0, N_NUMERIC);
	tcase_add_loop_test(tc, every_numeric_variable_rejects_garbage_naming_variable_and_value, 0, N_NUMERIC);
	tcase_add_loop_test(tc, every_numeric_variable_takes_both_ends_of_its_range, 0, N_NUMERIC);
	tcase_add_loop_test(tc, every_numeric_variable_rejects_values_out_of_its_range, 0, N_NUMERIC);
	tcase_add_test(tc, disable_takes_0_or_1);
	tcase_add_test(tc, disable_rejects_anything_but_0_or_1);
	tcase_add_test(tc, unread_takes_keep_or_discard);
	tcase_add_test(tc, unread_rejects_other_words_and_lists_the_choices);
	tcase_add_test(tc, heal_takes_all_or_known);
	tcase_add_test(tc, heal_rejects_other_words_and_lists_the_choices);
	tcase_add_test(tc, probe_after_follows_min_idle_unless_set);
	tcase_add_test(tc, log_takes_each_level_word);
	tcase_add_test(tc, log_rejects_other_words_and_lists_the_levels);
	tcase_add_test(tc, log_file_and_stats_take_a_path);
	tcase_add_test(tc, stats_dash_means_stderr);
	tcase_add_test(tc, empty_log_file_and_stats_mean_unset);
	tcase_add_test(tc, a_path_longer_than_path_max_is_rejected);
	tcase_add_test(tc, stats_dir_takes_an_absolute_directory);
	tcase_add_test(tc, unknown_name_message_lists_every_variable_of_the_table);
	tcase_add_test(tc, unknown_halfclose_variable_is_an_error_naming_it);
	tcase_add_test(tc, a_typo_in_a_known_name_is_reported);
	tcase_add_test(tc, the_first_bad_variable_is_the_one_reported);
	tcase_add_test(tc, error_message_is_truncated_to_errlen);
	tcase_add_loop_test(tc, control_characters_in_a_bad_setting_are_shown_as_question_marks, 0, N_CONTROL_CASES);
	tcase_add_test(tc, every_variable_of_the_design_is_known);
	tcase_add_test(tc, empty_targets_and_exclude_are_valid_and_empty);
	tcase_add_test(tc, bad_targets_name_the_variable_and_the_entry);
	suite_add_tcase(s, tc);

	tc = tcase_create("target syntax");
	tcase_add_test(tc, ipv4_address_alone_means_that_host_any_port);
	tcase_add_test(tc, ipv4_address_with_port);
	tcase_add_test(tc, ipv4_prefix_with_and_without_port);
	tcase_add_test(tc, ipv6_in_brackets_with_and_without_port);
	tcase_add_test(tc, ipv6_prefix_with_and_without_port);
	tcase_add_test(tc, comma_list_keeps_every_entry_in_order);
	tcase_add_test(tc, spaces_around_entries_are_ignored);
	tcase_add_test(tc, edge_prefixes_and_ports_are_accepted);
	tcase_add_test(tc, empty_text_is_an_empty_list);
	tcase_add_test(tc, invalid_targets_are_rejected_naming_the_entry);
	tcase_add_test(tc, empty_entries_in_a_list_are_rejected);
	tcase_add_test(tc, the_bad_entry_of_a_list_is_the_one_named);
	tcase_add_test(tc, a_list_holds_up_to_hc_max_targets_entries);
	tcase_add_test(tc, one_entry_more_than_hc_max_targets_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("matching");
	tcase_add_test(tc, ipv4_prefix_matches_inside_and_not_at_its_boundaries);
	tcase_add_test(tc, ipv4_prefix_not_on_a_byte_boundary);
	tcase_add_test(tc, address_without_prefix_matches_that_host_only);
	tcase_add_test(tc, prefix_zero_matches_every_ipv4_address);
	tcase_add_test(tc, port_must_match_when_given);
	tcase_add_test(tc, ipv6_host_and_prefix_match);
	tcase_add_test(tc, ipv6_prefix_not_on_a_byte_boundary);
	tcase_add_test(tc, families_do_not_match_each_other);
	tcase_add_test(tc, ipv4_mapped_ipv6_peer_matches_an_ipv4_entry);
	tcase_add_test(tc, ipv4_mapped_ipv6_entry_matches_the_address_it_names);
	tcase_add_test(tc, empty_list_matches_nothing);
	tcase_add_test(tc, non_inet_address_matches_nothing);
	tcase_add_test(tc, empty_targets_manage_every_tcp_peer);
	tcase_add_test(tc, targets_limit_what_is_managed);
	tcase_add_test(tc, exclude_alone_removes_from_everything);
	tcase_add_test(tc, exclude_wins_over_targets);
	suite_add_tcase(s, tc);

	return s;
}
