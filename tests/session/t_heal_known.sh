#!/usr/bin/env bash
# HALFCLOSE_HEAL=known (launcher: --heal known) heals only the protocols the
# library understands (HTTP/1.x, RESP, memcached text).
#   unknown protocol: reqresp (C, "req N\n" lines) against a socat echo
#       server closing connections idle 2 s, 2 rounds 3 s apart.
#       plain:          round 2: "read: EOF", exit 1.
#       HEAL=known:     the same stdout, stderr and exit status (never
#                       swapped, left alone); unknown_skipped >= 1,
#                       reconnects=0.
#       default (all):  healed (reconnects >= 1), exit 0: anything
#                       unrecognised is stateless.
#   RESP under --heal known: redis-cli -a PW -n 2 -r 2 -i 3.5 GET k through
#       the launcher heals with its session: db2-value twice;
#       session_rebuilds >= 1, unknown_skipped=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port E
hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$E,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$E"
s_start_redis "$P" 1

hc_section "plain: reqresp 2 rounds, 3000 ms apart, echo server idle timeout 2 s"
hc_run_plain echo_plain "$HC_CLIENTS/reqresp" "$HOST" "$E" 2 3000
hc_assert_rc 1 reqresp
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"
echo_rc=$RC

hc_require_shim
hc_section "shim, HALFCLOSE_HEAL=known: an unknown protocol is left alone"
hc_run_shim echo_known HALFCLOSE_HEAL=known HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/echo_known.log" \
    "$HC_CLIENTS/reqresp" "$HOST" "$E" 2 3000
hc_show_file "$T/echo_known.log" log
hc_assert_rc "$echo_rc" "reqresp (as without the library)"
s_assert_same "$T/echo_plain.out" "$T/echo_known.out" "reqresp stdout"
s_assert_same "$T/echo_plain.err" "$T/echo_known.err" "reqresp stderr"
hc_assert_stat "$STATS" unknown_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim, default (HALFCLOSE_HEAL=all): the same connection heals"
hc_run_shim echo_all "$HC_CLIENTS/reqresp" "$HOST" "$E" 2 3000
hc_assert_rc 0 reqresp
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" unknown_skipped -eq 0

hc_require_launcher
hc_section "halfclose --heal known: redis-cli -a PW -n 2 -r 2 -i 3.5 GET k (RESP is known)"
hc_run_hc cli_known --heal known -- \
    redis-cli -h "$HOST" -p "$P" -a "$S_PW" --no-auth-warning -n 2 -r 2 -i 3.5 GET k
hc_assert_rc 0 "halfclose redis-cli"
hc_check "stdout is db2-value twice, nothing else" [ "$(tr '\n' ' ' <"$OUT")" = "db2-value db2-value " ]
hc_assert_stat_sum "$STATS" session_rebuilds -ge 1
hc_assert_stat_sum "$STATS" unknown_skipped -eq 0
s_assert_no_null "$T/echo_known.log"

hc_finish
