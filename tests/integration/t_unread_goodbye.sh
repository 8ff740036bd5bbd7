#!/usr/bin/env bash
# A server that says something before it closes (goodbye_server.py): 1 s after
# the accept it sends "BYE\n" and closes, unless a line arrived first, which it
# answers with "echo:LINE\n".  Client: line_client.py, connect, sleep 2 s,
# send "req\n", read until EOF.
#   plain:                  the client reads "BYE\n" (the request is lost).
#   shim (UNREAD=keep):     the probe sees a hangup with unread bytes and
#                           leaves the connection exactly as it is: the
#                           client's output is byte for byte the plain one;
#                           unread_kept=1, reconnects=0.
#   shim (UNREAD=discard):  reconnects instead: the request reaches the server
#                           on a fresh connection and the client reads
#                           "echo:req\n"; reconnects=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CLIENT=$HC_TESTS/clients/line_client.py
SERVER=$HC_TESTS/integration/goodbye_server.py

PORT='' LOG=''
# start_server NAME: a fresh goodbye server on a fresh port; sets PORT and LOG.
start_server() {
    hc_pick_port PORT
    LOG=$T/srv_$1.log
    hc_start "srv_$1" "$PY" "$SERVER" "$PORT" "$LOG" 1
    hc_wait_port "$PORT"
}

show_server_log() {
    sleep 0.3 # let the server log the close
    hc_log "    server log:"
    hc_show_file "$LOG" server
}

hc_section "plain: line_client.py, 2 s idle, server says BYE and closes after 1 s"
start_server plain
hc_run_plain bye_plain "$PY" "$CLIENT" "$HOST" "$PORT" 2000 req
show_server_log
hc_assert_rc 0 line_client.py
hc_assert_contains "$OUT" "got: b'BYE\\n'" "client stdout (it read the goodbye)"
hc_assert_contains "$LOG" "conn 1 sent BYE" "server log"
hc_assert_lacks "$LOG" "recv req" "server log (the request was lost)"
cp "$OUT" "$T/plain_output.txt"

hc_require_shim

hc_section "shim, HALFCLOSE_UNREAD unset (keep): the connection is left as it is"
start_server keep
hc_run_shim bye_keep "$PY" "$CLIENT" "$HOST" "$PORT" 2000 req
show_server_log
hc_assert_rc 0 line_client.py
hc_check "client output is identical to the plain run" cmp -s "$T/plain_output.txt" "$OUT"
hc_assert_contains "$OUT" "got: b'BYE\\n'" "client stdout"
hc_assert_lacks "$LOG" "conn 2" "server log (no second connection)"
hc_assert_lacks "$LOG" "recv req" "server log"
hc_assert_stat "$STATS" unread_kept -eq 1
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim, HALFCLOSE_UNREAD=discard: the goodbye is dropped, a fresh connection answers"
start_server discard
hc_run_shim bye_discard HALFCLOSE_UNREAD=discard "$PY" "$CLIENT" "$HOST" "$PORT" 2000 req
show_server_log
hc_assert_rc 0 line_client.py
hc_assert_contains "$OUT" "got: b'echo:req\\n'" "client stdout"
hc_assert_contains "$OUT" "end: EOF" "client stdout"
hc_assert_lacks "$OUT" "BYE" "client stdout (the goodbye was discarded)"
hc_assert_contains "$LOG" "conn 1 sent BYE" "server log"
hc_assert_contains "$LOG" "conn 2 recv req" "server log (request on the new connection)"
hc_assert_count "$LOG" "recv req" 1 "server log (request received exactly once)"
hc_assert_stat "$STATS" reconnects -eq 1
hc_assert_stat "$STATS" unread_kept -eq 0

hc_finish
