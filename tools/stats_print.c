/* stats_print.c - the three faces of `halfclose stats` (stats.h): a table,
 * one JSON object, the Prometheus text exposition format. Reads the pages
 * stats.c mapped; writes stdout. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats.h"

static uint64_t counter(const struct view *v, unsigned i)
{
	const _Atomic uint64_t *c = (const _Atomic uint64_t *)((const char *)v->pg + v->pg->counters_off) + i;
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* v's value for key (0 if its page has no such key). */
static uint64_t value_of(const struct view *v, const char *key)
{
	for (unsigned i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i], key) == 0)
			return counter(v, i);
	return 0;
}

static const char *via(const struct view *v)
{
	return (v->pg->flags & HC_PAGE_SUPERVISED) ? "supervisor" : "preload";
}

/* comm with anything unprintable as '?'. */
static const char *shown_comm(const struct view *v, char *buf)
{
	size_t i;
	for (i = 0; i < 15 && v->pg->comm[i] != '\0'; i++)
		buf[i] = (unsigned char)v->pg->comm[i] < 0x20 || v->pg->comm[i] == 0x7f ? '?' : v->pg->comm[i];
	buf[i] = '\0';
	return buf;
}

/* Column c summed over the views that are not GONE. */
static uint64_t total_of(const struct stats_set *s, unsigned c)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < s->nviews; i++)
		if (s->views[i].state != GONE)
			sum += value_of(&s->views[i], s->cols[c]);
	return sum;
}

void hc_stats_print_table(const struct stats_set *s, size_t shown, size_t gone)
{
	int w[MAX_COLS];
	uint64_t total[MAX_COLS] = { 0 };
	char buf[32], comm[16];

	for (unsigned c = 0; c < s->ncols; c++) {
		w[c] = (int)strlen(s->cols[c]);
		total[c] = total_of(s, c);
		int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)total[c]);
		if (n > w[c])
			w[c] = n;
	}
	printf("%-8s %-15s %-10s %-19s", "PID", "COMM", "VIA", "STARTED");
	for (unsigned c = 0; c < s->ncols; c++)
		printf(" %*s", w[c], s->cols[c]);
	printf("\n");
	for (size_t i = 0; i < s->nviews; i++) {
		const struct view *v = &s->views[i];
		time_t t = (time_t)(v->pg->start_unix_ns / 1000000000);
		struct tm tm;
		if (v->state == GONE)
			continue;
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%-8d %-15s %-10s %-19s", (int)v->pg->pid, shown_comm(v, comm), via(v), buf);
		for (unsigned c = 0; c < s->ncols; c++)
			printf(" %*llu", w[c], (unsigned long long)value_of(v, s->cols[c]));
		printf("%s\n", v->state == FOREIGN ? "  (another pid namespace: cannot tell if it lives)" : "");
	}
	snprintf(buf, sizeof(buf), "%zu process%s", shown, shown == 1 ? "" : "es");
	printf("%-8s %-46s", "total", buf);
	for (unsigned c = 0; c < s->ncols; c++)
		printf(" %*llu", w[c], (unsigned long long)total[c]);
	printf("\n");
	if (gone > 0)
		printf("(%zu page%s of processes that are gone not shown: --prune removes them)\n", gone,
		       gone == 1 ? "" : "s");
}

/* s as the inside of a JSON string or a Prometheus label value (both escape
 * backslash, double quote and newline; JSON also every control character). */
static void print_escaped(const char *s, size_t max, bool json)
{
	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			printf("\\n");
		else if (json && ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
}

void hc_stats_print_json(const struct stats_set *s, size_t shown)
{
	bool first = true;

	printf("{\"processes\":[");
	for (size_t i = 0; i < s->nviews; i++) {
		const struct view *v = &s->views[i];
		if (v->state == GONE)
			continue;
		printf("%s{\"dir\":\"", first ? "" : ",");
		print_escaped(v->dir, PATH_MAX, true);
		printf("\",\"pid\":%d,\"comm\":\"", (int)v->pg->pid);
		print_escaped(v->pg->comm, sizeof(v->pg->comm) - 1, true);
		printf("\",\"via\":\"%s\",\"start_unix\":%lld,\"alive\":%s,\"counters\":{", via(v),
		       (long long)(v->pg->start_unix_ns / 1000000000), v->state == LIVE ? "true" : "null");
		for (unsigned c = 0; c < v->nkeys; c++) {
			printf("%s\"", c ? "," : "");
			print_escaped(v->keys[c], 64, true);
			printf("\":%llu", (unsigned long long)counter(v, c));
		}
		printf("}}");
		first = false;
	}
	printf("],\"total\":{\"processes\":%zu,\"counters\":{", shown);
	for (unsigned c = 0; c < s->ncols; c++) {
		printf("%s\"", c ? "," : "");
		print_escaped(s->cols[c], 64, true);
		printf("\":%llu", (unsigned long long)total_of(s, c));
	}
	printf("}}}\n");
}

/* True if key can be part of a metric name. */
static bool metric_safe(const char *key)
{
	if (key[0] == '\0' || strlen(key) > 64)
		return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static void print_labels(const struct view *v)
{
	printf("{pid=\"%d\",comm=\"", (int)v->pg->pid);
	print_escaped(v->pg->comm, sizeof(v->pg->comm) - 1, false);
	printf("\",via=\"%s\"}", via(v));
}

void hc_stats_print_prometheus(const struct stats_set *s, size_t shown)
{
	printf("# HELP halfclose_processes Processes with a live halfclose page.\n"
	       "# TYPE halfclose_processes gauge\n"
	       "halfclose_processes %zu\n",
	       shown);
	printf("# HELP halfclose_start_time_seconds Start time of the process, seconds since the epoch.\n"
	       "# TYPE halfclose_start_time_seconds gauge\n");
	for (size_t i = 0; i < s->nviews; i++) {
		if (s->views[i].state == GONE)
			continue;
		printf("halfclose_start_time_seconds");
		print_labels(&s->views[i]);
		printf(" %lld\n", (long long)(s->views[i].pg->start_unix_ns / 1000000000));
	}
	for (unsigned c = 0; c < s->ncols; c++) {
		if (!metric_safe(s->cols[c]))
			continue;
		printf("# HELP halfclose_%s_total The halfclose counter %s (libhalfclose(7), STATISTICS).\n"
		       "# TYPE halfclose_%s_total counter\n",
		       s->cols[c], s->cols[c], s->cols[c]);
		for (size_t i = 0; i < s->nviews; i++) {
			if (s->views[i].state == GONE)
				continue;
			printf("halfclose_%s_total", s->cols[c]);
			print_labels(&s->views[i]);
			printf(" %llu\n", (unsigned long long)value_of(&s->views[i], s->cols[c]));
		}
	}
}

