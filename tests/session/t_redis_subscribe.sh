#!/usr/bin/env bash
# Session modes that cannot be rebuilt end management: the connection is
# never swapped and fails exactly as without the library.
#   SUBSCRIBE: redis never times out a subscriber, so an idle-closing relay
#       (`socat -T 2`, a load balancer's idle timer) sits in front of it; a
#       raw RESP client does AUTH, SUBSCRIBE ch, 3.5 s idle, PING (in
#       subscribe mode RESP2 PING answers [pong, ""]).
#   CLIENT TRACKING on (the program's client-side cache; a new connection
#       would not send it invalidations): HELLO 3 AUTH alice, CLIENT TRACKING
#       on, GET k, 3.5 s idle (redis `--timeout 1`), GET k.
#   plain: the command after the gap finds the connection closed: "connection
#          lost" (read EOF), exit 1.
#   shim:  the same failure, detail included (nothing was touched); nothing
#          new reached redis: the relay accepted one connection, redis
#          received as many as without the library; stats reconnects=0,
#          stateful_skipped >= 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_pick_port R
s_start_redis "$P" 1
s_start_relay srv_relay "$R" "$P" 2
subscribe=("send:AUTH $S_PW" "send:SUBSCRIBE ch" "sleep:3500" "send:PING")
tracking=("send:HELLO 3 AUTH $S_USER $S_USER_PW" "send:CLIENT TRACKING on" "send:GET k" "sleep:3500" "send:GET k")

# run MODE NAME PORT STEPS...: the client; CONNS: connections redis received
# meanwhile (the count's own query included); ACCEPTS: the relay's.
run() {
    local mode=$1 name=$2 port=$3 before relay_before
    local -a vars=()
    shift 3
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    before=$(s_redis_conns "$P")
    relay_before=$(s_relay_accepts srv_relay)
    "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$port" "$@"
    CONNS=$(($(s_redis_conns "$P") - before))
    ACCEPTS=$(($(s_relay_accepts srv_relay) - relay_before))
    hc_log "    redis received $CONNS connection(s) meanwhile (with the count's own), the relay $ACCEPTS"
}

hc_section "plain: AUTH, SUBSCRIBE ch through the relay; 3.5 s idle; PING"
run plain sub_plain "$R" "${subscribe[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$OUT" '< ["subscribe", "ch", :1]' "resp_steps stdout"
hc_assert_contains "$ERR" "step 4 (PING): connection lost" "resp_steps stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
sub_conns=$CONNS

hc_section "plain: HELLO 3 AUTH, CLIENT TRACKING on, GET k; 3.5 s idle; GET k"
run plain track_plain "$P" "${tracking[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$ERR" "step 5 (GET k): connection lost" "resp_steps stderr"
track_conns=$CONNS

hc_require_shim
hc_section "shim: SUBSCRIBE"
run shim sub_shim "$R" "${subscribe[@]}"
hc_show_file "$T/sub_shim.log" log
hc_assert_rc 1 resp_steps
s_assert_same "$T/sub_plain.out" "$T/sub_shim.out" "resp_steps stdout"
s_assert_same "$T/sub_plain.err" "$T/sub_shim.err" "resp_steps stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
hc_check "redis received as many connections as without the library ($sub_conns; got $CONNS)" \
    [ "$CONNS" -eq "$sub_conns" ]
hc_assert_stat "$STATS" reconnects -eq 0
hc_assert_stat "$STATS" stateful_skipped -ge 1

hc_section "shim: CLIENT TRACKING on"
run shim track_shim "$P" "${tracking[@]}"
hc_show_file "$T/track_shim.log" log
hc_assert_rc 1 resp_steps
s_assert_same "$T/track_plain.err" "$T/track_shim.err" "resp_steps stderr"
hc_check "redis received as many connections as without the library ($track_conns; got $CONNS)" \
    [ "$CONNS" -eq "$track_conns" ]
hc_assert_stat "$STATS" reconnects -eq 0
hc_assert_stat "$STATS" stateful_skipped -ge 1
s_assert_no_secret "$T/sub_shim.log" "$T/track_shim.log"
s_assert_no_null "$T/sub_shim.log" "$T/track_shim.log"

hc_finish
