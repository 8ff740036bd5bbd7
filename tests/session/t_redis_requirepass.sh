#!/usr/bin/env bash
# redis with `requirepass` and `--timeout 1`; redis-cli, unmodified, logs in
# (-a: `AUTH PW`) and selects a database (-n 2: `SELECT 2`) once, then
# `-r N -i 3.5 GET k` on its one connection: each GET after 3.5 s idle.
# k is "db0-value" in db 0 and "db2-value" in db 2.
#   plain: the second GET goes into the connection redis closed: redis-cli
#          prints "Error: Server closed the connection" and exits 1 (with -r
#          it does not reconnect; only its interactive mode does).
#   shim:  every GET heals with its session: AUTH (and SELECT 2) are sent
#          first on the new connection, so every GET reads the right db's
#          value (no NOAUTH, no db 0 value for -n 2); stats reconnects and
#          session_rebuilds >= 1 (-r 2, db 0) and >= 2 (-r 3, db 2); the info
#          log line names the class and what was rebuilt, never the password.
#   shim, HALFCLOSE_SESSION_MAX=0 (a connection with any session is never
#          swapped): exactly the plain run's stdout, stderr and exit status;
#          reconnects=0, stateful_skipped >= 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
cli=(redis-cli -h "$HOST" -p "$P" -a "$S_PW" --no-auth-warning)

hc_section "plain: redis-cli -a PW -n 2 -r 3 -i 3.5 GET k, redis --timeout 1"
hc_run_plain cli_plain "${cli[@]}" -n 2 -r 3 -i 3.5 GET k
hc_assert_rc 1 "redis-cli"
plain_rc=$RC
hc_check "the first GET read db 2's value" [ "$(head -n 1 "$OUT")" = db2-value ]
hc_assert_count "$OUT" db2-value 1 "redis-cli stdout"
hc_assert_contains "$ERR" "Error: Server closed the connection" "redis-cli stderr"

hc_require_shim
hc_section "shim: redis-cli -a PW -r 2 -i 3.5 GET k (db 0)"
hc_run_shim cli_db0 HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/cli_db0.log" \
    "${cli[@]}" -r 2 -i 3.5 GET k
hc_show_file "$T/cli_db0.log" log
hc_assert_rc 0 "redis-cli"
hc_check "stdout is db0-value twice, nothing else" \
    [ "$(tr '\n' ' ' <"$OUT")" = "db0-value db0-value " ]
hc_assert_lacks "$OUT" NOAUTH "redis-cli stdout"
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" session_rebuilds -ge 1
hc_assert_stat "$STATS" session_failures -eq 0
s_assert_no_secret "$T/cli_db0.log" "$STATS" "$ERR"

hc_section "shim: redis-cli -a PW -n 2 -r 3 -i 3.5 GET k"
hc_run_shim cli_db2 HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/cli_db2.log" \
    "${cli[@]}" -n 2 -r 3 -i 3.5 GET k
hc_show_file "$T/cli_db2.log" log
hc_assert_rc 0 "redis-cli"
hc_check "stdout is db2-value three times, nothing else" \
    [ "$(tr '\n' ' ' <"$OUT")" = "db2-value db2-value db2-value " ]
hc_assert_lacks "$OUT" db0-value "redis-cli stdout"
hc_assert_lacks "$OUT" NOAUTH "redis-cli stdout"
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" session_rebuilds -ge 2
hc_assert_stat "$STATS" session_failures -eq 0
hc_assert_stat "$STATS" stateful_skipped -eq 0
# DESIGN's log line: class, what the session holds, what was rebuilt
hc_check "the log has a heal line naming redis (db 2, auth) and a rebuild of 2 commands" \
    grep -Eq "^halfclose\[[0-9]+\]: fd [0-9]+ $HOST:$P redis \(db 2, auth\): stale \(peer FIN\) after [0-9]+ ms idle; session rebuilt \(2 commands\), reconnected in [0-9.]+ ms" \
    "$T/cli_db2.log"
s_assert_no_secret "$T/cli_db2.log" "$STATS" "$ERR"

hc_section "shim, HALFCLOSE_SESSION_MAX=0: redis-cli -a PW -n 2 -r 3 -i 3.5 GET k"
hc_run_shim cli_max0 HALFCLOSE_SESSION_MAX=0 HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/cli_max0.log" \
    "${cli[@]}" -n 2 -r 3 -i 3.5 GET k
hc_show_file "$T/cli_max0.log" log
hc_assert_rc "$plain_rc" "redis-cli (as without the library)"
s_assert_same "$T/cli_plain.out" "$T/cli_max0.out" "redis-cli stdout"
s_assert_same "$T/cli_plain.err" "$T/cli_max0.err" "redis-cli stderr"
hc_assert_stat "$STATS" reconnects -eq 0
hc_assert_stat "$STATS" stateful_skipped -ge 1
s_assert_no_secret "$T/cli_max0.log" "$STATS"
s_assert_no_null "$T/cli_db0.log" "$T/cli_db2.log" "$T/cli_max0.log"

hc_finish
