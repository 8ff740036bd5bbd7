#!/usr/bin/env bash
# Request/response on one pooled connection (reqresp.py: 3 rounds, 3 s apart)
# against a socat echo server that closes connections idle for 2 s.
#   plain: round 2's write "succeeds" into the closed connection, the read
#          returns EOF: the request is lost.
#   shim:  rounds 2 and 3 go over fresh connections; every echo matches.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: reqresp.py 3 rounds, 3000 ms gaps, server idle timeout 2 s"
hc_run_plain reqresppy_plain "$PY" "$HC_TESTS/clients/reqresp.py" "$HOST" "$P" 3 3000
hc_assert_rc 1 reqresp
hc_assert_contains "$OUT" "round 1: ok" "reqresp stdout"
hc_assert_contains "$ERR" "round 2: read: EOF" "reqresp stderr"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
hc_run_shim reqresppy_shim "$PY" "$HC_TESTS/clients/reqresp.py" "$HOST" "$P" 3 3000
hc_assert_rc 0 reqresp
hc_check "reqresp printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
hc_check "reqresp printed nothing on stderr" [ ! -s "$ERR" ]
hc_assert_healed 2

hc_finish
