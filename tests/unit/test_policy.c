/* test_policy.c - the rules of DESIGN.md as tables of cases: what a write
 * means (policy.h's hc_plan_write), what a probe's verdict calls for
 * (hc_probe_action), when a read's EOF may be replayed (hc_may_replay). */
#define _GNU_SOURCE
#include <string.h>

#include "config.h"
#include "policy.h"
#include "suites.h"

#define MS 1000000ull

/* The defaults: min idle 250 ms (probe after it too), write gap 1000 ms,
 * max idle off, replay on, unread keep. */
static struct hc_config defaults(void)
{
	struct hc_config cfg;
	hc_config_defaults(&cfg);
	return cfg;
}

START_TEST(a_write_is_a_boundary_first_after_a_read_or_after_the_write_gap)
{
	static const struct {
		struct hc_write_facts f;
		bool boundary, probe, reply_owed, keep, forget;
	} cases[] = {
		/* first write, soon after the connect: a boundary, too soon to probe or keep */
		{ { .first_write = true, .swappable = true, .quiet_ns = 5 * MS }, true, false, false, false, true },
		/* first write of a pooled connection opened long ago */
		{ { .first_write = true, .swappable = true, .quiet_ns = 900 * MS }, true, true, false, true, false },
		/* the first write after a read, after 3 s idle: probed and kept */
		{ { .read_since_write = true, .ever_read = true, .swappable = true, .quiet_ns = 3000 * MS },
		  true, true, false, true, false },
		/* the same, busy: no probe (no system call), nothing kept */
		{ { .read_since_write = true, .ever_read = true, .swappable = true, .quiet_ns = 2 * MS },
		  true, false, false, false, true },
		/* a write inside a request: nothing at all */
		{ { .ever_read = true, .swappable = true, .quiet_ns = 1 * MS }, false, false, false, false, false },
		/* after the write gap on a connection that has had replies: a reply may be owed */
		{ { .ever_read = true, .swappable = true, .quiet_ns = 1500 * MS }, true, true, true, false, false },
		/* the same on a write-only connection: no reply is ever owed */
		{ { .swappable = true, .quiet_ns = 1500 * MS }, true, true, false, false, false },
		/* a session half way through something: not probed, not kept */
		{ { .read_since_write = true, .ever_read = true, .swappable = false, .quiet_ns = 3000 * MS },
		  true, false, false, false, true },
	};
	struct hc_config cfg = defaults();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hc_write_plan p = hc_plan_write(&cases[i].f, &cfg);
		ck_assert_msg(p.boundary == cases[i].boundary && p.probe == cases[i].probe &&
				      p.reply_owed == cases[i].reply_owed && p.keep_request == cases[i].keep &&
				      p.forget_request == cases[i].forget && !p.leave && !p.leave_after,
			      "case %zu: boundary %d probe %d owed %d keep %d forget %d", i, p.boundary, p.probe,
			      p.reply_owed, p.keep_request, p.forget_request);
	}
}
END_TEST

START_TEST(the_settings_move_the_lines)
{
	struct hc_config cfg = defaults();
	struct hc_write_facts f = { .read_since_write = true, .swappable = true, .quiet_ns = 100 * MS };

	ck_assert(!hc_plan_write(&f, &cfg).probe);
	cfg.probe_after_ms = 0; /* every boundary probed: the failure path for busy connections */
	ck_assert(hc_plan_write(&f, &cfg).probe);
	ck_assert(!hc_plan_write(&f, &cfg).keep_request); /* still under MIN_IDLE_MS */
	cfg.min_idle_ms = 50;
	ck_assert(hc_plan_write(&f, &cfg).keep_request);
	cfg.replay_max = 0;
	ck_assert(!hc_plan_write(&f, &cfg).keep_request);
	f.read_since_write = false;
	cfg.write_gap_ms = 0; /* off: a write after a write is never a boundary */
	f.quiet_ns = 100000 * MS;
	ck_assert(!hc_plan_write(&f, &cfg).boundary);
}
END_TEST

START_TEST(a_server_that_spoke_first_is_left_at_once_or_after_this_write)
{
	struct hc_config cfg = defaults();
	struct hc_write_facts read = { .first_write = true, .greeting_read = true, .swappable = true,
				       .quiet_ns = 900 * MS };
	struct hc_write_facts unread = { .first_write = true, .greeting_unread = true, .swappable = true,
					 .quiet_ns = 900 * MS };
	struct hc_write_plan p = hc_plan_write(&read, &cfg);

	ck_assert(p.leave && !p.probe);
	p = hc_plan_write(&unread, &cfg);
	ck_assert(!p.leave && p.leave_after && p.probe); /* this write may still heal */
	read.first_write = false; /* only the first write says it */
	ck_assert(!hc_plan_write(&read, &cfg).leave);
}
END_TEST

START_TEST(action_follows_the_design_for_every_verdict)
{
	static const struct {
		enum hc_verdict v;
		uint64_t quiet_ms;
		bool owed;
		enum hc_unread_policy unread;
		uint32_t max_idle, min_idle;
		enum hc_action want;
	} cases[] = {
		{ HC_ALIVE, 10000, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_PROCEED },
		{ HC_ALIVE_UNREAD, 10000, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_PROCEED },
		{ HC_PROBE_FAILED, 10000, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_PROCEED },
		{ HC_STALE, 250, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_HEAL },
		{ HC_STALE, 249, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_FAIL_RECENT },
		{ HC_STALE_UNREAD, 10000, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_LEAVE_UNREAD },
		{ HC_STALE_UNREAD, 1, false, HC_UNREAD_KEEP, 0, 250, HC_ACT_LEAVE_UNREAD },
		{ HC_STALE_UNREAD, 10000, false, HC_UNREAD_DISCARD, 0, 250, HC_ACT_HEAL },
		{ HC_STALE_UNREAD, 1, false, HC_UNREAD_DISCARD, 0, 250, HC_ACT_FAIL_RECENT },
		{ HC_ALIVE, 999, false, HC_UNREAD_DISCARD, 1000, 250, HC_ACT_PROCEED },
		{ HC_ALIVE, 1000, false, HC_UNREAD_DISCARD, 1000, 250, HC_ACT_RETIRE },
		/* never retired with unread data, nor before the idle requirement is met */
		{ HC_ALIVE_UNREAD, 10000, false, HC_UNREAD_DISCARD, 1000, 250, HC_ACT_PROCEED },
		{ HC_ALIVE, 1500, false, HC_UNREAD_DISCARD, 1000, 2000, HC_ACT_PROCEED },
		/* a reply may still be owed: never a swap, the failure path instead */
		{ HC_STALE, 10000, true, HC_UNREAD_DISCARD, 1000, 2000, HC_ACT_FAIL_OWED },
		{ HC_ALIVE, 10000, true, HC_UNREAD_DISCARD, 1000, 2000, HC_ACT_PROCEED },
		{ HC_STALE_UNREAD, 10000, true, HC_UNREAD_KEEP, 1000, 2000, HC_ACT_LEAVE_UNREAD },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hc_config cfg = defaults();
		cfg.unread = cases[i].unread;
		cfg.max_idle_ms = cases[i].max_idle;
		cfg.min_idle_ms = cases[i].min_idle;
		ck_assert_msg(hc_probe_action(cases[i].v, cases[i].quiet_ms * MS, cases[i].owed, &cfg) == cases[i].want,
			      "case %zu", i);
	}
}
END_TEST

START_TEST(only_an_eof_before_any_reply_may_be_replayed_and_only_once)
{
	struct hc_replay_facts ok = { .managed = true, .kept = true, .read_err = 0, .same_socket = true, .safe = true };
	struct hc_replay_facts f;

	ck_assert_int_eq(hc_may_replay(&ok, HC_REPLAY_SAFE), HC_REPLAY_ASK);
	f = ok, f.read_err = 104; /* ECONNRESET: a server may have read it, then aborted */
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
	f = ok, f.read_err = 110; /* ETIMEDOUT */
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
	f = ok, f.replayed = true;
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
	f = ok, f.kept = false;
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
	f = ok, f.managed = false;
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
	f = ok, f.same_socket = false;
	ck_assert_int_eq(hc_may_replay(&f, HC_REPLAY_ALL), HC_REPLAY_NO);
}
END_TEST

/* After a half-close the server may still read, act, and abort before its
 * ACK: what looks never delivered may have been executed. */
START_TEST(by_default_only_a_safe_request_is_replayed)
{
	struct hc_replay_facts safe = { .managed = true, .kept = true, .same_socket = true, .safe = true };
	struct hc_replay_facts post = safe;

	post.safe = false;
	ck_assert_int_eq(hc_may_replay(&post, HC_REPLAY_SAFE), HC_REPLAY_UNSAFE);
	ck_assert_int_eq(hc_may_replay(&post, HC_REPLAY_ALL), HC_REPLAY_ASK);
	ck_assert_int_eq(hc_may_replay(&post, HC_REPLAY_OFF), HC_REPLAY_NO);
	ck_assert_int_eq(hc_may_replay(&safe, HC_REPLAY_OFF), HC_REPLAY_NO);
	ck_assert_int_eq(hc_may_replay(&safe, HC_REPLAY_ALL), HC_REPLAY_ASK);
}
END_TEST

START_TEST(nothing_is_kept_when_replay_is_off)
{
	struct hc_write_facts f = { .read_since_write = true, .ever_read = true, .swappable = true, .quiet_ns = 3000 * MS };
	struct hc_config cfg = defaults();

	ck_assert(hc_plan_write(&f, &cfg).keep_request);
	cfg.replay = HC_REPLAY_OFF;
	ck_assert(!hc_plan_write(&f, &cfg).keep_request);
	ck_assert(hc_plan_write(&f, &cfg).forget_request);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("rules");
	tcase_add_test(tc, a_write_is_a_boundary_first_after_a_read_or_after_the_write_gap);
	tcase_add_test(tc, the_settings_move_the_lines);
	tcase_add_test(tc, a_server_that_spoke_first_is_left_at_once_or_after_this_write);
	tcase_add_test(tc, action_follows_the_design_for_every_verdict);
	tcase_add_test(tc, only_an_eof_before_any_reply_may_be_replayed_and_only_once);
	tcase_add_test(tc, by_default_only_a_safe_request_is_replayed);
	tcase_add_test(tc, nothing_is_kept_when_replay_is_off);
	suite_add_tcase(s, tc);
	return s;
}
