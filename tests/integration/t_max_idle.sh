#!/usr/bin/env bash
# Pre-emptive retirement (HALFCLOSE_MAX_IDLE_MS).  Server: a socat echo server
# that closes connections idle for 5 s (-T 5), run with -d -d so that it logs
# one "accepting connection from" line per connection.  Client: reqresp,
# 2 rounds 3000 ms apart: the connection is still alive at round 2.
#   plain: the client is fine on one connection (the baseline).
#   shim, HALFCLOSE_MAX_IDLE_MS=2000: the connection was quiet 3 s >= 2 s, so
#         it is replaced at round 2 although the probe says alive: retired=1,
#         reconnects=1, stale=0; the client is fine and the server saw
#         2 connections.
#   shim default (MAX_IDLE off): nothing is replaced: retired=0,
#         reconnects=0; the client is fine and the server saw 1 connection.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ACCEPT="accepting connection from"

PORT='' SRVLOG=''
# start_server NAME: a fresh socat -T 5 echo server; sets PORT and SRVLOG.
start_server() {
    hc_pick_port PORT
    hc_start "srv_$1" socat -d -d -T 5 "TCP-LISTEN:$PORT,bind=$HOST,reuseaddr,fork" EXEC:cat
    SRVLOG=$T/srv_$1.err
    hc_wait_port "$PORT"
}

# shim_case NAME RETIRED CONNS [VAR=VAL...]: reqresp, 2 rounds 3000 ms apart,
# under the shim against the server start_server started last; the client is
# fine, RETIRED connections were retired and as many reconnected, none was
# stale, and the server saw CONNS connections.
shim_case() {
    local name=$1 retired=$2 conns=$3
    shift 3
    hc_run_shim "$name" "$@" "$HC_CLIENTS/reqresp" "$HOST" "$PORT" 2 3000
    sleep 0.2
    hc_log "    server connections: $(grep -cF "$ACCEPT" "$SRVLOG")"
    hc_assert_rc 0 reqresp
    hc_check "reqresp printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
    hc_assert_stat "$STATS" retired -eq "$retired"
    hc_assert_stat "$STATS" reconnects -eq "$retired"
    hc_assert_stat "$STATS" stale -eq 0
    hc_assert_count "$SRVLOG" "$ACCEPT" "$conns" "socat log (connections accepted)"
}

hc_section "plain: reqresp 2 rounds 3000 ms apart, server idle timeout 5 s"
start_server plain
hc_run_plain plain "$HC_CLIENTS/reqresp" "$HOST" "$PORT" 2 3000
sleep 0.2
hc_assert_rc 0 reqresp
hc_check "reqresp printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_count "$SRVLOG" "$ACCEPT" 1 "socat log (connections accepted)"

hc_require_shim

hc_section "shim, HALFCLOSE_MAX_IDLE_MS=2000: reqresp 2 rounds 3000 ms apart, server idle timeout 5 s"
start_server retire
shim_case maxidle 1 2 HALFCLOSE_MAX_IDLE_MS=2000

hc_section "shim default (MAX_IDLE off): the same client keeps its live connection"
start_server keep
shim_case nomaxidle 0 1

hc_finish
