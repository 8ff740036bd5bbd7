#!/usr/bin/env bash
# A pool of 16 connections used at once by 16 goroutines (tests/go/pool_client.go)
# against `redis-server --timeout 2`: every connection goes stale in the same
# 4 s idle period, and the runtime multiplexes them on a few threads and one
# epoll set.  Slow replies (BLPOP 0.2 + PING), so every read waits in epoll.
#   plain:      round 2: none of the 16 answered (read EOF), exit 1.
#   halfclose (auto-detected): all 16 answered; 16 reconnects.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=16
hc_pick_port P
hc_start_redis "$P" 2

hc_section "plain: pool_client, $N connections, 4 s idle"
hc_run_plain pool_plain "$HC_GO/pool_client" "$HOST" "$P" "$N" 4000 1500 200
hc_assert_rc 1 "pool_client"
hc_assert_contains "$OUT" "round 1: $N of $N answered" "pool_client stdout"
hc_assert_contains "$OUT" "round 2: 0 of $N answered" "pool_client stdout"
hc_assert_count "$ERR" "read: EOF" "$N" "pool_client stderr"

hc_require_launcher
hc_section "halfclose (auto-detected): the same"
hc_run_hc pool_hc "$HC_GO/pool_client" "$HOST" "$P" "$N" 4000 1500 200
hc_assert_rc 0 "halfclose pool_client"
hc_assert_contains "$OUT" "round 2: $N of $N answered" "pool_client stdout"
hc_assert_stat "$STATS" managed -eq "$N"
hc_assert_stat "$STATS" reconnects -eq "$N"
hc_assert_stat "$STATS" reconnect_failures -eq 0

hc_finish
