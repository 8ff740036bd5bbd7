#!/usr/bin/env bash
# HALFCLOSE_TARGETS / HALFCLOSE_EXCLUDE decide which connections are managed.
# Server: a socat echo server that closes connections idle for 2 s.  Client:
# reqresp, 2 rounds 2500 ms apart (fails without the shim: round 2 reads EOF).
#   plain:                               fails (the baseline).
#   TARGETS=127.0.0.1:PORT               matches: heals (managed=1, reconnects=1).
#   TARGETS=127.0.0.2                    does not match: not managed, fails as
#                                        plain; passthrough=1, managed=0.
#   EXCLUDE=127.0.0.0/8                  excluded: likewise.
#   EXCLUDE=127.0.0.1:OTHERPORT          does not match: heals.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_pick_port OTHER # a port nothing connects to, for the non-matching EXCLUDE
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

run_client() { # MODE NAME [VAR=VAL]
    "hc_run_$1" "$2" "${@:3}" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 2500
}

expect_healed() {
    hc_assert_rc 0 reqresp
    hc_check "reqresp printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
    hc_assert_stat "$STATS" managed -eq 1
    hc_assert_stat "$STATS" reconnects -eq 1
    hc_assert_stat "$STATS" passthrough -eq 0
}

expect_unmanaged() {
    hc_assert_rc 1 "reqresp (fails as without the shim)"
    hc_assert_contains "$ERR" "round 2: read: EOF" "reqresp stderr"
    hc_assert_stat "$STATS" managed -eq 0
    hc_assert_stat "$STATS" passthrough -eq 1
    hc_assert_stat "$STATS" reconnects -eq 0
}

hc_section "plain: reqresp 2 rounds 2500 ms apart, server idle timeout 2 s"
run_client plain plain
hc_assert_rc 1 reqresp
hc_assert_contains "$ERR" "round 2: read: EOF" "reqresp stderr"

hc_require_shim

hc_section "shim, HALFCLOSE_TARGETS=$HOST:$P (matches the server)"
run_client shim targets_match "HALFCLOSE_TARGETS=$HOST:$P"
expect_healed

hc_section "shim, HALFCLOSE_TARGETS=127.0.0.2 (another address)"
run_client shim targets_other HALFCLOSE_TARGETS=127.0.0.2
expect_unmanaged

hc_section "shim, HALFCLOSE_EXCLUDE=127.0.0.0/8 (covers the server)"
run_client shim exclude_net HALFCLOSE_EXCLUDE=127.0.0.0/8
expect_unmanaged

hc_section "shim, HALFCLOSE_EXCLUDE=$HOST:$OTHER (another port)"
run_client shim exclude_other "HALFCLOSE_EXCLUDE=$HOST:$OTHER"
expect_healed

hc_finish
