#!/usr/bin/env bash
# tests/clients/reqresp.c linked with -static (build/static/reqresp): a C
# request/response client whose libc is inside the binary, so LD_PRELOAD
# cannot reach it.  Against socat, an echo server closing a connection idle
# for 1 s; 3 rounds 2 s apart.
#   plain:      round 2's echo never comes: read EOF, exit 1.
#   halfclose (auto-detected: static ELF, no interpreter): supervised; every
#               round answered, reconnects counted.
# And its exit status passes through: a usage error exits 2 either way.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: static reqresp, 3 rounds 2 s apart, server idle timeout 1 s"
hc_check "build/static/reqresp has no program interpreter (static)" \
    hc_is_static "$HC_STATIC/reqresp"
hc_run_plain reqresp_plain "$HC_STATIC/reqresp" "$HOST" "$P" 3 2000
hc_assert_rc 1 "static reqresp"
hc_assert_contains "$OUT" "round 1: ok" "reqresp stdout"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"

hc_run_plain usage_plain "$HC_STATIC/reqresp" "$HOST"
hc_assert_rc 2 "static reqresp with a missing argument"

hc_require_launcher
hc_section "halfclose (auto-detected): same client, same server"
hc_run_hc reqresp_hc "$HC_STATIC/reqresp" "$HOST" "$P" 3 2000
hc_assert_rc 0 "halfclose static reqresp"
hc_assert_contains "$OUT" "round 3: ok" "reqresp stdout"
hc_assert_lacks "$ERR" "reqresp:" "reqresp stderr"
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" stale -ge 2

hc_section "halfclose: the exit status comes back unchanged"
hc_run_hc usage_hc "$HC_STATIC/reqresp" "$HOST"
hc_assert_rc 2 "halfclose static reqresp with a missing argument"
hc_assert_contains "$ERR" "usage:" "reqresp stderr"

hc_finish
