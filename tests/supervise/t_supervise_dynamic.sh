#!/usr/bin/env bash
# `halfclose --supervise` forces the supervisor on a dynamically linked
# client, which then heals through it alone: tests/clients/reqresp (linked
# against libc.so) against socat closing connections idle for 1 s, 3 rounds
# 2 s apart.
#   plain:                  round 2: read EOF, exit 1.
#   halfclose --supervise:  every round answered, reconnects counted, and the
#                           library is not loaded (LD_PRELOAD unset: t_mechanism
#                           checks that; here the stats line is the supervisor's
#                           only, not a second one from the library).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: dynamic reqresp, 3 rounds 2 s apart, server idle timeout 1 s"
hc_run_plain reqresp_plain "$HC_CLIENTS/reqresp" "$HOST" "$P" 3 2000
hc_assert_rc 1 "reqresp"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"

hc_require_launcher
hc_section "halfclose --supervise: same client, same server"
hc_run_hc reqresp_sup --supervise "$HC_CLIENTS/reqresp" "$HOST" "$P" 3 2000
hc_assert_rc 0 "halfclose --supervise reqresp"
hc_assert_contains "$OUT" "round 3: ok" "reqresp stdout"
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" stale -ge 2
hc_check "exactly one stats line (not the library's as well)" \
    [ "$(hc_stats lines "" "$STATS")" -eq 1 ]

hc_finish
