/* test_config.c - the HALFCLOSE_* environment as tables of cases: what each
 * environment gives (settings, or the one error line), target syntax, matching. */
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

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- reading a configuration as text ------------------------------------- */

/* Every field of struct hc_config, by name, and how its value reads. */
enum kind { FLAG, U32, LIST, UNREAD, HEAL, REPLAY, LEVEL, PATH };
static const struct field {
	const char *name;
	enum kind kind;
	size_t off;
} fields[] = {
#define FIELD(name, kind) { #name, kind, offsetof(struct hc_config, name) }
	FIELD(disabled, FLAG),         FIELD(targets, LIST),           FIELD(exclude, LIST),
	FIELD(probe_after_ms, U32),    FIELD(min_idle_ms, U32),        FIELD(write_gap_ms, U32),
	FIELD(max_idle_ms, U32),       FIELD(connect_timeout_ms, U32), FIELD(nonblock_connect_ms, U32),
	FIELD(retries, U32),           FIELD(replay, REPLAY),          FIELD(replay_max, U32),
	FIELD(replay_wait_ms, U32),    FIELD(session_max, U32),        FIELD(unread, UNREAD),
	FIELD(heal, HEAL),
	FIELD(log_level, LEVEL),       FIELD(log_file, PATH),          FIELD(stats_file, PATH),
	FIELD(stats_dir, PATH),
#undef FIELD
};

/* The settings of DESIGN.md's table. */
#define DEFAULTS                                                                                          \
	"disabled=0 targets= exclude= probe_after_ms=250 min_idle_ms=250 write_gap_ms=1000 max_idle_ms=0 " \
	"connect_timeout_ms=2000 nonblock_connect_ms=100 retries=2 replay=safe replay_max=65536 "         \
	"replay_wait_ms=200 "                                                                             \
	"session_max=4096 unread=keep heal=all log_level=warn log_file= stats_file= stats_dir="

/* An entry as it is written: 127.0.0.1/32:6379, [fd00::]/8:* (* = any port). */
static void target_text(const struct hc_target *t, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(t->family, t->addr, ip, sizeof ip);
	char port[16] = "*";
	if (t->port != 0)
		snprintf(port, sizeof port, "%u", t->port);
	snprintf(buf, len, t->family == AF_INET6 ? "[%s]/%u:%s" : "%s/%u:%s", ip, t->prefix, port);
}

/* The entries, comma-separated. */
static void list_text(const struct hc_target_list *l, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned k = 0; k < l->n && k < HC_MAX_TARGETS; k++) {
		char one[96];
		target_text(&l->t[k], one, sizeof one);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", k ? "," : "", one);
	}
}

/* The value of field f of c as the tables write it. */
static void value_text(const struct hc_config *c, const struct field *f, char *buf, size_t len)
{
	static const char *const words[][5] = { [UNREAD] = { "keep", "discard" }, [HEAL] = { "all", "known" },
						[REPLAY] = { "safe", "all", "off" },
						[LEVEL] = { "off", "error", "warn", "info", "debug" } };
	const void *p = (const char *)c + f->off;
	if (f->kind == LIST) {
		list_text(p, buf, len);
	} else if (f->kind == PATH) {
		snprintf(buf, len, "%s", (const char *)p);
	} else if (f->kind == FLAG) {
		snprintf(buf, len, "%d", *(const bool *)p ? 1 : 0);
	} else if (f->kind == U32) {
		snprintf(buf, len, "%u", *(const uint32_t *)p);
	} else { /* an enum: its word */
		unsigned e = *(const unsigned *)p;
		snprintf(buf, len, "%s", e < 5 && words[f->kind][e] != NULL ? words[f->kind][e] : "?");
	}
}

/* Every "field=value" of want (space-separated) holds in c. */
static void assert_fields(const struct hc_config *c, const char *want, const char *what)
{
	char copy[2048], *save = NULL;
	snprintf(copy, sizeof copy, "%s", want);
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');
		ck_assert_msg(eq != NULL, "%s: bad expectation %s", what, w);
		*eq = '\0';
		const struct field *f = NULL;
		for (int k = 0; k < N_OF(fields); k++)
			if (strcmp(fields[k].name, w) == 0)
				f = &fields[k];
		ck_assert_msg(f != NULL, "%s: no field %s", what, w);
		char got[PATH_MAX + 64];
		value_text(c, f, got, sizeof got);
		ck_assert_msg(strcmp(got, eq + 1) == 0, "%s: %s=%s, expected %s", what, w, got, eq + 1);
	}
}

/* ---- environments -------------------------------------------------------- */

/* One environment and what hc_config_parse makes of it, starting from a
 * struct full of garbage.  Accepted (fields set): every "field=value" of
 * fields holds.  Refused: -1 and one line of printable characters; with bad
 * (NAME=VALUE) given, the line names NAME, quotes VALUE and says more than
 * that; it holds every string of error and not lacks, and is exact if given. */
struct env_case {
	const char *what;
	const char *env[24];
	const char *fields;
	const char *bad;
	const char *error[6];
	const char *lacks;
	const char *exact;
};

static void assert_refusal(const char *err, const struct env_case *k)
{
	const char *p = err;
	while (*p != '\0' && (unsigned char)*p >= 0x20 && *p != 0x7f)
		p++;
	ck_assert_msg(*p == '\0', "%s: error \"%s\" holds control character 0x%02x", k->what, err,
		      (unsigned char)*p);
	if (k->bad != NULL) {
		const char *eq = strchr(k->bad, '='), *value = eq + 1;
		int nlen = (int)(eq - k->bad);
		ck_assert_msg(memmem(err, strlen(err), k->bad, (size_t)nlen) != NULL, "%s: error \"%s\" does not name %.*s",
			      k->what, err, nlen, k->bad);
		if (value[0] != '\0')
			ck_assert_msg(strstr(err, value) != NULL, "%s: error \"%s\" does not quote the value \"%s\"",
				      k->what, err, value);
		ck_assert_msg(strlen(err) > strlen(k->bad) + 9, "%s: error \"%s\" does not say what is expected", k->what,
			      err);
	}
	for (int i = 0; i < N_OF(k->error) && k->error[i] != NULL; i++)
		ck_assert_msg(strstr(err, k->error[i]) != NULL, "%s: error \"%s\" lacks %s", k->what, err, k->error[i]);
	if (k->lacks != NULL)
		ck_assert_msg(strstr(err, k->lacks) == NULL, "%s: error \"%s\" names %s", k->what, err, k->lacks);
	if (k->exact != NULL)
		ck_assert_str_eq(err, k->exact);
}

static void check_env(const struct env_case *k)
{
	struct hc_config c;
	char err[512] = "";
	memset(&c, 0x5a, sizeof c);
	int r = hc_config_parse(&c, (char *const *)k->env, err, sizeof err);
	if (k->fields != NULL) {
		ck_assert_msg(r == 0, "%s: refused: %s", k->what, err);
		assert_fields(&c, k->fields, k->what);
	} else {
		ck_assert_msg(r == -1, "%s: accepted", k->what);
		assert_refusal(err, k);
	}
}

#define LEVELS { "off", "error", "warn", "info", "debug" }
#define REFUSED_WORD(name, value, ...) \
	{ name " refuses \"" value "\"", { name "=" value }, .bad = name "=" value, .error = __VA_ARGS__ }

static const struct env_case env_cases[] = {
	/* defaults */
	{ "an empty environment gives the defaults", { NULL }, .fields = DEFAULTS },
	{ "variables not named HALFCLOSE_* are ignored",
	  { "PATH=/usr/bin:/bin", "HOME=/root", "MY_HALFCLOSE_LOG=loud", "XHALFCLOSE_RETRIES=many",
	    "LD_PRELOAD=libhalfclose.so", "EMPTY=" },
	  .fields = DEFAULTS },
	{ "a parse starts from the defaults, whatever the struct held", { "HALFCLOSE_RETRIES=5" },
	  .fields = "retries=5 min_idle_ms=250 targets= log_file=" },
	/* DISABLE, UNREAD, HEAL, LOG: words */
	{ "DISABLE=1 turns the library off", { "HALFCLOSE_DISABLE=1" }, .fields = "disabled=1" },
	{ "DISABLE=0 leaves it on", { "HALFCLOSE_DISABLE=0" }, .fields = "disabled=0" },
	REFUSED_WORD("HALFCLOSE_DISABLE", "2", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "yes", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "true", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "on", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "-1", { NULL }),
	REFUSED_WORD("HALFCLOSE_DISABLE", "1x", { NULL }),
	{ "UNREAD takes discard", { "HALFCLOSE_UNREAD=discard" }, .fields = "unread=discard" },
	{ "UNREAD takes keep", { "HALFCLOSE_UNREAD=keep" }, .fields = "unread=keep" },
	REFUSED_WORD("HALFCLOSE_UNREAD", "drop", { "keep", "discard" }),
	REFUSED_WORD("HALFCLOSE_UNREAD", "", { "keep", "discard" }),
	REFUSED_WORD("HALFCLOSE_UNREAD", "keepx", { "keep", "discard" }),
	REFUSED_WORD("HALFCLOSE_UNREAD", "1", { "keep", "discard" }),
	{ "HEAL takes known", { "HALFCLOSE_HEAL=known" }, .fields = "heal=known" },
	{ "HEAL takes all", { "HALFCLOSE_HEAL=all" }, .fields = "heal=all" },
	REFUSED_WORD("HALFCLOSE_HEAL", "none", { "all", "known" }),
	REFUSED_WORD("HALFCLOSE_HEAL", "", { "all", "known" }),
	REFUSED_WORD("HALFCLOSE_HEAL", "ALL", { "all", "known" }),
	REFUSED_WORD("HALFCLOSE_HEAL", "known,all", { "all", "known" }),
	{ "REPLAY takes safe", { "HALFCLOSE_REPLAY=safe" }, .fields = "replay=safe" },
	{ "REPLAY takes all", { "HALFCLOSE_REPLAY=all" }, .fields = "replay=all" },
	{ "REPLAY takes off", { "HALFCLOSE_REPLAY=off" }, .fields = "replay=off" },
	REFUSED_WORD("HALFCLOSE_REPLAY", "ALL", { "safe", "all", "off" }),
	REFUSED_WORD("HALFCLOSE_REPLAY", "", { "safe", "all", "off" }),
	REFUSED_WORD("HALFCLOSE_REPLAY", "1", { "safe", "all", "off" }),
	REFUSED_WORD("HALFCLOSE_REPLAY", "safe,all", { "safe", "all", "off" }),
	{ "LOG takes off", { "HALFCLOSE_LOG=off" }, .fields = "log_level=off" },
	{ "LOG takes error", { "HALFCLOSE_LOG=error" }, .fields = "log_level=error" },
	{ "LOG takes warn", { "HALFCLOSE_LOG=warn" }, .fields = "log_level=warn" },
	{ "LOG takes info", { "HALFCLOSE_LOG=info" }, .fields = "log_level=info" },
	{ "LOG takes debug", { "HALFCLOSE_LOG=debug" }, .fields = "log_level=debug" },
	REFUSED_WORD("HALFCLOSE_LOG", "verbose", LEVELS),
	REFUSED_WORD("HALFCLOSE_LOG", "", LEVELS),
	REFUSED_WORD("HALFCLOSE_LOG", "3", LEVELS),
	REFUSED_WORD("HALFCLOSE_LOG", "warning", LEVELS),
	REFUSED_WORD("HALFCLOSE_LOG", "trace", LEVELS),
	/* DESIGN.md, "Probe": PROBE_AFTER_MS follows MIN_IDLE_MS unless it is set,
	 * in either order, and an explicit 0 stays 0. */
	{ "PROBE_AFTER follows MIN_IDLE", { "HALFCLOSE_MIN_IDLE_MS=900" }, .fields = "probe_after_ms=900 min_idle_ms=900" },
	{ "PROBE_AFTER follows MIN_IDLE to 0", { "HALFCLOSE_MIN_IDLE_MS=0" }, .fields = "probe_after_ms=0" },
	{ "an explicit PROBE_AFTER 0 stays 0", { "HALFCLOSE_PROBE_AFTER_MS=0", "HALFCLOSE_MIN_IDLE_MS=900" },
	  .fields = "probe_after_ms=0 min_idle_ms=900" },
	{ "PROBE_AFTER set after MIN_IDLE wins", { "HALFCLOSE_MIN_IDLE_MS=900", "HALFCLOSE_PROBE_AFTER_MS=30" },
	  .fields = "probe_after_ms=30" },
	{ "PROBE_AFTER without MIN_IDLE is the default", { "HALFCLOSE_RETRIES=3" }, .fields = "probe_after_ms=250" },
	/* LOG_FILE, STATS, STATS_DIR */
	{ "LOG_FILE and STATS take a path", { "HALFCLOSE_LOG_FILE=/tmp/hc.log", "HALFCLOSE_STATS=/tmp/hc.stats" },
	  .fields = "log_file=/tmp/hc.log stats_file=/tmp/hc.stats" },
	{ "STATS - means stderr", { "HALFCLOSE_STATS=-" }, .fields = "stats_file=-" },
	{ "empty LOG_FILE and STATS mean unset", { "HALFCLOSE_LOG_FILE=", "HALFCLOSE_STATS=" },
	  .fields = "log_file= stats_file=" },
	{ "STATS_DIR takes an absolute directory", { "HALFCLOSE_STATS_DIR=/run/halfclose" },
	  .fields = "stats_dir=/run/halfclose" },
	{ "empty STATS_DIR means unset", { "HALFCLOSE_STATS_DIR=" }, .fields = "stats_dir=" },
	{ "STATS_DIR refuses a relative path", { "HALFCLOSE_STATS_DIR=run/halfclose" },
	  .exact = "HALFCLOSE_STATS_DIR=\"run/halfclose\": expected an absolute directory path" },
	/* unknown names */
	{ "the unknown-name message lists every variable of the table", { "HALFCLOSE_STATSDIR=/x" },
	  .exact = "unknown variable HALFCLOSE_STATSDIR=\"/x\": expected one of HALFCLOSE_DISABLE, TARGETS, EXCLUDE, "
		   "PROBE_AFTER_MS, MIN_IDLE_MS, WRITE_GAP_MS, MAX_IDLE_MS, CONNECT_TIMEOUT_MS, NONBLOCK_CONNECT_MS, "
		   "RETRIES, REPLAY, REPLAY_MAX, REPLAY_WAIT_MS, UNREAD, HEAL, SESSION_MAX, LOG, LOG_FILE, STATS, STATS_DIR" },
	{ "an unknown HALFCLOSE_ variable is an error naming it", { "PATH=/bin", "HALFCLOSE_FOO=1" },
	  .error = { "HALFCLOSE_FOO" } },
	{ "a typo in a known name is reported", { "HALFCLOSE_TARGET=127.0.0.1" }, .error = { "HALFCLOSE_TARGET" } },
	{ "the first bad variable is the one reported",
	  { "HALFCLOSE_RETRIES=3", "HALFCLOSE_LOG=loud", "HALFCLOSE_UNREAD=drop" }, .error = { "HALFCLOSE_LOG", "loud" },
	  .lacks = "HALFCLOSE_UNREAD" },
	/* Found by the fuzzer (tests/fuzz): an environment value may hold any byte
	 * but NUL, and a newline or an escape in it went into the message as it
	 * was; it is shown as a question mark. */
	{ "a newline in a value", { "HALFCLOSE_LOG=warn\nHALFCLOSE_FAKE=1" },
	  .error = { "HALFCLOSE_LOG=\"warn?HALFCLOSE_FAKE=1\"" } },
	{ "a newline after a target", { "HALFCLOSE_TARGETS=127.0.0.1\n" }, .error = { "bad entry \"127.0.0.1?\"" } },
	{ "a CR LF in a name", { "HALFCLOSE_A\r\nB=1" }, .error = { "unknown variable HALFCLOSE_A??B=\"1\"" } },
	{ "an escape sequence in a value", { "HALFCLOSE_UNREAD=\x1b[2Jkeep" }, .error = { "HALFCLOSE_UNREAD=\"?[2Jkeep\"" } },
	/* every variable */
	{ "every variable of the design is known",
	  { "HALFCLOSE_DISABLE=0", "HALFCLOSE_TARGETS=127.0.0.1", "HALFCLOSE_EXCLUDE=127.0.0.2",
	    "HALFCLOSE_PROBE_AFTER_MS=10", "HALFCLOSE_MIN_IDLE_MS=20", "HALFCLOSE_WRITE_GAP_MS=30",
	    "HALFCLOSE_MAX_IDLE_MS=40", "HALFCLOSE_CONNECT_TIMEOUT_MS=50", "HALFCLOSE_NONBLOCK_CONNECT_MS=60",
	    "HALFCLOSE_RETRIES=6", "HALFCLOSE_REPLAY=off", "HALFCLOSE_REPLAY_MAX=70", "HALFCLOSE_REPLAY_WAIT_MS=80", "HALFCLOSE_UNREAD=discard",
	    "HALFCLOSE_HEAL=known", "HALFCLOSE_SESSION_MAX=90", "HALFCLOSE_LOG=debug", "HALFCLOSE_LOG_FILE=/tmp/l",
	    "HALFCLOSE_STATS=/tmp/s", "HALFCLOSE_STATS_DIR=/run/hc" },
	  .fields = "disabled=0 targets=127.0.0.1/32:* exclude=127.0.0.2/32:* probe_after_ms=10 min_idle_ms=20 "
	  "write_gap_ms=30 max_idle_ms=40 connect_timeout_ms=50 nonblock_connect_ms=60 retries=6 replay=off replay_max=70 "
	  "replay_wait_ms=80 unread=discard heal=known session_max=90 log_level=debug log_file=/tmp/l "
	  "stats_file=/tmp/s stats_dir=/run/hc" },
	/* TARGETS, EXCLUDE (their syntax: target_cases) */
	{ "empty TARGETS and EXCLUDE are valid and empty", { "HALFCLOSE_TARGETS=", "HALFCLOSE_EXCLUDE=" },
	  .fields = "targets= exclude=" },
	{ "a bad TARGETS entry is named with the variable", { "HALFCLOSE_TARGETS=127.0.0.1,300.1.2.3" },
	  .error = { "HALFCLOSE_TARGETS", "300.1.2.3" } },
	{ "a bad EXCLUDE entry is named with the variable", { "HALFCLOSE_EXCLUDE=127.0.0.1,300.1.2.3" },
	  .error = { "HALFCLOSE_EXCLUDE", "300.1.2.3" } },
};

START_TEST(every_environment_gives_its_settings_or_its_error_line)
{
	check_env(&env_cases[_i]);
}
END_TEST

START_TEST(defaults_match_the_design_table)
{
	struct hc_config c;
	memset(&c, 0x5a, sizeof c);
	hc_config_defaults(&c);
	assert_fields(&c, DEFAULTS, "hc_config_defaults");
}
END_TEST

/* Each numeric variable with the range the parser enforces (a value outside
 * it is surely a typo: more than a day of milliseconds, more than 10 retries). */
static const struct {
	const char *name, *field;
	const char *min, *below_min; /* below_min NULL: min is 0 */
	const char *max, *above_max;
} numeric[] = {
	{ "HALFCLOSE_PROBE_AFTER_MS", "probe_after_ms", "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_MIN_IDLE_MS", "min_idle_ms", "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_WRITE_GAP_MS", "write_gap_ms", "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_MAX_IDLE_MS", "max_idle_ms", "0", NULL, "86400000", "86400001" },
	{ "HALFCLOSE_CONNECT_TIMEOUT_MS", "connect_timeout_ms", "1", "0", "600000", "600001" },
	{ "HALFCLOSE_NONBLOCK_CONNECT_MS", "nonblock_connect_ms", "1", "0", "600000", "600001" },
	{ "HALFCLOSE_RETRIES", "retries", "0", NULL, "10", "11" },
	{ "HALFCLOSE_REPLAY_MAX", "replay_max", "0", NULL, "16777216", "16777217" },
	{ "HALFCLOSE_REPLAY_WAIT_MS", "replay_wait_ms", "1", "0", "60000", "60001" },
	{ "HALFCLOSE_SESSION_MAX", "session_max", "0", NULL, "1048576", "1048577" },
};

/* The case of NAME=value alone: accepted with field=value when accepted, else
 * refused naming NAME and value (and holding error, if not NULL). */
static void check_numeric(int i, const char *value, bool accepted, const char *error)
{
	char entry[128], want[128];
	snprintf(entry, sizeof entry, "%s=%s", numeric[i].name, value);
	snprintf(want, sizeof want, "%s=%s", numeric[i].field, value);
	struct env_case k = { .what = entry, .env = { entry }, .fields = accepted ? want : NULL,
				.bad = accepted ? NULL : entry, .error = { error } };
	check_env(&k);
}

START_TEST(every_numeric_variable_takes_a_decimal_value_and_both_ends_of_its_range)
{
	check_numeric(_i, "7", true, NULL);
	check_numeric(_i, numeric[_i].min, true, NULL);
	check_numeric(_i, numeric[_i].max, true, NULL);
}
END_TEST

START_TEST(every_numeric_variable_refuses_values_out_of_its_range_giving_the_range)
{
	check_numeric(_i, numeric[_i].above_max, false, numeric[_i].max);
	if (numeric[_i].below_min != NULL)
		check_numeric(_i, numeric[_i].below_min, false, numeric[_i].max);
}
END_TEST

START_TEST(every_numeric_variable_refuses_garbage_naming_variable_and_value)
{
	static const char *const bad[] = {
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
	for (int k = 0; k < N_OF(bad); k++)
		check_numeric(_i, bad[k], false, NULL);
}
END_TEST

START_TEST(a_path_longer_than_path_max_is_refused)
{
	static const char *const names[] = { "HALFCLOSE_LOG_FILE", "HALFCLOSE_STATS" };
	static char entry[PATH_MAX + 64];
	for (int k = 0; k < N_OF(names); k++) {
		int n = snprintf(entry, sizeof entry, "%s=/", names[k]);
		memset(entry + n, 'a', sizeof entry - (size_t)n - 1);
		entry[sizeof entry - 1] = '\0';
		struct env_case c = { .what = names[k], .env = { entry }, .error = { names[k] } };
		check_env(&c);
	}
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

/* ---- target syntax ------------------------------------------------------- */

/* A TARGETS/EXCLUDE text and its entries as target_text writes them, or
 * REFUSED(named): the error names named (with named "": some error). */
#define REFUSED(named) "!" named
static const struct target_case {
	const char *text, *entries;
} target_cases[] = {
	{ "127.0.0.1", "127.0.0.1/32:*" }, /* an address alone: that host, any port */
	{ "127.0.0.1:6379", "127.0.0.1/32:6379" },
	{ "10.0.0.0/8", "10.0.0.0/8:*" },
	{ "10.0.0.0/8:80", "10.0.0.0/8:80" },
	{ "[::1]", "[::1]/128:*" },
	{ "[::1]:6379", "[::1]/128:6379" },
	{ "[fd00::]/8", "[fd00::]/8:*" },
	{ "[fd00::]/8:443", "[fd00::]/8:443" },
	{ "127.0.0.1:6379,10.0.0.0/8,[::1]:11211,[fd00::]/8:443", /* every entry, in order */
	  "127.0.0.1/32:6379,10.0.0.0/8:*,[::1]/128:11211,[fd00::]/8:443" },
	{ " 127.0.0.1 , [::1]:6379,10.0.0.0/8 ", "127.0.0.1/32:*,[::1]/128:6379,10.0.0.0/8:*" }, /* spaces ignored */
	{ "0.0.0.0/0,1.2.3.4/32,[::]/0,[::1]/128,1.2.3.4:1,1.2.3.4:65535", /* edge prefixes and ports */
	  "0.0.0.0/0:*,1.2.3.4/32:*,[::]/0:*,[::1]/128:*,1.2.3.4/32:1,1.2.3.4/32:65535" },
	{ "", "" }, /* an empty list */
	{ "300.1.2.3", REFUSED("300.1.2.3") },     /* octet out of range */
	{ "1.2.3", REFUSED("1.2.3") },             /* too few octets */
	{ "1.2.3.4/33", REFUSED("1.2.3.4/33") },   /* IPv4 prefix too long */
	{ "1.2.3.4/", REFUSED("1.2.3.4/") },       /* prefix missing */
	{ "1.2.3.4/x", REFUSED("1.2.3.4/x") },     /* prefix not a number */
	{ "1.2.3.4/-1", REFUSED("1.2.3.4/-1") },   /* negative prefix */
	{ "[::1]/129", REFUSED("[::1]/129") },     /* IPv6 prefix too long */
	{ "1.2.3.4:0", REFUSED("1.2.3.4:0") },     /* port 0 */
	{ "1.2.3.4:70000", REFUSED("1.2.3.4:70000") }, /* port out of range */
	{ "1.2.3.4:65536", REFUSED("1.2.3.4:65536") }, /* port out of range by one */
	{ "1.2.3.4:", REFUSED("1.2.3.4:") },       /* port missing */
	{ "1.2.3.4:80x", REFUSED("1.2.3.4:80x") }, /* trailing garbage */
	{ "1.2.3.4:-1", REFUSED("1.2.3.4:-1") },   /* negative port */
	{ "::1", REFUSED("::1") },                 /* IPv6 without brackets */
	{ "fd00::/8", REFUSED("fd00::/8") },       /* IPv6 without brackets */
	{ "[::1", REFUSED("[::1") },               /* unclosed bracket */
	{ "[::1]x", REFUSED("[::1]x") },           /* garbage after bracket */
	{ "[1.2.3.4]", REFUSED("[1.2.3.4]") },     /* IPv4 in brackets */
	{ "[zz::1]", REFUSED("[zz::1]") },         /* not an IPv6 address */
	{ "localhost", REFUSED("localhost") },     /* names are not resolved */
	{ "1.2.3.4/8/9", REFUSED("1.2.3.4/8/9") }, /* two prefixes */
	{ "127.0.0.1,,10.0.0.1", REFUSED("") },    /* empty entries */
	{ ",127.0.0.1", REFUSED("") },
	{ "127.0.0.1,", REFUSED("") },
	{ ",", REFUSED("") },
	{ "127.0.0.1:6379,[::1]/200,10.0.0.0/8", REFUSED("[::1]/200") }, /* the bad entry of a list is the one named */
};

START_TEST(every_target_text_gives_its_entries_or_names_the_bad_one)
{
	const struct target_case *k = &target_cases[_i];
	struct hc_target_list l;
	char err[256] = "";
	memset(&l, 0x5a, sizeof l);
	int r = hc_targets_parse(&l, k->text, err, sizeof err);
	if (k->entries[0] == '!') {
		ck_assert_msg(r == -1, "\"%s\" accepted", k->text);
		ck_assert_msg(err[0] != '\0' && strstr(err, k->entries + 1) != NULL, "error \"%s\" does not name \"%s\"",
			      err, k->entries + 1);
		return;
	}
	ck_assert_msg(r == 0, "\"%s\" refused: %s", k->text, err);
	char got[1024];
	list_text(&l, got, sizeof got);
	ck_assert_msg(strcmp(got, k->entries) == 0, "\"%s\" gave %s, expected %s", k->text, got, k->entries);
}
END_TEST

/* A list of n entries 10.0.0.1, 10.0.0.2, ... */
static void list_of(char *buf, size_t len, unsigned n)
{
	buf[0] = '\0';
	for (unsigned k = 0; k < n; k++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s10.0.0.%u", k ? "," : "", k + 1);
}

START_TEST(a_list_holds_up_to_hc_max_targets_entries)
{
	char text[32 * (HC_MAX_TARGETS + 1)], err[256] = "", last[64];
	struct hc_target_list l;
	list_of(text, sizeof text, HC_MAX_TARGETS);
	ck_assert_msg(hc_targets_parse(&l, text, err, sizeof err) == 0, "refused: %s", err);
	ck_assert_uint_eq(l.n, HC_MAX_TARGETS);
	target_text(&l.t[HC_MAX_TARGETS - 1], last, sizeof last);
	ck_assert_str_eq(last, "10.0.0.32/32:*");
}
END_TEST

START_TEST(one_entry_more_than_hc_max_targets_is_an_error)
{
	char text[32 * (HC_MAX_TARGETS + 1)], err[256] = "";
	struct hc_target_list l;
	list_of(text, sizeof text, HC_MAX_TARGETS + 1);
	ck_assert_int_eq(hc_targets_parse(&l, text, err, sizeof err), -1);
	ck_assert_msg(err[0] != '\0', "no error message");
}
END_TEST

/* ---- matching ------------------------------------------------------------- */

/* A peer written as the tables write it: 10.0.0.1:80, [::1]:6379, unix:/path. */
static struct sockaddr_storage peer_of(const char *text)
{
	struct sockaddr_storage ss;
	char ip[64];
	unsigned port = 0;
	memset(&ss, 0, sizeof ss);
	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof un->sun_path, "%s", text + 5);
	} else if (text[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		ck_assert_msg(sscanf(text, "[%63[^]]]:%u", ip, &port) == 2, "bad peer %s", text);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((unsigned short)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		ck_assert_msg(sscanf(text, "%63[^:]:%u", ip, &port) == 2, "bad peer %s", text);
		a->sin_family = AF_INET;
		a->sin_port = htons((unsigned short)port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	}
	return ss;
}

/* A list (or TARGETS and EXCLUDE) and peers: "+PEER" must be matched (managed), "-PEER" not. */
static const struct match_case {
	const char *targets, *exclude, *peers;
} match_cases[] = {
	/* hc_targets_match(TARGETS): exclude NULL */
	{ "10.0.0.0/8", NULL, "+10.0.0.0:80 +10.255.255.255:80 -9.255.255.255:80 -11.0.0.0:80" },
	{ "192.168.0.0/23", NULL, "+192.168.0.0:1 +192.168.1.255:1 -192.168.2.0:1 -192.167.255.255:1" },
	{ "127.0.0.1", NULL, "+127.0.0.1:6379 +127.0.0.1:1 -127.0.0.2:6379 -127.0.0.0:6379" },
	{ "0.0.0.0/0", NULL, "+0.0.0.0:1 +255.255.255.255:1 +127.0.0.1:6379" },
	{ "127.0.0.1:6379,10.0.0.0/8:80", NULL,
	  "+127.0.0.1:6379 -127.0.0.1:6380 +10.1.2.3:80 -10.1.2.3:8080 -10.1.2.3:6379" },
	{ "[::1]:6379,[fd00::]/8", NULL,
	  "+[::1]:6379 -[::1]:6380 -[::2]:6379 +[fd00::1]:1 +[fdff:ffff::1]:1 -[fc00::1]:1 -[fe80::1]:1" },
	{ "[2001:db8::]/33", NULL, "+[2001:db8::1]:1 +[2001:db8:7fff:ffff::1]:1 -[2001:db8:8000::]:1 -[2001:db9::]:1" },
	{ "127.0.0.1", NULL, "-[::1]:1" }, /* families do not match each other */
	{ "[::1]", NULL, "-127.0.0.1:1" },
	/* an IPv4-mapped IPv6 peer matches an IPv4 entry */
	{ "127.0.0.1:6379", NULL, "+[::ffff:127.0.0.1]:6379 -[::ffff:127.0.0.1]:6380 -[::ffff:127.0.0.2]:6379" },
	{ "10.0.0.0/8", NULL, "+[::ffff:10.9.8.7]:1 -[::ffff:11.0.0.0]:1" },
	/* Found by the fuzzer (tests/fuzz): an entry in IPv4-mapped form matched
	 * nothing, not even the address it names, because mapped peers were
	 * compared as IPv4 only. */
	{ "[::ffff:127.0.0.1]:6379", NULL, "+[::ffff:127.0.0.1]:6379 -[::ffff:127.0.0.1]:6380 -[::ffff:127.0.0.2]:6379" },
	{ "[::ffff:0:0]/96", NULL, "+[::ffff:10.9.8.7]:1 -[::1]:1" },
	{ "", NULL, "-127.0.0.1:1 -[::1]:1" },           /* an empty list matches nothing */
	{ "0.0.0.0/0,[::]/0", NULL, "-unix:/tmp/sock" }, /* nor does an address that is no IP */
	/* hc_config_manages(TARGETS, EXCLUDE) */
	{ "", "", "+127.0.0.1:6379 +203.0.113.9:443 +[::1]:80 +[::ffff:127.0.0.1]:80" }, /* every TCP peer */
	{ "127.0.0.1:6379,[::1]", "", "+127.0.0.1:6379 -127.0.0.1:6380 -127.0.0.2:6379 +[::1]:5432 +[::ffff:127.0.0.1]:6379" },
	{ "", "127.0.0.1:6379", "-127.0.0.1:6379 -[::ffff:127.0.0.1]:6379 +127.0.0.1:6380 +[::1]:6379" },
	{ "127.0.0.0/8", "127.0.0.1:6379,127.0.0.2", /* EXCLUDE wins over TARGETS */
	  "-127.0.0.1:6379 -127.0.0.2:80 +127.0.0.1:80 +127.0.0.3:6379 -10.0.0.1:80" },
};

START_TEST(every_peer_is_matched_exactly_as_its_row_says)
{
	const struct match_case *k = &match_cases[_i];
	struct hc_config c;
	char err[256] = "", copy[512], *save = NULL;
	if (k->exclude == NULL) {
		ck_assert_msg(hc_targets_parse(&c.targets, k->targets, err, sizeof err) == 0, "refused: %s", err);
	} else {
		char t[256], e[256];
		snprintf(t, sizeof t, "HALFCLOSE_TARGETS=%s", k->targets);
		snprintf(e, sizeof e, "HALFCLOSE_EXCLUDE=%s", k->exclude);
		char *const envp[] = { t, e, NULL };
		ck_assert_msg(hc_config_parse(&c, envp, err, sizeof err) == 0, "refused: %s", err);
	}
	snprintf(copy, sizeof copy, "%s", k->peers);
	for (char *p = strtok_r(copy, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save)) {
		struct sockaddr_storage ss = peer_of(p + 1);
		const struct sockaddr *sa = (const struct sockaddr *)&ss;
		bool got = k->exclude == NULL ? hc_targets_match(&c.targets, sa) : hc_config_manages(&c, sa);
		ck_assert_msg(got == (p[0] == '+'), "TARGETS=%s EXCLUDE=%s: %s %s", k->targets,
			      k->exclude ? k->exclude : "(none: hc_targets_match)", p + 1,
			      got ? "matched" : "not matched");
	}
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");

	TCase *tc = tcase_create("environment");
	tcase_add_test(tc, defaults_match_the_design_table);
	tcase_add_loop_test(tc, every_environment_gives_its_settings_or_its_error_line, 0, N_OF(env_cases));
	tcase_add_loop_test(tc, every_numeric_variable_takes_a_decimal_value_and_both_ends_of_its_range, 0,
			    N_OF(numeric));
	tcase_add_loop_test(tc, every_numeric_variable_refuses_values_out_of_its_range_giving_the_range, 0,
			    N_OF(numeric));
	tcase_add_loop_test(tc, every_numeric_variable_refuses_garbage_naming_variable_and_value, 0, N_OF(numeric));
	tcase_add_test(tc, a_path_longer_than_path_max_is_refused);
	tcase_add_test(tc, error_message_is_truncated_to_errlen);
	suite_add_tcase(s, tc);

	tc = tcase_create("targets");
	tcase_add_loop_test(tc, every_target_text_gives_its_entries_or_names_the_bad_one, 0, N_OF(target_cases));
	tcase_add_test(tc, a_list_holds_up_to_hc_max_targets_entries);
	tcase_add_test(tc, one_entry_more_than_hc_max_targets_is_an_error);
	tcase_add_loop_test(tc, every_peer_is_matched_exactly_as_its_row_says, 0, N_OF(match_cases));
	suite_add_tcase(s, tc);
	return s;
}
