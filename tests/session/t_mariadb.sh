#!/usr/bin/env bash
# MariaDB after wait_timeout: the server spoke first (its handshake), so the
# connection is never swapped; a new connection's handshake read as the
# reply to a query would be "Got packets out of order" (issue 13).  A private
# mariadbd (`--wait-timeout=2 --interactive-timeout=2`, datadir in $T).
#   mariadb CLI (batch mode: stdin is a pipe): `SELECT 1;`, 3.5 s, `SELECT 2;`
#   PyMySQL (clients/mysql_py.py): SELECT 1, 3.5 s idle, SELECT 2
#   plain: the second query fails (recorded here, e.g. the CLI's "ERROR 2006
#          (HY000) at line 2: Server has gone away", PyMySQL's
#          OperationalError 2006 "MySQL server has gone away
#          (ConnectionResetError(104, ...))"): mariadbd resets the idle
#          connection; the CLI does not reconnect in batch mode.
#   shim:  the same stdout, stderr and exit status, byte for byte; the
#          server saw as many connections as without the library (SHOW
#          GLOBAL STATUS 'Connections'); stats stateful_skipped >= 1,
#          reconnects=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_mariadb "$P"
hc_log "mariadbd $(mariadbd --version 2>/dev/null | awk '{ print $3 }'), port $P"
cli=(mariadb --no-defaults -h "$HOST" -P "$P" -u hc "-p$S_PW")

# run MODE NAME CMD...: CMD with CONNS = the server's new connections
# meanwhile (the count's own query included); the CLI's stdin is a FIFO fed
# "SELECT 1;", then 3.5 s later "SELECT 2;".
run() {
    local mode=$1 name=$2 before feeder
    shift 2
    local -a vars=()
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    before=$(s_mariadb_connections)
    rm -f "$T/$name.stdin"
    mkfifo "$T/$name.stdin"
    (printf 'SELECT 1;\n'; sleep 3.5; printf 'SELECT 2;\n') >"$T/$name.stdin" &
    feeder=$!
    HC_STDIN=$T/$name.stdin "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$@"
    wait "$feeder" 2>/dev/null
    CONNS=$(($(s_mariadb_connections) - before))
    hc_log "    the server counted $CONNS new connection(s) meanwhile (with the count's own)"
}

hc_section "plain: mariadb CLI, SELECT 1; 3.5 s; SELECT 2; (wait_timeout 2)"
run plain cli_plain "${cli[@]}"
hc_assert_rc_nonzero "mariadb"
hc_check "SELECT 1 answered" grep -qx 1 "$OUT"
hc_check "SELECT 2 failed with a client error 20xx (got: $(tail -n 1 "$ERR"))" \
    grep -Eq '^ERROR 20[0-9][0-9] \(HY000\) at line 2' "$ERR"
cli_conns=$CONNS cli_rc=$RC
hc_check "the CLI did not reconnect by itself (1 connection + the count's)" [ "$CONNS" -eq 2 ]

hc_section "plain: PyMySQL, SELECT 1, 3.5 s idle, SELECT 2"
run plain py_plain "$PY" "$S_CLIENTS/mysql_py.py" "$HOST" "$P" hc "$S_PW" 3500
hc_assert_rc 1 mysql_py
hc_assert_contains "$OUT" "query 1: ((1,),)" "mysql_py stdout"
hc_check "query 2 failed with OperationalError 20xx (got: $(cat "$ERR"))" \
    grep -Eq '^mysql_py: query 2: OperationalError 20[0-9][0-9]: ' "$ERR"
py_conns=$CONNS

hc_require_shim
hc_section "shim: mariadb CLI"
run shim cli_shim "${cli[@]}"
hc_show_file "$T/cli_shim.log" log
hc_assert_rc "$cli_rc" "mariadb (as without the library)"
s_assert_same "$T/cli_plain.out" "$T/cli_shim.out" "mariadb stdout"
s_assert_same "$T/cli_plain.err" "$T/cli_shim.err" "mariadb stderr"
hc_check "the server counted as many connections as without the library ($cli_conns; got $CONNS)" \
    [ "$CONNS" -eq "$cli_conns" ]
hc_assert_stat "$STATS" stateful_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim: PyMySQL"
run shim py_shim "$PY" "$S_CLIENTS/mysql_py.py" "$HOST" "$P" hc "$S_PW" 3500
hc_show_file "$T/py_shim.log" log
hc_assert_rc 1 mysql_py
s_assert_same "$T/py_plain.out" "$T/py_shim.out" "mysql_py stdout"
s_assert_same "$T/py_plain.err" "$T/py_shim.err" "mysql_py stderr"
hc_check "the server counted as many connections as without the library ($py_conns; got $CONNS)" \
    [ "$CONNS" -eq "$py_conns" ]
hc_assert_stat "$STATS" stateful_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0
s_assert_no_secret "$T/cli_shim.log" "$T/py_shim.log"
s_assert_no_null "$T/cli_shim.log" "$T/py_shim.log"

hc_finish
