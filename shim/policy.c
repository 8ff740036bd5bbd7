/* policy.c - the rules of DESIGN.md: a write's boundary and probe, a probe's
 * verdict's action, a replay's permission. Pure. */
#include "policy.h"

struct hc_write_plan hc_plan_write(const struct hc_write_facts *f, const struct hc_config *cfg)
{
	struct hc_write_plan p = { 0 };
	uint64_t ms = 1000000u;
	bool after_read = f->first_write || f->read_since_write;

	/* A greeting read as the reply to the program's request: never. One not
	 * read yet is as unread on a new connection: this write may heal. */
	if (f->first_write && f->greeting_read) {
		p.leave = true;
		return p;
	}
	p.leave_after = f->first_write && f->greeting_unread;
	/* The first write, the first after a read, or one after a quiet gap
	 * (write-only protocols): never one inside a request. */
	p.boundary = after_read || (cfg->write_gap_ms > 0 && f->quiet_ns >= (uint64_t)cfg->write_gap_ms * ms);
	/* A connection too recently active to be swapped is not probed either;
	 * nor is a session half way through something. */
	p.probe = p.boundary && f->swappable && f->quiet_ns >= (uint64_t)cfg->probe_after_ms * ms;
	/* `write A`, a quiet gap, `write B`: on a new connection B's reply would
	 * be read as A's. */
	p.reply_owed = p.boundary && !after_read && f->ever_read;
	/* Only a request after a quiet gap may be replayed (the idle
	 * requirement): after `write A, write B, read`, B's reply may still be
	 * owed. A write after a gap but no read is part of what is kept so far. */
	p.keep_request = after_read && f->swappable && cfg->replay_max > 0 && cfg->replay != HC_REPLAY_OFF &&
			 f->quiet_ns >= (uint64_t)cfg->min_idle_ms * ms;
	p.forget_request = after_read && !p.keep_request;
	return p;
}

enum hc_action hc_probe_action(enum hc_verdict v, uint64_t quiet_ns, bool reply_owed, const struct hc_config *cfg)
{
	uint64_t min_idle = (uint64_t)cfg->min_idle_ms * 1000000u;

	if (v == HC_ALIVE && !reply_owed && cfg->max_idle_ms > 0 && quiet_ns >= (uint64_t)cfg->max_idle_ms * 1000000u &&
	    quiet_ns >= min_idle)
		return HC_ACT_RETIRE;
	if (v != HC_STALE && v != HC_STALE_UNREAD)
		return HC_ACT_PROCEED;
	/* The server said something before closing (a goodbye, a FATAL, a 408):
	 * the program must see it exactly as it was sent. */
	if (v == HC_STALE_UNREAD && cfg->unread == HC_UNREAD_KEEP)
		return HC_ACT_LEAVE_UNREAD;
	/* Died while in use: a reply may be owed for a request we cannot see. */
	if (quiet_ns < min_idle)
		return HC_ACT_FAIL_RECENT;
	/* `write A`, a quiet gap, `write B`: on a new connection B's reply would
	 * be read as A's. Write-only protocols (never a reply) still heal. */
	if (reply_owed)
		return HC_ACT_FAIL_OWED;
	return HC_ACT_HEAL;
}

enum hc_replay_answer hc_may_replay(const struct hc_replay_facts *f, enum hc_replay_policy policy)
{
	if (policy == HC_REPLAY_OFF || !f->managed || !f->kept || f->replayed || f->read_err != 0 || !f->same_socket)
		return HC_REPLAY_NO;
	if (policy == HC_REPLAY_SAFE && !f->safe)
		return HC_REPLAY_UNSAFE;
	return HC_REPLAY_ASK;
}

const char *hc_verdict_name(enum hc_verdict v)
{
	switch (v) {
	case HC_ALIVE: return "alive";
	case HC_ALIVE_UNREAD: return "alive with unread data";
	case HC_STALE: return "stale";
	case HC_STALE_UNREAD: return "stale with unread data";
	case HC_PROBE_FAILED: return "probe failed";
	}
	return "?";
}
