#!/usr/bin/env bash
# A pooled connection shared by a parent and its forked child (fork_client.c),
# against a socat echo server that closes connections idle for 1 s. The
# parent's fd is registered in epoll; after the fork the parent uses it again
# after 1.6 s, the child (still holding the old socket then) after 2.6 s.
#   plain: the parent gets EOF (its write drew the RST), the child EPIPE.
#   shim:  each process heals its own copy: one reconnect each (one stats
#          line per process). The parent swaps while the child still holds the
#          old socket, so dup3 alone would leave the old socket's epoll
#          registration live, reporting its EOF under the fd's number; the
#          shim takes it out first, and the parent is never woken for nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: fork_client, parent gap 1600 ms, child gap 2600 ms"
hc_run_plain fork_plain "$HC_CLIENTS/fork_client" "$HOST" "$P" 1600 2600
hc_assert_rc 1 fork_client
hc_assert_contains "$ERR" "fork_client parent: EOF" "fork_client stderr"
hc_assert_contains "$ERR" "fork_client child: EPIPE" "fork_client stderr (the parent's write drew the RST)"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
hc_run_shim fork_shim "$HC_CLIENTS/fork_client" "$HOST" "$P" 1600 2600
hc_assert_rc 0 fork_client
hc_assert_contains "$OUT" "child: ok" "fork_client stdout"
hc_assert_contains "$OUT" "parent: ok, 0 spurious wakeups" "fork_client stdout"
hc_assert_count "$STATS" "reconnects=1 reconnect_failures=0" 2 "stats (one line per process)"

hc_finish
