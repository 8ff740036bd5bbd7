#!/usr/bin/env bash
# Event-loop clients (evloop_client.c): one non-blocking connection driven by
# epoll (level-triggered, edge-triggered, EPOLLONESHOT re-armed with MOD), by
# poll (O_NONBLOCK set with fcntl after connect) and by select (FIONBIO set
# with ioctl after connect), against a socat echo server that closes
# connections idle for 1 s; 3 rounds, 1.6 s apart, nothing watching the
# socket while idle.
#   plain: the read after round 2's write returns EOF: the request is lost.
#   shim:  rounds 2 and 3 go over fresh connections, which the event loop
#          sees exactly as the old one (epoll registrations re-added with
#          their events and data; a lost one times out), and which are still
#          non-blocking (the client checks: a read without data must fail
#          with EAGAIN, not block).
# The reconnect itself is a bounded synchronous connect (README, Limits).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MODES=(epoll epoll-et oneshot poll select)
hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

for m in "${MODES[@]}"; do
    hc_section "plain: evloop_client $m, 3 rounds, 1600 ms gaps, server idle timeout 1 s"
    hc_run_plain "evloop_${m}_plain" "$HC_CLIENTS/evloop_client" "$m" "$HOST" "$P" 3 1600
    hc_assert_rc 1 "evloop_client $m"
    hc_assert_contains "$ERR" "round 2: EOF" "evloop_client $m stderr"
done

hc_require_shim
for m in "${MODES[@]}"; do
    hc_section "shim: evloop_client $m under LD_PRELOAD"
    hc_run_shim "evloop_${m}_shim" "$HC_CLIENTS/evloop_client" "$m" "$HOST" "$P" 3 1600
    hc_assert_rc 0 "evloop_client $m"
    hc_check "evloop_client $m printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
    hc_assert_stat "$STATS" managed -eq 1
    hc_assert_healed 2
done

hc_finish
