#!/usr/bin/env bash
# The seed's second server: it shuts down its write side (shutdown(SHUT_WR))
# 1 s after accepting, keeps reading, logs every request, and answers only on
# connections it has not shut down.  Client: reqresp, connect, sleep 3 s,
# one request "req 1", read the reply.
#   plain: the request reaches the server on the old connection, is never
#          answered, and the client reads EOF.
#   shim:  the probe cannot tell SHUT_WR from close() (both are a FIN), and a
#          peer that shut its write side can no longer answer on that
#          connection, so it is treated as stale (documented decision): the
#          shim reconnects, the request arrives exactly once, on connection 2,
#          and is answered.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LOG=''
# run_against_server MODE: a fresh shutwr_server.py (SHUT_WR 1 s after each
# accept, log $T/srv_shutwr_MODE.log), then reqresp, 1 round after 3 s idle,
# run with hc_run_MODE (plain|shim); sets LOG and shows it.
run_against_server() {
    local mode=$1 srv_port
    hc_pick_port srv_port
    LOG=$T/srv_shutwr_$mode.log
    hc_start "srv_shutwr_$mode" "$PY" "$HC_TESTS/integration/shutwr_server.py" "$srv_port" "$LOG" 1
    hc_wait_port "$srv_port"
    "hc_run_$mode" "peer_$mode" "$HC_CLIENTS/reqresp" "$HOST" "$srv_port" 1 0 3000
    sleep 0.3
    hc_log "    server log:"; hc_show_file "$LOG" server
}

hc_section "plain: reqresp, 1 round after 3 s idle, server shut its write side after 1 s"
run_against_server plain
hc_assert_rc 1 reqresp
hc_assert_contains "$ERR" "round 1: read: EOF" "reqresp stderr"
hc_assert_contains "$LOG" "conn 1 shutdown(SHUT_WR)" "server log"
hc_assert_contains "$LOG" "conn 1 recv req 1" "server log (request received on the old connection)"
hc_assert_contains "$LOG" "conn 1 no reply" "server log"
hc_assert_lacks "$LOG" "conn 2 accepted" "server log"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD, fresh server"
run_against_server shim
hc_assert_rc 0 reqresp
hc_check "reqresp printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_count "$LOG" "recv req 1" 1 "server log (request received exactly once)"
hc_assert_contains "$LOG" "conn 2 recv req 1" "server log (on the new connection)"
hc_assert_contains "$LOG" "conn 2 replied req 1" "server log"
hc_assert_lacks "$LOG" "conn 1 recv" "server log (nothing arrived on the old connection)"
hc_assert_contains "$LOG" "conn 1 EOF" "server log (old connection closed by the swap)"
hc_assert_stat "$STATS" stale -eq 1
hc_assert_stat "$STATS" reconnects -eq 1

hc_finish
