#!/usr/bin/env bash
# hiredis (libhiredis-dev), unmodified, in a C program with a session
# (clients/hiredis_session.c): AUTH alice PASS (an ACL user) and SELECT 2
# once, then GET k three times, 3.5 s apart, on one connection; redis
# `--timeout 1`, k is "db0-value" in db 0 and "db2-value" in db 2.
#   plain: the second GET: hiredis' "Server closed the connection", exit 1.
#   shim:  every GET reads db 2's value as alice (no NOAUTH, no db 0 value);
#          reconnects >= 2, session_rebuilds >= 2; the log names the class and
#          the rebuilt session, never the password.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
client=("$S_BIN/hiredis_session" "$HOST" "$P" "$S_USER" "$S_USER_PW" 2)

hc_section "plain: hiredis_session AUTH alice + SELECT 2, GET k x2, 3.5 s apart"
hc_run_plain hiredis_plain "${client[@]}" 2 3500 k
hc_assert_rc 1 hiredis_session
hc_check "auth, select and the first GET worked" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: OK|select: OK|round 1: db2-value|" ]
hc_assert_contains "$ERR" "hiredis_session: round 2: Server closed the connection" "hiredis_session stderr"

hc_require_shim
hc_section "shim: GET k x3, 3.5 s apart"
hc_run_shim hiredis_shim HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/hiredis_shim.log" "${client[@]}" 3 3500 k
hc_show_file "$T/hiredis_shim.log" log
hc_assert_rc 0 hiredis_session
hc_check "every GET read db 2's value" \
    [ "$(tr '\n' '|' <"$OUT")" = "auth: OK|select: OK|round 1: db2-value|round 2: db2-value|round 3: db2-value|ok|" ]
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" session_rebuilds -ge 2
hc_assert_stat "$STATS" session_failures -eq 0
hc_check "the log has a heal line naming redis (db 2, auth) and a rebuild of 2 commands" \
    grep -Eq "^halfclose\[[0-9]+\]: fd [0-9]+ $HOST:$P redis \(db 2, auth\): stale \(peer FIN\) after [0-9]+ ms idle; session rebuilt \(2 commands\), reconnected in [0-9.]+ ms" \
    "$T/hiredis_shim.log"
s_assert_no_secret "$T/hiredis_shim.log" "$STATS" "$ERR"
s_assert_no_null "$T/hiredis_shim.log"

hc_finish
