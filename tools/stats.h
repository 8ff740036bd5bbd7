/* stats.h - what `halfclose stats` holds between reading the live pages
 * (stats.c) and printing them (stats_print.c). */
#ifndef HC_TOOLS_STATS_H
#define HC_TOOLS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "page.h"

#define MAX_COLS 64

enum liveness { LIVE, GONE, FOREIGN };

/* One page, mapped read-only. */
struct view {
	const struct hc_page *pg;
	size_t size;
	const char *dir;
	enum liveness state;
	const char *keys[MAX_COLS]; /* its key names, in counter order */
	unsigned nkeys;
};

/* Every page read, and every key seen on them. */
struct stats_set {
	const char *cols[MAX_COLS]; /* every key seen: HC_STATS_KEYS first, then newer ones */
	unsigned ncols;
	struct view *views;
	size_t nviews, cap;
	size_t pruned;
	uint64_t own_pidns;
};

/* Print s's views that are not GONE (shown of them; gone, the others) to stdout. */
void hc_stats_print_table(const struct stats_set *s, size_t shown, size_t gone);
void hc_stats_print_json(const struct stats_set *s, size_t shown);
void hc_stats_print_prometheus(const struct stats_set *s, size_t shown);

#endif
