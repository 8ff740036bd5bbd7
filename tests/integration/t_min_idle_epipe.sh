#!/usr/bin/env bash
# The failure path: a connection that dies while in active use is not swapped.
# Server: oneshot_server.py reads one line, answers "ok:LINE" and closes at
# once; it logs every connection and every line.  Client: quick_reuse (SIGPIPE
# at its default disposition): write "a", read the reply, sleep 100 ms, write
# "b", read.
#   plain:  the write of "b" succeeds locally, the read gets EOF or
#           ECONNRESET; "b" never reaches the server.
#   shim, defaults: 100 ms < HALFCLOSE_PROBE_AFTER_MS (= MIN_IDLE_MS, 250):
#           a connection too recently active to be swapped is not probed
#           either, so the program sees exactly what it sees without the
#           library (no poll on a busy connection); probes=0.
#   shim, HALFCLOSE_PROBE_AFTER_MS=0: probed, but 100 ms < MIN_IDLE_MS: the
#           write of "b" returns -1 EPIPE, nothing is sent, no SIGPIPE (a
#           normal exit); the server never receives "b" on any connection;
#           stale=1, reconnects=0.
#   shim, HALFCLOSE_MIN_IDLE_MS=0: the connection qualifies, so it heals:
#           "b" reaches the server on connection 2 and is answered;
#           reconnects=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SERVER=$HC_TESTS/integration/oneshot_server.py

PORT='' LOG=''
# start_server NAME: a fresh oneshot server on a fresh port; sets PORT and LOG.
start_server() {
    hc_pick_port PORT
    LOG=$T/srv_$1.log
    hc_start "srv_$1" "$PY" "$SERVER" "$PORT" "$LOG"
    hc_wait_port "$PORT"
}

show_server_log() {
    sleep 0.3 # let the server log the close
    hc_log "    server log:"
    hc_show_file "$LOG" server
}

# A normal exit: not killed by a signal (SIGPIPE would give 141), not timed out.
assert_normal_exit() {
    if [ "$RC" -eq 0 ]; then
        hc_pass "quick_reuse exited normally with status 0 (not killed by SIGPIPE)"
    else
        hc_fail "quick_reuse exited normally with status 0 (got $(hc_describe_rc "$RC"))"
    fi
}

hc_section "plain: quick_reuse, 100 ms between the reply and the next write"
start_server plain
hc_run_plain quick_plain "$HC_CLIENTS/quick_reuse" "$HOST" "$PORT" 100
show_server_log
assert_normal_exit
hc_assert_contains "$OUT" 'read a: 5 "ok:a"' "quick_reuse stdout"
hc_assert_contains "$OUT" "write b: 2" "quick_reuse stdout (the write succeeded locally)"
hc_check "the read after it got EOF or ECONNRESET: '$(grep '^read b' "$OUT")'" \
    grep -qE '^read b: (EOF|-1 ECONNRESET)$' "$OUT"
hc_assert_lacks "$LOG" "recv b" "server log (\"b\" was lost)"
hc_assert_count "$LOG" "accepted" 1 "server log"

hc_require_shim

hc_section "shim, defaults: not probed (too recently active), so exactly as without the library"
start_server default
hc_run_shim quick_default "$HC_CLIENTS/quick_reuse" "$HOST" "$PORT" 100
show_server_log
assert_normal_exit
hc_assert_contains "$OUT" "write b: 2" "quick_reuse stdout (the write succeeded locally, as without it)"
hc_check "the read after it got EOF or ECONNRESET, as without it: '$(grep '^read b' "$OUT")'" \
    grep -qE '^read b: (EOF|-1 ECONNRESET)$' "$OUT"
hc_assert_lacks "$LOG" "recv b" "server log (\"b\" was lost, as without it)"
hc_assert_count "$LOG" "accepted" 1 "server log"
hc_assert_stat "$STATS" probes -eq 0
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim, HALFCLOSE_PROBE_AFTER_MS=0 (MIN_IDLE_MS 250): the failure path"
start_server shim
hc_run_shim quick_shim HALFCLOSE_PROBE_AFTER_MS=0 "$HC_CLIENTS/quick_reuse" "$HOST" "$PORT" 100
show_server_log
assert_normal_exit
hc_assert_contains "$OUT" 'read a: 5 "ok:a"' "quick_reuse stdout"
hc_assert_contains "$OUT" "write b: -1 EPIPE" "quick_reuse stdout"
hc_assert_contains "$OUT" "done" "quick_reuse stdout (it ran to the end)"
hc_assert_lacks "$LOG" "recv b" "server log (\"b\" reached no connection)"
hc_assert_lacks "$LOG" "extra" "server log (nothing after the first line either)"
hc_assert_count "$LOG" "accepted" 1 "server log (no new connection)"
hc_assert_stat "$STATS" stale -eq 1
hc_assert_stat "$STATS" reconnects -eq 0

hc_section "shim with HALFCLOSE_MIN_IDLE_MS=0: the same connection heals"
start_server minidle0
hc_run_shim quick_minidle0 HALFCLOSE_MIN_IDLE_MS=0 "$HC_CLIENTS/quick_reuse" "$HOST" "$PORT" 100
show_server_log
assert_normal_exit
hc_assert_contains "$OUT" "write b: 2" "quick_reuse stdout"
hc_assert_contains "$OUT" 'read b: 5 "ok:b"' "quick_reuse stdout"
hc_assert_contains "$LOG" "conn 2 recv b" "server log (\"b\" on the new connection)"
hc_assert_count "$LOG" "recv b" 1 "server log (received exactly once)"
hc_assert_stat "$STATS" stale -eq 1
hc_assert_stat "$STATS" reconnects -eq 1

hc_finish
