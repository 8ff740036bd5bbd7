#!/usr/bin/env bash
# Reads and writes the library sees only because it wraps them, and buffers
# the kernel refuses (unseen_io.c), against a socat echo server that closes
# connections idle for 1 s.
#   efault:   write/writev/sendmsg from bad pointers at a request boundary get
#             EFAULT exactly as without the library (it once read the first
#             bytes before the write, and died of SIGSEGV), then the
#             connection still works.
#   recvmmsg, splice: the program reads the EOF through them; its write after
#             that is its own business: the same result as without the
#             library, and no reconnect (they were not wrapped: the library
#             took the connection for one it could heal, and did).
#   sendfile: a request sent with sendfile after the server closed the idle
#             connection: lost without the library, healed with it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"
C=$HC_CLIENTS/unseen_io

hc_section "efault: bad buffers at a boundary, plain and preloaded"
hc_run_plain efault_plain "$C" efault "$HOST" "$P" 0
hc_assert_rc 0 unseen_io
cp "$OUT" "$T/efault_plain.txt"
hc_require_shim
hc_run_shim efault_shim "$C" efault "$HOST" "$P" 0
hc_assert_rc 0 "unseen_io (not killed by a signal)"
hc_check "the same output as without the library" cmp -s "$T/efault_plain.txt" "$OUT"
hc_assert_contains "$OUT" "write: -1 EFAULT"
hc_assert_contains "$OUT" "sendmsg: -1 EFAULT"

for mode in recvmmsg splice; do
    hc_section "$mode: the program reads the EOF itself, then writes"
    hc_run_plain "${mode}_plain" "$C" "$mode" "$HOST" "$P" 2000
    hc_assert_rc 0 unseen_io
    hc_assert_contains "$OUT" "$mode: $([ "$mode" = recvmmsg ] && echo "1, 0 bytes" || echo 0)" "stdout (the EOF)"
    cp "$OUT" "$T/${mode}_plain.txt"
    hc_run_shim "${mode}_shim" "$C" "$mode" "$HOST" "$P" 2000
    hc_assert_rc 0 unseen_io
    hc_check "the same output as without the library" cmp -s "$T/${mode}_plain.txt" "$OUT"
    hc_assert_stat "$STATS" reconnects -eq 0
done

hc_section "sendfile: a request after the server closed the idle connection"
hc_run_plain sendfile_plain "$C" sendfile "$HOST" "$P" 2000
hc_assert_rc 1 unseen_io
hc_assert_contains "$OUT" "echo: no echo"
hc_run_shim sendfile_shim "$C" sendfile "$HOST" "$P" 2000
hc_assert_rc 0 unseen_io
hc_assert_contains "$OUT" "echo: hi"
hc_assert_healed 1

hc_finish
