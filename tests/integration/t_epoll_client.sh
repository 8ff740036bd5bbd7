#!/usr/bin/env bash
# An event-loop client (epoll_client.c: non-blocking connect, epoll ADD then
# MOD, no epoll_wait while idle) against a socat echo server that closes
# connections idle for 2 s; 3 rounds, 3 s apart.
#   plain: epoll reports the server's FIN, the read after round 2's write
#          returns EOF: the request is lost.
#   shim:  rounds 2 and 3 go over fresh connections, and epoll reports them
#          (the registration, events and data, was re-added after each swap;
#          without that the client would time out waiting).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: epoll_client 3 rounds, 3000 ms gaps, server idle timeout 2 s"
hc_run_plain epoll_plain "$HC_CLIENTS/epoll_client" "$HOST" "$P" 3 3000
hc_assert_rc 1 epoll_client
hc_assert_contains "$ERR" "round 2: EOF" "epoll_client stderr"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
hc_run_shim epoll_shim "$HC_CLIENTS/epoll_client" "$HOST" "$P" 3 3000
hc_assert_rc 0 epoll_client
hc_check "epoll_client printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_lacks "$ERR" "timeout" "epoll_client stderr (a lost registration times out)"
hc_assert_stat "$STATS" managed -eq 1
hc_assert_stat "$STATS" stale -ge 2
hc_assert_stat "$STATS" reconnects -ge 2

hc_finish
