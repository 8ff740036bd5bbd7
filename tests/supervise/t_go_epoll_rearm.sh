#!/usr/bin/env bash
# The supervisor re-adds a healed socket to the program's epoll sets; without
# that a Go program never learns that its reply came.  tests/go/redis_ping.go
# against `redis-server --timeout 2`, idle 3.5 s between requests.  A bare
# PING's reply is often in the socket before the Go runtime reads (then epoll
# is never asked: t_go_redis), so here each request is
# `BLPOP halfclose:nothing 0.2` + PING in one write (redis_ping SLOW_MS=200):
# the reply comes 200 ms later, and the read certainly waits for the socket
# in the runtime's epoll_wait.
#   plain:      round 2: read EOF, exit 1.
#   halfclose:  healed and answered, which needs the runtime's epoll
#               registration carried over to the new socket.
#   halfclose --test-no-epoll-rearm (the launcher's test-only switch): healed,
#               but the reply arrives on a socket the runtime's epoll set does
#               not know; the read waits until its 1.5 s deadline: exit 3
#               (timeout).  The proof that the re-arm step is needed, and done.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# The launcher's test-only flag (tools/supervise.h, INTERFACE).
NO_REARM=--test-no-epoll-rearm

hc_pick_port P
hc_start_redis "$P" 2

hc_section "plain: redis_ping with slow replies, 3.5 s idle, redis --timeout 2"
hc_run_plain slow_plain "$HC_GO/redis_ping" "$HOST" "$P" 2 3500 1500 200
hc_assert_rc 1 "redis_ping (slow replies)"
hc_assert_contains "$OUT" "round 1: PONG (after BLPOP for 200 ms)" "redis_ping stdout"
hc_assert_contains "$ERR" "redis_ping: round 2: read: EOF" "redis_ping stderr"

hc_require_launcher
hc_section "halfclose, slow replies: the read waits in epoll for the healed socket"
hc_run_hc slow_hc "$HC_GO/redis_ping" "$HOST" "$P" 2 3500 1500 200
hc_assert_rc 0 "halfclose redis_ping (slow replies)"
hc_assert_contains "$OUT" "round 2: PONG (after BLPOP for 200 ms)" "redis_ping stdout"
hc_assert_stat "$STATS" reconnects -ge 1

hc_section "halfclose $NO_REARM, slow replies: healed, but the runtime's epoll never hears of the new socket"
hc_run_hc slow_norearm "$NO_REARM" "$HC_GO/redis_ping" "$HOST" "$P" 2 3500 1500 200
hc_assert_rc 3 "halfclose $NO_REARM redis_ping (slow replies)"
hc_assert_contains "$OUT" "round 1: PONG" "redis_ping stdout"
hc_assert_contains "$ERR" "redis_ping: round 2: read: timeout" "redis_ping stderr"
hc_assert_stat "$STATS" reconnects -ge 1

hc_finish
