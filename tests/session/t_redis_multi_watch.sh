#!/usr/bin/env bash
# No swap while a MULTI or a WATCH is open.  redis (`--timeout 1`,
# requirepass) closes the idle connection in the middle of a transaction; a
# raw RESP client (clients/resp_steps.py):
#   MULTI:  AUTH, MULTI, INCR counter (QUEUED), 3.5 s idle, INCR counter, EXEC
#   WATCH:  AUTH, WATCH w, 3.5 s idle, MULTI + SET w after + EXEC in one write
#   plain: the command after the gap finds the connection closed: "connection
#          lost" (read EOF), exit 1; redis discarded the transaction.
#   shim:  not swapped: the client fails the same way (same step, same class:
#          connection lost; the detail may be EPIPE, the designed failure path
#          that sends nothing), exit 1; nothing of it reached redis: counter
#          and w are still unset (a swap would have run INCR outside the
#          transaction, or the transaction without its WATCH), and redis saw
#          as many connections as without the library; stats reconnects=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
multi=("send:AUTH $S_PW" "send:MULTI" "send:INCR counter" "sleep:3500" "send:INCR counter" "send:EXEC")
watch=("send:AUTH $S_PW" "send:WATCH w" "sleep:3500" "send:MULTI;SET w after;EXEC")

# run MODE NAME STEPS...: the client, and the connections redis received
# meanwhile (the count's own query included) in CONNS.
run() {
    local mode=$1 name=$2 before
    local -a vars=()
    shift 2
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    before=$(s_redis_conns "$P")
    "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "$@"
    CONNS=$(($(s_redis_conns "$P") - before))
    hc_log "    redis received $CONNS connection(s) meanwhile (with the count's own)"
}

hc_section "plain: MULTI open across the gap"
run plain multi_plain "${multi[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$OUT" "< +QUEUED" "resp_steps stdout"
hc_assert_contains "$ERR" "step 5 (INCR counter): connection lost" "resp_steps stderr"
plain_multi_conns=$CONNS
hc_check "counter is unset (redis discarded the transaction)" [ -z "$(s_redis "$P" GET counter)" ]

hc_section "plain: WATCH open across the gap"
run plain watch_plain "${watch[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$ERR" "step 4 (MULTI;SET w after;EXEC): connection lost" "resp_steps stderr"
plain_watch_conns=$CONNS
hc_check "w is unset" [ -z "$(s_redis "$P" GET w)" ]

hc_require_shim
hc_section "shim: MULTI open across the gap"
run shim multi_shim "${multi[@]}"
hc_show_file "$T/multi_shim.log" log
hc_assert_rc 1 resp_steps
s_assert_class_same "$T/multi_plain.err" "$T/multi_shim.err" "resp_steps' failure"
hc_check "counter is still unset (no INCR outside the transaction)" [ -z "$(s_redis "$P" GET counter)" ]
hc_check "redis received as many connections as without the library ($plain_multi_conns; got $CONNS)" \
    [ "$CONNS" -eq "$plain_multi_conns" ]
hc_assert_stat "$STATS" reconnects -eq 0
hc_assert_stat "$STATS" session_rebuilds -eq 0

hc_section "shim: WATCH open across the gap"
run shim watch_shim "${watch[@]}"
hc_show_file "$T/watch_shim.log" log
hc_assert_rc 1 resp_steps
s_assert_class_same "$T/watch_plain.err" "$T/watch_shim.err" "resp_steps' failure"
hc_check "w is still unset (no transaction without its WATCH)" [ -z "$(s_redis "$P" GET w)" ]
hc_check "redis received as many connections as without the library ($plain_watch_conns; got $CONNS)" \
    [ "$CONNS" -eq "$plain_watch_conns" ]
hc_assert_stat "$STATS" reconnects -eq 0
hc_assert_stat "$STATS" session_rebuilds -eq 0
s_assert_no_secret "$T/multi_shim.log" "$T/watch_shim.log"
s_assert_no_null "$T/multi_shim.log" "$T/watch_shim.log"

hc_finish
