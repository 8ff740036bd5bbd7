#!/usr/bin/env bash
# HTTP/2 prior knowledge (h2c) behind an idle-closing relay (`socat -T 2`).
# The connection began with the HTTP/2 preface (`PRI * HTTP/2.0`): HPACK
# tables and stream ids live in it, so it is never swapped; a swapped one
# would carry HEADERS without a preface to nginx ("invalid connection
# preface") and hand the client a GOAWAY.  nginx `listen ... http2` on plain
# TCP (keep-alive 60 s: only the relay closes); the client is a python3-h2
# script (clients/h2_client.py): GET /index.html, 3.5 s idle, GET again on
# the same connection (stream 3).
#   plain: round 2 finds the connection closed: "connection lost (EOF)",
#          exit 1.
#   shim:  the same stdout, stderr and exit status; the relay accepted one
#          connection; nginx logged one request and no "invalid connection
#          preface"; stats stateful_skipped >= 1, reconnects=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_pick_port R
s_start_nginx_h2 "$P"
s_start_relay srv_relay "$R" "$P" 2

# run MODE NAME: the client through the relay; ACCEPTS: the relay's new
# connections; SEEN: nginx's error and access log lines meanwhile.
run() {
    local mode=$1 name=$2 relay_before err_from acc_from
    local -a vars=()
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    relay_before=$(s_relay_accepts srv_relay)
    err_from=$(($(wc -l <"$T/srv_nginx.error.log") + 1))
    acc_from=$(($(wc -l <"$T/srv_nginx.access.log" 2>/dev/null || echo 0) + 1))
    "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$PY" "$S_CLIENTS/h2_client.py" "$HOST" "$R" /index.html 2 3500
    sleep 0.2
    ACCEPTS=$(($(s_relay_accepts srv_relay) - relay_before))
    { tail -n +"$err_from" "$T/srv_nginx.error.log"; tail -n +"$acc_from" "$T/srv_nginx.access.log" 2>/dev/null; } \
        >"$T/$name.seen"
    hc_show_file "$T/$name.seen" nginx
    hc_log "    the relay accepted $ACCEPTS connection(s)"
}

hc_section "plain: h2c GET, 3.5 s idle, GET on the same connection, through the relay"
run plain h2_plain
h2_rc=$RC
hc_assert_rc 1 h2_client
hc_assert_contains "$OUT" "round 1: stream 1: 200 hello h2" "h2_client stdout"
hc_assert_contains "$ERR" "h2_client: round 2: connection lost" "h2_client stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
hc_assert_count "$T/h2_plain.seen" "GET /index.html HTTP/2.0 200" 1 "nginx's logs"

hc_require_shim
hc_section "shim: the same"
run shim h2_shim
hc_show_file "$T/h2_shim.log" log
hc_assert_rc "$h2_rc" "h2_client (as without the library)"
s_assert_same "$T/h2_plain.out" "$T/h2_shim.out" "h2_client stdout"
s_assert_same "$T/h2_plain.err" "$T/h2_shim.err" "h2_client stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
hc_assert_count "$T/h2_shim.seen" "GET /index.html HTTP/2.0 200" 1 "nginx's logs"
hc_assert_lacks "$T/h2_shim.seen" "invalid connection preface" "nginx's logs"
hc_assert_stat "$STATS" stateful_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0
s_assert_no_null "$T/h2_shim.log"

hc_finish
