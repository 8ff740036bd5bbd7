#!/usr/bin/env bash
# A Go request/response client (tests/go/redis_ping.go: raw RESP over
# net.Conn, the runtime's netpoller, read deadlines) against
# `redis-server --timeout 2`: PING, idle 3.5 s, PING.
#   plain:      the second PING goes into the connection redis closed: read
#               EOF, exit 1.
#   halfclose:  supervised (static Go binary); the second PING goes out on a
#               fresh connection at the same fd number and its PONG comes back.
# t_go_epoll_rearm shows that the runtime's epoll registration is carried over.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start_redis "$P" 2

hc_section "plain: redis_ping, PING / 3.5 s idle / PING, redis --timeout 2"
hc_run_plain ping_plain "$HC_GO/redis_ping" "$HOST" "$P" 2 3500 3000
hc_assert_rc 1 "redis_ping"
hc_assert_contains "$OUT" "round 1: PONG" "redis_ping stdout"
hc_assert_contains "$ERR" "redis_ping: round 2: read: EOF" "redis_ping stderr"

hc_require_launcher
hc_section "halfclose (auto-detected: static Go binary)"
hc_run_hc ping_hc HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/ping_hc.log" \
    "$HC_GO/redis_ping" "$HOST" "$P" 2 3500 3000
hc_show_file "$T/ping_hc.log" log
hc_assert_rc 0 "halfclose redis_ping"
hc_assert_contains "$OUT" "round 2: PONG" "redis_ping stdout"
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" stale -ge 1
# the log line names the program's pid (the stats line's) and the server
pid=$(hc_stats_get "$STATS" pid)
hc_check "the log has a heal line for pid ${pid:-?} and $HOST:$P" \
    grep -Eq "^halfclose\[[0-9]+\]: pid ${pid:-x} fd [0-9]+ $HOST:$P redis: stale \(peer FIN\) after [0-9]+ ms idle; reconnected in" \
    "$T/ping_hc.log"

hc_finish
