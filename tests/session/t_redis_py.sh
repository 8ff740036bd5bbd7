#!/usr/bin/env bash
# redis-py (python3-redis), unmodified, with db=2 and password= (requirepass),
# reading k three times, 3.5 s apart; redis `--timeout 1`; k is "db0-value"
# in db 0 and "db2-value" in db 2 (clients/redis_py.py).
#   pool (redis.Redis(db=, password=), the default ConnectionPool): redis-py
#       copes by itself, with or without the library: before it hands out a
#       pooled connection it checks it (can_read: a non-blocking read, which
#       finds the EOF), disconnects and connects again, with AUTH and SELECT.
#       plain and shim print the same three values; redis receives a new
#       connection per round either way; the library never swaps (the
#       program read the EOF itself): reconnects=0.
#   single (single_connection_client=True, client_name=): one connection, no
#       check, no retry (redis-py's default Retry makes 0 retries on a
#       ConnectionError).
#       plain: round 2 fails, "ConnectionError: Connection closed by server.",
#              exit 1.
#       shim:  every round reads db 2's value: the heal rebuilt AUTH, SELECT 2
#              and CLIENT SETNAME; reconnects >= 2, session_rebuilds >= 2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
args=("$HOST" "$P" 2 "$S_PW" 3 3500 k)
want="round 1: db2-value|round 2: db2-value|round 3: db2-value|ok|"

hc_section "plain: redis-py, default pool"
before=$(s_redis_conns "$P")
hc_run_plain pool_plain "$PY" "$S_CLIENTS/redis_py.py" pool "${args[@]}"
plain_conns=$(($(s_redis_conns "$P") - before))
hc_log "    redis received $plain_conns connection(s) meanwhile (with the count's own)"
hc_assert_rc 0 "redis_py (pool)"
hc_check "every round read db 2's value" [ "$(tail -n +2 "$OUT" | tr '\n' '|')" = "$want" ]
hc_check "redis-py connected again by itself: a connection per round (+1 for the count)" \
    [ "$plain_conns" -eq 4 ]

hc_section "plain: redis-py, single_connection_client"
hc_run_plain single_plain "$PY" "$S_CLIENTS/redis_py.py" single "${args[@]}"
hc_assert_rc 1 "redis_py (single)"
hc_check "round 1 read db 2's value" [ "$(tail -n +2 "$OUT" | tr '\n' '|')" = "round 1: db2-value|" ]
hc_assert_contains "$ERR" "redis_py: round 2: ConnectionError: Connection closed by server." "redis_py stderr"

hc_require_shim
hc_section "shim: redis-py, default pool"
before=$(s_redis_conns "$P")
hc_run_shim pool_shim HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/pool_shim.log" \
    "$PY" "$S_CLIENTS/redis_py.py" pool "${args[@]}"
shim_conns=$(($(s_redis_conns "$P") - before))
hc_log "    redis received $shim_conns connection(s) meanwhile (with the count's own)"
hc_show_file "$T/pool_shim.log" log
hc_assert_rc 0 "redis_py (pool)"
s_assert_same "$T/pool_plain.out" "$T/pool_shim.out" "redis_py stdout"
hc_check "redis received as many connections as without the library ($plain_conns; got $shim_conns)" \
    [ "$shim_conns" -eq "$plain_conns" ]
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim: redis-py, single_connection_client"
hc_run_shim single_shim HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/single_shim.log" \
    "$PY" "$S_CLIENTS/redis_py.py" single "${args[@]}"
hc_show_file "$T/single_shim.log" log
hc_assert_rc 0 "redis_py (single)"
hc_check "every round read db 2's value" [ "$(tail -n +2 "$OUT" | tr '\n' '|')" = "$want" ]
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" session_rebuilds -ge 2
hc_assert_stat "$STATS" session_failures -eq 0
s_assert_no_secret "$T/pool_shim.log" "$T/single_shim.log" "$STATS"
s_assert_no_null "$T/pool_shim.log" "$T/single_shim.log"

hc_finish
