#!/usr/bin/env bash
# A supervised program lets a managed connection go, and lives on: the
# server must see the close at once, as without halfclose (issue 14 item 3:
# the supervisor keeps a copy of the program's managed socket from one write
# to the next, and drops it before the program's close, close_range or exec
# runs; tests/clients/close_paths.c, static). Before the copies were dropped
# there, the connection stayed open until the program exited.
#   close, close_range, exec (the socket close-on-exec): "let go", then the
#   program holds on for 4 s; the server's log must say EOF within 2 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PROG=$HC_STATIC/close_paths
hc_pick_port P
# An echo server that logs "conn N EOF"; its shutdown(SHUT_WR) comes after an hour.
hc_start srv_echo "$PY" "$HC_TESTS/integration/shutwr_server.py" "$P" "$T/srv.log" 3600
hc_wait_port "$P"
hc_require_launcher

# eof_logged N: the server's log says connection N ended.
eof_logged() { grep -q "^conn $1 EOF" "$T/srv.log"; }

conn=0
for mode in close close_range exec; do
    conn=$((conn + 1))
    hc_section "halfclose close_paths $mode: the server sees the close while the program runs"
    env HALFCLOSE_STATS="$T/$mode.stats" "$HC_LAUNCHER" "$PROG" "$mode" "$HOST" "$P" 4000 \
        </dev/null >"$T/$mode.out" 2>"$T/$mode.err" &
    pid=$!
    hc_check "the program says it let the connection go" hc_wait_for 5 grep -q "^let go" "$T/$mode.out"
    hc_check "the server sees EOF on connection $conn within 2 s, the program still running" \
        hc_wait_for 2 eof_logged "$conn"
    hc_check "the program is still running" kill -0 "$pid"
    wait "$pid"
    RC=$?
    hc_show_file "$T/$mode.out" stdout
    hc_show_file "$T/$mode.err" stderr
    hc_assert_rc 0 "halfclose close_paths $mode"
    hc_assert_contains "$T/$mode.out" "done" "close_paths stdout"
    hc_assert_stat "$T/$mode.stats" managed -eq 1
done
hc_show_file "$T/srv.log" server
hc_finish
