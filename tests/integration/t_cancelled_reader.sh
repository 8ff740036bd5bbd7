#!/usr/bin/env bash
# A thread cancelled while blocked in read() on a pooled connection
# (cancel_reader.c), against a socat echo server that closes connections idle
# for 1 s; the connection is used again 1.6 s later.
#   plain: the second request reads EOF.
#   shim:  it heals: the cancelled read's count ended with it (the wrappers
#          end it in a cleanup that cancellation runs), so the socket is not
#          taken for one another thread is still reading.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: cancel_reader, 1600 ms gap"
hc_run_plain cancel_plain "$HC_CLIENTS/cancel_reader" "$HOST" "$P" 1600
hc_assert_rc 1 cancel_reader
hc_assert_contains "$ERR" "cancel_reader: round 2: EOF" "cancel_reader stderr"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
hc_run_shim cancel_shim "$HC_CLIENTS/cancel_reader" "$HOST" "$P" 1600
hc_assert_rc 0 cancel_reader
hc_check "cancel_reader printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_healed 1

hc_finish
