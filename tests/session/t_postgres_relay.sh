#!/usr/bin/env bash
# PostgreSQL behind an idle-closing relay (`socat -T 2`: a load balancer's
# idle timer, FIN with no FATAL message first).  The connection began with a
# StartupMessage, so it is never swapped: a swapped one would carry the query
# to a fresh backend as a garbled startup packet ("invalid length of startup
# packet" in the server's log; issue 13).  A private PostgreSQL with
# log_connections=on; psql (stdin a pipe): `SELECT 1;`, 3.5 s, `SELECT 2;`.
#   plain: psql prints the first result, then "server closed the connection
#          unexpectedly" ... "connection to server was lost", exit 2 (it does
#          not reset the connection when not interactive).
#   shim:  the same stdout, stderr and exit status; the relay accepted one
#          connection, the server logged one "connection received" and no
#          "invalid length of startup packet"; stats stateful_skipped >= 1,
#          reconnects=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_pick_port R
s_start_postgres "$P"
s_start_relay srv_relay "$R" "$P" 2
psql_cmd=(psql -X -h "$HOST" -p "$R" -U hc -d postgres)
hc_wait_for 10 psql -X -h "$HOST" -p "$P" -U hc -d postgres -c 'SELECT 1' >/dev/null 2>&1 ||
    { hc_log "PostgreSQL does not answer"; exit 1; }

# run MODE NAME: psql through the relay, stdin a FIFO fed "SELECT 1;" and
# 3.5 s later "SELECT 2;"; SEEN: the server's log meanwhile, ACCEPTS: the
# relay's new connections.
run() {
    local mode=$1 name=$2 from relay_before feeder
    local -a vars=()
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    from=$(($(wc -l <"$T/srv_postgres.err") + 1))
    relay_before=$(s_relay_accepts srv_relay)
    rm -f "$T/$name.stdin"
    mkfifo "$T/$name.stdin"
    (printf 'SELECT 1;\n'; sleep 3.5; printf 'SELECT 2;\n') >"$T/$name.stdin" &
    feeder=$!
    HC_STDIN=$T/$name.stdin "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "${psql_cmd[@]}"
    wait "$feeder" 2>/dev/null
    sleep 0.3 # the server logs what reached it
    ACCEPTS=$(($(s_relay_accepts srv_relay) - relay_before))
    tail -n +"$from" "$T/srv_postgres.err" >"$T/$name.seen"
    hc_show_file "$T/$name.seen" server
    hc_log "    the relay accepted $ACCEPTS connection(s)"
}

hc_section "plain: psql through the relay, SELECT 1; 3.5 s; SELECT 2;"
run plain pg_plain
psql_rc=$RC
hc_assert_rc 2 psql
hc_assert_contains "$OUT" "(1 row)" "psql stdout"
hc_assert_contains "$ERR" "server closed the connection unexpectedly" "psql stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
hc_assert_count "$T/pg_plain.seen" "connection received" 1 "the server's log"

hc_require_shim
hc_section "shim: the same"
run shim pg_shim
hc_show_file "$T/pg_shim.log" log
hc_assert_rc "$psql_rc" "psql (as without the library)"
s_assert_same "$T/pg_plain.out" "$T/pg_shim.out" "psql stdout"
s_assert_same "$T/pg_plain.err" "$T/pg_shim.err" "psql stderr"
hc_check "the relay accepted one connection (got $ACCEPTS)" [ "$ACCEPTS" -eq 1 ]
hc_assert_count "$T/pg_shim.seen" "connection received" 1 "the server's log"
hc_assert_lacks "$T/pg_shim.seen" "invalid length of startup packet" "the server's log"
hc_assert_stat "$STATS" stateful_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0
s_assert_no_null "$T/pg_shim.log"

hc_finish
