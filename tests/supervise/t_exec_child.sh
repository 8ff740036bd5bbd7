#!/usr/bin/env bash
# A supervised program's children are supervised too (the seccomp filter is
# inherited across fork and exec): a connection a child makes heals in the
# child.  The Go client redis_ping (slow replies: its read waits in epoll)
# against `redis-server --timeout 2`, started
#   by the static Go program behave (os/exec: fork + exec):
#     plain:      the child fails (read EOF), behave exits 1 with it;
#     halfclose (auto-detected: behave is static): the child heals, exit 0;
#   by /bin/sh (dynamic) under `halfclose --supervise`: the same.
# The stats file then has one line per supervised process that made a
# supervised call: the reconnect is in the child's line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start_redis "$P" 2
CLIENT=("$HC_GO/redis_ping" "$HOST" "$P" 2 3500 1500 200)

hc_section "plain: behave exec redis_ping"
hc_run_plain exec_plain "$HC_GO/behave" exec "${CLIENT[@]}"
hc_assert_rc 1 "behave exec redis_ping"
hc_assert_contains "$ERR" "redis_ping: round 2: read: EOF" "redis_ping stderr"
hc_assert_contains "$OUT" "child exit 1" "behave stdout"

hc_require_launcher
hc_section "halfclose (auto-detected): behave exec redis_ping"
hc_run_hc exec_hc "$HC_GO/behave" exec "${CLIENT[@]}"
hc_assert_rc 0 "halfclose behave exec redis_ping"
hc_assert_contains "$OUT" "round 2: PONG" "redis_ping stdout"
hc_assert_contains "$OUT" "child exit 0" "behave stdout"
hc_assert_stat_sum "$STATS" reconnects -ge 1

hc_section "halfclose --supervise: /bin/sh -c 'redis_ping ...; echo after'"
# shellcheck disable=SC2016 # for the child shell
hc_run_hc sh_hc --supervise /bin/sh -c '"$@"; rc=$?; echo "sh: client exit $rc"; exit $rc' sh "${CLIENT[@]}"
hc_assert_rc 0 "halfclose --supervise sh -c redis_ping"
hc_assert_contains "$OUT" "round 2: PONG" "redis_ping stdout"
hc_assert_contains "$OUT" "sh: client exit 0" "sh stdout"
hc_assert_stat_sum "$STATS" reconnects -ge 1

hc_finish
