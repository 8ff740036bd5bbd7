#!/usr/bin/env bash
# A supervised program lets a managed connection go, and lives on: the
# server must see the close at once, as without halfclose
# (tests/clients/close_paths.c, static). The supervisor takes a copy of a
# managed socket at each write and closes it before it answers: a copy kept
# from one write to the next held the connection open until the program
# exited, after an exec while other threads wrote (exec_busy: the kernel
# closes close-on-exec fds only once the other threads are gone, and their
# writes still reached the supervisor), or after a close it never saw.
#   close, close_range, exec (the socket close-on-exec), exec_busy (the same
#   with two threads writing): "let go", then the program holds on for 4 s;
#   the server's log must say it ended within 2 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PROG=$HC_STATIC/close_paths
hc_pick_port P
# An echo server that logs "conn N EOF"; its shutdown(SHUT_WR) comes after an hour.
hc_start srv_echo "$PY" "$HC_TESTS/integration/shutwr_server.py" "$P" "$T/srv.log" 3600
hc_wait_port "$P"
hc_require_launcher

# eof_logged N: the server's log says connection N ended: EOF, or a reset
# (exec_busy: echoes the program never read make its close a reset).
eof_logged() { grep -Eq "^conn $1 (EOF|recv error)" "$T/srv.log"; }

conn=0
for mode in close close_range exec exec_busy; do
    conn=$((conn + 1))
    hc_section "halfclose close_paths $mode: the server sees the close while the program runs"
    env HALFCLOSE_STATS="$T/$mode.stats" "$HC_LAUNCHER" "$PROG" "$mode" "$HOST" "$P" 4000 \
        </dev/null >"$T/$mode.out" 2>"$T/$mode.err" &
    pid=$!
    hc_check "the program says it let the connection go" hc_wait_for 5 grep -q "^let go" "$T/$mode.out"
    hc_check "the server sees connection $conn end within 2 s, the program still running" \
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
