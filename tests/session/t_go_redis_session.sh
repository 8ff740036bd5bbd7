#!/usr/bin/env bash
# The redis session cases under the supervisor: a static Go client
# (tests/go/redis_session.go, CGO_ENABLED=0, raw RESP over net.Conn) logs in
# and selects a database once, then GET k every 3.5 s on one connection;
# redis `--timeout 1`, requirepass, ACL user alice; k is "db0-value" in db 0,
# "db2-value" in db 2.  The supervisor does not see reads: it records the
# session commands as they are written and relies on checking every reply
# on the new connection.
#   plain:      round 2 goes into the closed connection: "read: EOF", exit 1.
#   halfclose:  (auto-detected: static Go binary, supervised)
#     AUTH alice PASS + SELECT 2: every round reads "db2-value" as alice;
#         reconnects >= 2, session_rebuilds >= 2.
#     AUTH PASS (requirepass), db 0: round 2 reads "db0-value".
#     AUTH alice WRONG: WRONGPASS, then NOAUTH; after the gap the program
#         never receives the value: NOAUTH again, or the failure path
#         (write: EPIPE, nothing sent: the replayed wrong AUTH fails its
#         check); never a reply to the replayed AUTH as a GET's reply.
#     no password in the log.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
prog=$HC_GO/redis_session

hc_section "plain: redis_session AUTH alice + SELECT 2; GET k x2, 3.5 s apart"
hc_run_plain go_plain "$prog" "$HOST" "$P" "$S_USER" "$S_USER_PW" 2 2 3500 k
hc_assert_rc 1 redis_session
hc_check "auth, select and round 1 worked" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: OK|select: OK|round 1: db2-value|" ]
hc_assert_contains "$ERR" "redis_session: round 2: read: EOF" "redis_session stderr"

hc_section "plain: AUTH alice WRONG; GET k x2, 3.5 s apart"
hc_run_plain wrong_plain "$prog" "$HOST" "$P" "$S_USER" "$S_WRONG_PW" 0 2 3500 k
hc_assert_rc 1 redis_session
hc_check "WRONGPASS, then NOAUTH" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: error WRONGPASS invalid username-password pair or user is disabled.|round 1: error NOAUTH Authentication required.|" ]
hc_assert_contains "$ERR" "redis_session: round 2: read: EOF" "redis_session stderr"

hc_require_launcher
hc_check "redis_session is a static binary (the launcher supervises it)" hc_is_static "$prog"

hc_section "halfclose: AUTH alice + SELECT 2; GET k x3, 3.5 s apart"
hc_run_hc go_hc HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/go_hc.log" \
    "$prog" "$HOST" "$P" "$S_USER" "$S_USER_PW" 2 3 3500 k
hc_show_file "$T/go_hc.log" log
hc_assert_rc 0 "halfclose redis_session"
hc_check "every round read db 2's value" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: OK|select: OK|round 1: db2-value|round 2: db2-value|round 3: db2-value|ok|" ]
hc_assert_stat_sum "$STATS" reconnects -ge 2
hc_assert_stat_sum "$STATS" session_rebuilds -ge 2
hc_assert_stat_sum "$STATS" session_failures -eq 0
pid=$(hc_stats_get "$STATS" pid)
hc_check "the log has a supervised heal line for pid ${pid:-?} naming redis and a session rebuilt" \
    grep -Eq "^halfclose\[[0-9]+\]: pid ${pid:-x} fd [0-9]+ $HOST:$P redis \(db 2, auth\): stale \(peer FIN\) after [0-9]+ ms idle; session rebuilt \(2 commands\), reconnected in" \
    "$T/go_hc.log"

hc_section "halfclose: AUTH PASS (requirepass), db 0; GET k x2"
hc_run_hc pw_hc HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/pw_hc.log" \
    "$prog" "$HOST" "$P" - "$S_PW" 0 2 3500 k
hc_show_file "$T/pw_hc.log" log
hc_assert_rc 0 "halfclose redis_session"
hc_check "both rounds read db 0's value" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: OK|round 1: db0-value|round 2: db0-value|ok|" ]
hc_assert_stat_sum "$STATS" reconnects -ge 1
hc_assert_stat_sum "$STATS" session_rebuilds -ge 1

hc_section "halfclose: AUTH alice WRONG; GET k x2"
hc_run_hc wrong_hc HALFCLOSE_LOG=debug "HALFCLOSE_LOG_FILE=$T/wrong_hc.log" \
    "$prog" "$HOST" "$P" "$S_USER" "$S_WRONG_PW" 0 2 3500 k
hc_show_file "$T/wrong_hc.log" log
hc_assert_lacks "$OUT" db0-value "redis_session stdout (the value never reaches the program)"
round2=$(grep '^round 2: ' "$OUT")
if [ -n "$round2" ]; then
    hc_check "round 2 (healed without a session) answered NOAUTH, as the old connection would (got: $round2)" \
        [ "$round2" = "round 2: error NOAUTH Authentication required." ]
else
    hc_check "round 2 failed on the failure path, nothing sent (got: $(cat "$ERR"))" \
        grep -Eq '^redis_session: round 2: (write|read): (EPIPE|EOF|ECONNRESET)$' "$ERR"
fi
s_assert_no_secret "$T/go_hc.log" "$T/pw_hc.log" "$T/wrong_hc.log" "$T/go_hc.stats" "$T/pw_hc.stats" "$T/wrong_hc.stats"
s_assert_no_null "$T/go_hc.log" "$T/pw_hc.log" "$T/wrong_hc.log"

hc_finish
